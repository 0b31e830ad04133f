//! A repeated key cut short of its colon (malformed JSON after it, or the
//! end of the text): refused as a repeat, as it was when the parser checked
//! every key before its colon. The model now checks its own fields only
//! once their value is reached, so the object is walked again to tell.

use super::{Keys, Parser};
use crate::error::{ParseError, ParseErrorKind};

impl Parser<'_> {
    /// The error for `key` not followed by its colon, in the object whose
    /// first key is at `first`: a repeat when it is one (only the keys the
    /// model leaves were checked so far), else malformed JSON. Out of line,
    /// so that the loop over members is compiled as without it.
    #[cold]
    #[inline(never)]
    pub(super) fn no_colon(&self, first: usize, key: &str, keys: Keys) -> ParseError {
        let error = match keys {
            Keys::Left(depth) if self.repeats_earlier_key(first, key, depth) => {
                ParseError::new(ParseErrorKind::DuplicateKey)
            }
            _ => self.syntax("expected ':' after the key"),
        };
        error.in_key(key)
    }

    /// True when `key`, just read and not followed by its colon (the
    /// cursor is where the colon should be), repeats a key of the object
    /// whose first key is at `first`. The members before it were read
    /// already, so they are walked again (values skipped at `depth`, as
    /// [`Parser::members`] skips those it leaves). Only on the way to an
    /// error: its cost does not matter, and valid lines pay nothing for it.
    fn repeats_earlier_key(&self, first: usize, key: &str, depth: usize) -> bool {
        let mut walk = Parser::new(self.text);
        walk.pos = first;
        loop {
            let Ok(earlier) = walk.key() else {
                return false;
            };
            walk.skip_whitespace();
            if walk.pos >= self.pos {
                return false; // the key itself: none before it was the same
            }
            if earlier == key {
                return true;
            }
            walk.pos += 1; // the colon: there, as the member was read
            walk.skip_whitespace();
            if walk.value(depth).is_err() || walk.after_element(b'}') != Some(true) {
                return false;
            }
        }
    }
}
