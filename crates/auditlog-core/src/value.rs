//! JSON values for payloads, with numbers kept exactly as the wire format needs.

use std::collections::BTreeMap;
use std::fmt;

/// A JSON object. Keys are kept sorted by Unicode code point (UTF-8 byte order
/// is code point order), which is the order the canonical form needs.
pub type Map = BTreeMap<String, Value>;

/// A JSON value as the wire format sees it.
///
/// Unlike `serde_json::Value`, integers are exact at any size and every float
/// is finite, so every `Value` has a canonical form.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// JSON `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An exact integer or a finite double.
    Number(Number),
    /// A string of Unicode scalar values.
    String(String),
    /// An ordered list.
    Array(Vec<Value>),
    /// Members by key, sorted (the canonical order).
    Object(Map),
}

/// A JSON number: an exact integer of any size, or a finite double.
#[derive(Debug, Clone, PartialEq)]
pub struct Number(NumberRepr);

#[derive(Debug, Clone, PartialEq)]
enum NumberRepr {
    Int(i64),
    /// An integer outside `i64`, as validated decimal text (`-?[1-9][0-9]*`).
    BigInt(Box<str>),
    Float(f64),
}

impl Number {
    /// A float, or `None` for NaN and the infinities, which JSON cannot carry.
    pub fn from_f64(value: f64) -> Option<Self> {
        value
            .is_finite()
            .then_some(Number(NumberRepr::Float(value)))
    }

    /// Parses the text of a JSON number token: integers (no `.`, `e`, `E`)
    /// stay exact, anything else becomes a double.
    ///
    /// Only tokens that every correct JSON reader reads as the same value are
    /// taken: at most [`MAX_NUMBER_DIGITS`] digits before the exponent, and
    /// an exponent that fits 32 bits, read with checked arithmetic. With so
    /// few digits, any exponent past a few thousand gives 0 or infinity
    /// whatever a parser does with its further digits (Rust's saturates at
    /// 65,536, which with 65,540 digits would read `5…e-655360` as 5000.0
    /// where Python reads 0.0); within the bounds the correctly rounded
    /// double is what Rust, Python, JavaScript and Java all compute.
    pub(crate) fn from_json_token(text: &str) -> Result<Self, NumberError> {
        let digits = text.bytes().take_while(|b| !matches!(b, b'e' | b'E'));
        let digits = digits.filter(u8::is_ascii_digit).count();
        if digits > MAX_NUMBER_DIGITS {
            return Err(NumberError::TooManyDigits(digits));
        }
        if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
            if let Some(at) = text.find(['e', 'E']) {
                exponent(&text[at + 1..])?;
            }
            let value: f64 = text.parse().map_err(|_| NumberError::Malformed)?;
            return Number::from_f64(value).ok_or(NumberError::Overflow);
        }
        if let Ok(value) = text.parse::<i64>() {
            return Ok(Number(NumberRepr::Int(value)));
        }
        Ok(Number(NumberRepr::BigInt(text.into())))
    }

    /// Parses an exact integer from decimal text; `None` when malformed or
    /// longer than [`MAX_NUMBER_DIGITS`].
    pub fn from_integer_str(text: &str) -> Option<Self> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let well_formed = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        well_formed
            .then(|| Number::from_json_token(text).ok())
            .flatten()
    }

    /// The value as a double, rounding big integers.
    pub fn as_f64(&self) -> f64 {
        match &self.0 {
            NumberRepr::Int(v) => *v as f64,
            NumberRepr::BigInt(text) => text.parse().unwrap_or(f64::NAN),
            NumberRepr::Float(v) => *v,
        }
    }

    /// The value as an `i64`, when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            NumberRepr::Int(v) => Some(v),
            _ => None,
        }
    }

    /// True for integers (of any size), false for doubles.
    pub fn is_integer(&self) -> bool {
        !matches!(self.0, NumberRepr::Float(_))
    }

    /// Writes the canonical text: integers as written, doubles as Python's
    /// `repr(float)`.
    pub(crate) fn write_canonical(&self, out: &mut Vec<u8>) {
        match &self.0 {
            NumberRepr::Int(v) => {
                if *v < 0 {
                    out.push(b'-');
                }
                write_decimal(out, v.unsigned_abs());
            }
            NumberRepr::BigInt(text) => out.extend_from_slice(text.as_bytes()),
            NumberRepr::Float(v) => crate::float::write_python_repr(*v, out),
        }
    }
}

/// The most digits a number token may have: Python's `int` refuses longer
/// integers (`sys.get_int_max_str_digits`), so an event with one would be
/// sealed here and then fail in every Python consumer.
pub const MAX_NUMBER_DIGITS: usize = 4300;

/// The most characters an exponent's digits may have, leading zeros
/// included.
const MAX_EXPONENT_DIGITS: usize = 16;

/// Why a number token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberError {
    Malformed,
    Overflow,
    TooManyDigits(usize),
    ExponentOutOfRange,
}

/// The value of an exponent's text (`+12`, `-3`), with checked arithmetic.
fn exponent(text: &str) -> Result<i32, NumberError> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err(NumberError::Malformed);
    }
    // Leading zeros count too, so that a token's length stays bounded.
    if digits.len() > MAX_EXPONENT_DIGITS {
        return Err(NumberError::ExponentOutOfRange);
    }
    let mut value: i32 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return Err(NumberError::Malformed);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i32::from(b - b'0')))
            .ok_or(NumberError::ExponentOutOfRange)?;
    }
    Ok(if negative { -value } else { value })
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_canonical(&mut out);
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

/// Appends `value` in decimal without going through `core::fmt` or
/// allocating.
pub(crate) fn write_decimal(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(value: $t) -> Self {
                Number(NumberRepr::Int(value.into()))
            }
        }
        impl From<$t> for Value {
            fn from(value: $t) -> Self {
                Value::Number(value.into())
            }
        }
    )*};
}
from_integer!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! from_wide_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(value: $t) -> Self {
                match i64::try_from(value) {
                    Ok(v) => Number(NumberRepr::Int(v)),
                    Err(_) => Number(NumberRepr::BigInt(value.to_string().into())),
                }
            }
        }
        impl From<$t> for Value {
            fn from(value: $t) -> Self {
                Value::Number(value.into())
            }
        }
    )*};
}
from_wide_integer!(u64, i128, u128, usize, isize);

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::String(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::String(value)
    }
}

impl From<Map> for Value {
    fn from(value: Map) -> Self {
        Value::Object(value)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(value: Vec<T>) -> Self {
        Value::Array(value.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

impl Value {
    /// A float value; NaN and the infinities become `null`, as they have no JSON form.
    pub fn from_f64(value: f64) -> Self {
        Number::from_f64(value).map_or(Value::Null, Value::Number)
    }

    /// The object inside, if this is one.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The string inside, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the JSON type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

#[cfg(feature = "serde_json")]
mod serde_json_conversions {
    use super::{Map, Number, Value};

    impl From<serde_json::Value> for Value {
        /// Converts a `serde_json::Value`. Numbers keep their exact text when
        /// serde_json has it (integers, or any number with `arbitrary_precision`).
        fn from(value: serde_json::Value) -> Self {
            match value {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::Bool(b) => Value::Bool(b),
                serde_json::Value::Number(n) => {
                    Number::from_json_token(&n.to_string()).map_or(Value::Null, Value::Number)
                }
                serde_json::Value::String(s) => Value::String(s),
                serde_json::Value::Array(items) => {
                    Value::Array(items.into_iter().map(Value::from).collect())
                }
                serde_json::Value::Object(members) => Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k, Value::from(v)))
                        .collect::<Map>(),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::write_decimal;

    #[test]
    fn decimals_match_display() {
        for value in [
            0,
            1,
            9,
            10,
            99,
            100,
            12_345,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = b"x".to_vec();
            write_decimal(&mut out, value);
            assert_eq!(out, format!("x{value}").as_bytes());
        }
    }

    #[test]
    fn integers_are_written_as_display_writes_them() {
        for value in [0, 7, -7, 10, -10, i64::MAX, i64::MIN, i64::MIN + 1] {
            assert_eq!(super::Number::from(value).to_string(), value.to_string());
        }
    }
}
