//! Where two texts part: the one-line diffs of failed checks.

use std::fmt::Write as _;

/// Characters of context either side of the first difference.
const CONTEXT: usize = 30;

/// One line: where `actual` first departs from `expected`, with context.
pub(crate) fn diff(expected: &str, actual: &str) -> String {
    let at = expected
        .chars()
        .zip(actual.chars())
        .take_while(|(a, b)| a == b)
        .count();
    format!(
        "differs at char {at}: expected `{}` got `{}`",
        window(expected, at),
        window(actual, at)
    )
}

/// The characters of `text` around `at`, `…` where cut, control characters
/// escaped so the line stays one line.
fn window(text: &str, at: usize) -> String {
    let start = at.saturating_sub(CONTEXT);
    let chars: Vec<char> = text.chars().collect();
    let end = chars.len().min(at + CONTEXT);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    for c in chars.get(start..end).unwrap_or_default() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_debug());
        } else {
            out.push(*c);
        }
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_points_at_the_first_difference() {
        assert_eq!(
            diff("abcdef", "abXdef"),
            "differs at char 2: expected `abcdef` got `abXdef`"
        );
        let long = "x".repeat(100);
        let message = diff(&format!("{long}a"), &format!("{long}b"));
        assert_eq!(
            message,
            format!(
                "differs at char 100: expected `…{0}a` got `…{0}b`",
                "x".repeat(30)
            )
        );
    }
}
