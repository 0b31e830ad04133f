//! Raw text (a body stored as text by opt-in): decoded before it is
//! judged, so that `pass%77ord=` or `"pass\u0077ord"` are read as the
//! service reads them.

use super::names::{Name, Names};
use super::values::looks_secret;

/// How many rounds of decoding are tried: enough for text encoded twice.
const DECODE_ROUNDS: usize = 3;

/// Whether `text`, as written or with its percent and JSON escapes decoded
/// (repeatedly), names a redacted key or holds a secret-looking value.
pub(crate) fn is_sensitive(text: &str, names: &Names) -> bool {
    let mut current = text.to_owned();
    for _ in 0..=DECODE_ROUNDS {
        if mentions_denied(&current, names) || looks_secret(&current) {
            return true;
        }
        let decoded = json_unescape(&percent_decode(&current, true));
        if decoded == current {
            return false;
        }
        current = decoded;
    }
    false
}

/// Whether a word of the text (a run of letters, digits, `-`, `_`, `.`)
/// is a key the deny list redacts.
fn mentions_denied(text: &str, names: &Names) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .filter(|run| !run.is_empty())
        .any(|run| names.denies(&Name::new(run), None))
}

/// `%XX` sequences decoded (and `+` as a space when `plus` is set, as in
/// forms); malformed sequences kept as they are, bytes that are not UTF-8
/// replaced.
pub(crate) fn percent_decode(text: &str, plus: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// JSON string escapes (`\uXXXX`, `\n`, `\"`, ...) decoded wherever they
/// occur; a lone or malformed escape is kept as written.
fn json_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('u') => {
                chars.next();
                let digits: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&digits, 16)
                    .ok()
                    .filter(|_| digits.len() == 4)
                {
                    Some(code) => {
                        chars.nth(3);
                        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    None => out.push_str("\\u"),
                }
            }
            Some(e @ ('"' | '\\' | '/')) => {
                chars.next();
                out.push(e);
            }
            Some(e @ ('n' | 't' | 'r' | 'b' | 'f')) => {
                chars.next();
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    _ => '\u{c}',
                });
            }
            _ => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::{DEFAULT_REDACT_ALLOW_KEYS, DEFAULT_REDACT_KEYS};

    fn sensitive(text: &str) -> bool {
        is_sensitive(
            text,
            &Names::new(DEFAULT_REDACT_KEYS, DEFAULT_REDACT_ALLOW_KEYS),
        )
    }

    #[test]
    fn escaped_names_are_read_decoded() {
        assert!(sensitive("user=u&pass%77ord=x"));
        assert!(sensitive("user=u&pass%2577ord=x"), "encoded twice");
        assert!(sensitive(r#"{"user":"u","pass\u0077ord":"x"#));
        assert!(sensitive("client_secret=abc"));
        assert!(sensitive("note=4111+1111+1111+1111"));
        assert!(!sensitive("item=book&qty=2&shipping=fast"));
        assert!(!sensitive(r#"{"tokenType":"mac","shipping":"fast"}"#));
    }

    #[test]
    fn decoders_keep_what_they_cannot_decode() {
        assert_eq!(percent_decode("a%2", true), "a%2");
        assert_eq!(percent_decode("a%zz+b", true), "a%zz b");
        assert_eq!(json_unescape(r"\u00e9\q\u12"), "é\\q\\u12");
    }
}
