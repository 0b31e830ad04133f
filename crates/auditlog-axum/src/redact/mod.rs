//! What the middleware redacts from captured payloads before they are
//! sealed: by normalized key name (deny and allow lists) and by value
//! (cards, bearer tokens, JWTs, private keys). The rules are documented in
//! [the crate docs](crate#redaction).

mod names;
mod text;
mod values;

use auditlog_core::{Map, Value};

pub(crate) use names::{Name, Names};
pub(crate) use text::{is_sensitive as text_is_sensitive, percent_decode};

/// What replaces a redacted value.
pub const REDACTED: &str = "[REDACTED]";

/// The default deny list: payload keys whose normalized name contains one of
/// these is redacted (entries of four characters or fewer: as whole words).
/// Passwords and passphrases, secrets, tokens, API and private keys,
/// authorization, cookies and sessions, credentials, payment card data and
/// national identifiers.
pub const DEFAULT_REDACT_KEYS: &[&str] = &[
    // Passwords and passphrases.
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "passcode",
    "pin",
    "otp",
    "pw",
    // Short entries match whole words: these catch them run together.
    "userpass",
    "newpass",
    "oldpass",
    "newpwd",
    "oldpwd",
    "pincode",
    "totp",
    "hotp",
    "otpcode",
    "mfacode",
    "twofactor",
    "recoverycode",
    "backupcode",
    "verificationcode",
    "authcode",
    "authorizationcode",
    "codeverifier",
    "securityanswer",
    // Secrets, tokens and keys.
    "secret",
    "token",
    "jwt",
    "apikey",
    "accesskey",
    "privatekey",
    "signingkey",
    "encryptionkey",
    // Authorization, cookies, sessions, credentials.
    "authorization",
    "auth",
    "bearer",
    "cookie",
    "session",
    "sid",
    "credential",
    "creds",
    // Payment cards.
    "cardnumber",
    "cardnum",
    "ccnum",
    "creditcard",
    "pan",
    "cvv",
    "cvc",
    "cvn",
    // Short entries match whole words: these catch them run together.
    "cardcvv",
    "cardcvc",
    "cardpin",
    "securitycode",
    "expiry",
    "expdate",
    "expmonth",
    "expyear",
    "expirationdate",
    "cardexp",
    "iban",
    // National identifiers.
    "ssn",
    "socialsecurity",
    "nationalid",
    "nino",
    "sin",
    "tin",
    "taxid",
    "passport",
    "driverslicense",
    "driverlicense",
    "cpf",
    "aadhaar",
];

/// The default allow list: keys (compared normalized, exactly) that the deny
/// list would hit but that name no secret.
pub const DEFAULT_REDACT_ALLOW_KEYS: &[&str] = &[
    "tokenType",
    "passwordPolicy",
    "passwordStrength",
    "passwordExpired",
    "sessionTimeout",
];

/// The deny and allow lists, and the value detectors.
#[derive(Debug, Clone)]
pub(crate) struct Redaction {
    pub(crate) names: Names,
}

impl Default for Redaction {
    fn default() -> Self {
        Redaction {
            names: Names::new(DEFAULT_REDACT_KEYS, DEFAULT_REDACT_ALLOW_KEYS),
        }
    }
}

impl Redaction {
    /// Redacts `map` in place at any depth; returns whether anything was
    /// redacted.
    pub(crate) fn redact_map(&self, map: &mut Map) -> bool {
        self.map(map, None)
    }

    /// Redacts one value (not under any key); returns whether it did.
    pub(crate) fn redact_value(&self, value: &mut Value) -> bool {
        self.value(value, None)
    }

    /// Whether raw text must be withheld whole.
    pub(crate) fn text_is_sensitive(&self, text: &str) -> bool {
        text_is_sensitive(text, &self.names)
    }

    fn map(&self, map: &mut Map, parent: Option<&Name>) -> bool {
        let mut redacted = false;
        for (key, value) in map.iter_mut() {
            let name = Name::new(key);
            if self.names.denies(&name, parent) {
                redacted = true;
                *value = Value::String(REDACTED.to_owned());
            } else {
                // An allowed key names no secret: its children are read alone.
                let parent = (!self.names.allows(&name)).then_some(&name);
                redacted |= self.value(value, parent);
            }
        }
        redacted
    }

    fn value(&self, value: &mut Value, parent: Option<&Name>) -> bool {
        let secret = match value {
            Value::Object(map) => return self.map(map, parent),
            Value::Array(items) => {
                return items
                    .iter_mut()
                    .fold(false, |any, item| self.value(item, parent) | any)
            }
            Value::String(text) => values::looks_secret(text),
            Value::Number(number) => {
                number.is_integer() && values::is_card_number(&number.to_string())
            }
            Value::Null | Value::Bool(_) => false,
        };
        if secret {
            *value = Value::String(REDACTED.to_owned());
        }
        secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog_core::parse_value;

    fn redacted(json: &str) -> (String, bool) {
        let mut value = parse_value(json).unwrap();
        let any = Redaction::default().redact_value(&mut value);
        (value.to_json(), any)
    }

    #[test]
    fn names_and_values_at_any_depth() {
        assert_eq!(
            redacted(r#"{"a":[{"access_token":{"x":1}}],"card":{"number":"4111","holder":"A"},"note":"Bearer abcdefgh1234","n":4111111111111111,"ok":"fine"}"#),
            (
                r#"{"a":[{"access_token":"[REDACTED]"}],"card":{"holder":"A","number":"[REDACTED]"},"n":"[REDACTED]","note":"[REDACTED]","ok":"fine"}"#.to_owned(),
                true
            )
        );
        assert_eq!(
            redacted(r#"{"passwordPolicy":{"minLength":8},"tokenType":"bearer"}"#),
            (
                r#"{"passwordPolicy":{"minLength":8},"tokenType":"bearer"}"#.to_owned(),
                false
            )
        );
        assert_eq!(redacted(r#"["x",1]"#), (r#"["x",1]"#.to_owned(), false));
    }
}
