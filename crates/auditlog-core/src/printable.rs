//! Untrusted text made safe to print: what an event's keys, chain ids or
//! paths hold must never move a terminal's cursor, colour it, or start a
//! line that looks like a verdict.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character (C0, DEL, C1), line or paragraph
/// separator and bidirectional or zero-width formatting character written as
/// `\u{XXXX}`; other text is returned as it is, without copying.
///
/// ```
/// use auditlog_core::printable;
///
/// assert_eq!(printable("orders"), "orders");
/// assert_eq!(
///     printable("x\nverified 1 events: 1 valid\u{1b}[2K"),
///     "x\\u{a}verified 1 events: 1 valid\\u{1b}[2K"
/// );
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            write!(out, "\\u{{{:x}}}", u32::from(c)).expect("writing to a String");
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Invisible, zero-width and bidirectional formatting characters,
            // fillers, variation selectors and tags, line and paragraph
            // separators, the BOM: they reorder, hide or fake what is shown.
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{115f}'..='\u{1160}'
                | '\u{17b4}'..='\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff0}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn escapes_what_could_forge_a_line_or_hide_text() {
        assert_eq!(printable("a\r\nb"), "a\\u{d}\\u{a}b");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(printable("\u{7f}"), "\\u{7f}");
        for hidden in [
            '\u{61c}',
            '\u{ad}',
            '\u{180e}',
            '\u{e0041}',
            '\u{3164}',
            '\u{fe0f}',
        ] {
            assert_eq!(
                printable(&format!("a{hidden}b")),
                format!("a\\u{{{:x}}}b", u32::from(hidden))
            );
        }
        assert_eq!(printable("é 😀 tab-free"), "é 😀 tab-free");
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
