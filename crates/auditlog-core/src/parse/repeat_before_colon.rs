//! A repeated key cut short of its colon (malformed JSON after it, or the
//! end of the text): refused as a repeat, as it was when the parser checked
//! every key before its colon. The model now checks its own fields only
//! once their value is reached, so the object is walked again to tell.

use super::Parser;

impl Parser<'_> {
    /// True when `key`, whose quote is at `quote`, repeats a key of the
    /// object whose first key is at `first`. The members between were read
    /// already, so they are walked again (values skipped at `depth`, as
    /// [`Parser::members`] skips those it leaves). Only on the way to an
    /// error: its cost does not matter.
    pub(super) fn repeats_earlier_key(
        &self,
        first: usize,
        quote: usize,
        key: &str,
        depth: usize,
    ) -> bool {
        let mut walk = Parser::new(self.text);
        walk.pos = first;
        while walk.pos < quote {
            match walk.key() {
                Ok(earlier) if earlier == key => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
            walk.skip_whitespace();
            walk.pos += 1; // the colon: there, as the member was read
            walk.skip_whitespace();
            if walk.value(depth).is_err() || walk.after_element(b'}') != Some(true) {
                return false;
            }
        }
        false
    }
}
