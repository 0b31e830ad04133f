//! Values that look like secrets whatever their key: payment card numbers,
//! bearer and basic credentials, JWTs, PEM private keys and URLs with a
//! password in them.

/// Whether `text` holds a secret-looking value anywhere in it.
pub(crate) fn looks_secret(text: &str) -> bool {
    has_card_number(text)
        || has_credentials(text, "bearer")
        || has_credentials(text, "basic")
        || has_jwt(text)
        || has_private_key(text)
        || has_url_password(text)
}

/// Whether the digits of an integer are a payment card number.
pub(crate) fn is_card_number(digits: &str) -> bool {
    let digits: Vec<u8> = digits.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    digits.iter().all(|d| *d <= 9) && is_card(&digits)
}

/// 13 to 19 digits, Luhn-valid, with the first digits of a card network
/// (2221–2720, 3, 4, 5, 6). The network check keeps millisecond timestamps
/// and most numeric ids, which start with 1, from being taken for cards.
fn is_card(digits: &[u8]) -> bool {
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let network = match digits[0] {
        3..=6 => true,
        2 => {
            let prefix = digits[..4].iter().fold(0u32, |n, d| n * 10 + u32::from(*d));
            (2221..=2720).contains(&prefix)
        }
        _ => false,
    };
    network && luhn(digits)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            match i % 2 {
                0 => d,
                _ if d * 2 > 9 => d * 2 - 9,
                _ => d * 2,
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A card number in running text: groups of digits joined by single
/// spaces or dashes (`4111 1111-1111 1111`), any run of consecutive groups
/// with 13 to 19 digits. Linear: each start looks at 19 digits at most.
fn has_card_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut groups: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        groups.clear();
        loop {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(&bytes[start..i]);
            let joined = i + 1 < bytes.len()
                && matches!(bytes[i], b' ' | b'-')
                && bytes[i + 1].is_ascii_digit();
            if !joined {
                break;
            }
            i += 1;
        }
        if card_in_groups(&groups) {
            return true;
        }
    }
    false
}

fn card_in_groups(groups: &[&[u8]]) -> bool {
    let mut digits = Vec::with_capacity(19);
    (0..groups.len()).any(|start| {
        digits.clear();
        for group in &groups[start..] {
            if digits.len() + group.len() > 19 {
                break;
            }
            digits.extend(group.iter().map(|b| b - b'0'));
            if is_card(&digits) {
                return true;
            }
        }
        false
    })
}

/// `scheme` (`bearer`, `basic`; any case, as a word) followed by a token
/// of 8 or more characters, as in an `Authorization` header. A `basic`
/// token must also look encoded (an upper-case letter, a digit or `=`), so
/// that "basic information" stays prose.
fn has_credentials(text: &str, scheme: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    lower.match_indices(scheme).any(|(at, word)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric()) {
            return false;
        }
        let rest = &bytes[at + word.len()..];
        let spaces = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let start = at + word.len() + spaces;
        let token: &[u8] = &text.as_bytes()[start..];
        let length = token
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(b))
            .count();
        let token = &token[..length];
        let encoded = scheme != "basic"
            || token
                .iter()
                .any(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'=');
        spaces > 0 && length >= 8 && encoded
    })
}

/// A JWT (or JWE): base64url segments `eyJ….eyJ….…`, the encoded JSON of
/// its header and its payload, starting a run of base64url characters.
fn has_jwt(text: &str) -> bool {
    let bytes = text.as_bytes();
    let segment = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            .count()
    };
    text.match_indices("eyJ").any(|(at, _)| {
        // At the start of a run only: each run is scanned once.
        if at > 0 && segment(at - 1) > 0 {
            return false;
        }
        let header = segment(at);
        let dot = at + header;
        header >= 10
            && bytes.get(dot) == Some(&b'.')
            && bytes[dot + 1..].starts_with(b"eyJ")
            && segment(dot + 1) >= 10
    })
}

/// A URL with a password in its user info: `scheme://user:password@host`.
fn has_url_password(text: &str) -> bool {
    text.match_indices("://").any(|(at, sep)| {
        let authority = &text[at + sep.len()..];
        let end = authority
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(authority.len());
        authority[..end]
            .rsplit_once('@')
            .is_some_and(|(user_info, _)| user_info.contains(':'))
    })
}

/// A PEM private key of any kind (`RSA`, `EC`, `ENCRYPTED`, `OPENSSH`,
/// PKCS#8, PGP).
fn has_private_key(text: &str) -> bool {
    text.contains("-----BEGIN")
        && (text.contains("PRIVATE KEY-----") || text.contains("PRIVATE KEY BLOCK-----"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_with_and_without_separators() {
        for text in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "card: 5500 0000 0000 0004, thanks",
            "378282246310005",
            "2221000000000009",
            "order 12345 4111 1111 1111 1111",
        ] {
            assert!(looks_secret(text), "{text}");
        }
        for text in [
            "4111111111111112",        // Luhn fails
            "1700000000000000",        // Luhn-valid, a timestamp-like 1…
            "41111111111111111111111", // 23 digits: not a card
            "4111  1111 1111 1111",    // two spaces: two numbers
            "2024-01-15 10:30:00",
            "123e4567-e89b-12d3-a456-426614174000",
        ] {
            assert!(!looks_secret(text), "{text}");
        }
        assert!(is_card_number("4111111111111111"));
        assert!(!is_card_number("1234"));
    }

    #[test]
    fn bearer_tokens_jwts_and_private_keys() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
        for text in [
            "Bearer abcdefgh12345678",
            "authorization: bearer   xyz.abc.def-123",
            jwt,
            &format!("token={jwt}&x=1"),
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY-----\nMIIE",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "Basic dXNlcjpodW50ZXIy",
            "authorization: basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "postgres://app:hunter2@db.internal:5432/orders",
            "see https://user:pw@example.com/path?q=1",
        ] {
            assert!(looks_secret(text), "{text}");
        }
        for text in [
            "basic information",
            "https://example.com/a@b:c",
            "mailto:ann@example.com",
            "https://ann@example.com/",
            "the bearer of this letter",
            "Bearer short",
            "eyJ alone",
            "-----BEGIN CERTIFICATE-----",
            "a public key",
        ] {
            assert!(!looks_secret(text), "{text}");
        }
    }
}
