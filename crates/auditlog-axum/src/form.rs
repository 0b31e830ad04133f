//! `application/x-www-form-urlencoded` bodies as objects, so that their
//! fields are redacted like a JSON object's.

use auditlog_core::{Map, Value};

use crate::redact::percent_decode;

/// The fields of a form body, keys and values percent-decoded (`+` is a
/// space); a repeated key holds the array of its values in order. `None`
/// when the body is not UTF-8 or decodes to something that is not, or when
/// a key is not a field name: keys are redacted by name, never by value,
/// so text that only splits like a form (JSON, a sentence with `=` in it)
/// must not become keys.
pub(crate) fn parse(body: &[u8]) -> Option<Map> {
    let text = std::str::from_utf8(body).ok()?;
    let mut map = Map::new();
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (decode(key)?, decode(value)?);
        if !is_field_name(&key) {
            return None;
        }
        match map.get_mut(&key) {
            None => {
                map.insert(key, Value::String(value));
            }
            Some(Value::Array(values)) => values.push(Value::String(value)),
            Some(first) => {
                let first = std::mem::replace(first, Value::Null);
                map.insert(key, Value::Array(vec![first, Value::String(value)]));
            }
        }
    }
    Some(map)
}

/// At most 256 bytes, with no quote, brace, backslash, colon, comma or
/// control character: what HTML forms and form encoders produce.
fn is_field_name(key: &str) -> bool {
    key.len() <= 256
        && !key
            .chars()
            .any(|c| c.is_control() || matches!(c, '"' | '\'' | '{' | '}' | '\\' | ':' | ','))
}

/// Percent-decoded text, or `None` when the bytes are not UTF-8: a lossy
/// reading would store something the service never saw.
fn decode(text: &str) -> Option<String> {
    let decoded = percent_decode(text, true);
    (!decoded.contains(char::REPLACEMENT_CHARACTER) || text.contains(char::REPLACEMENT_CHARACTER))
        .then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Option<String> {
        parse(body.as_bytes()).map(|map| Value::Object(map).to_json())
    }

    #[test]
    fn fields_are_decoded_and_repeated_keys_kept() {
        assert_eq!(
            form("user=J%C3%BCrgen+B&pass%77ord=x&a=1&a=2&a=3&flag&&x="),
            Some(
                r#"{"a":["1","2","3"],"flag":"","password":"x","user":"J\u00fcrgen B","x":""}"#
                    .to_owned()
            )
        );
        assert_eq!(form(""), Some("{}".to_owned()));
        assert_eq!(form("a=%FF"), None, "not UTF-8 once decoded");
        assert_eq!(
            form("items[0]=1&user.name=x"),
            Some(r#"{"items[0]":"1","user.name":"x"}"#.to_owned())
        );
        // Text that only splits like a form: no key may hold it.
        assert_eq!(form(r#"{"user":"a","password":"hunter2"}"#), None);
        assert_eq!(form(r#"{"next":"/a?b=c","password":"hunter2"}"#), None);
        assert_eq!(form(&format!("{}=1", "k".repeat(257))), None);
        assert_eq!(parse(b"a=\xff"), None);
    }
}
