//! A strict JSON parser that keeps integers exact and names the field of
//! every error.
//!
//! serde_json cannot do both without its `arbitrary_precision` feature, which
//! would change number handling for every crate in a user's build.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::error::{ParseError, ParseErrorKind, Result};
use crate::value::{Map, Number, NumberError, Value, MAX_NUMBER_DIGITS};

/// Nesting deeper than this is refused instead of risking the stack.
pub const MAX_DEPTH: usize = 128;

/// Parses one JSON document into a [`Value`].
///
/// Stricter than Python's `json.loads` where the wire format requires it:
/// `NaN`, `Infinity`, doubles that overflow and lone surrogates are errors
/// naming their field. So is anything two JSON readers could read
/// differently: a key repeated in one object, a number with more than
/// [`MAX_NUMBER_DIGITS`](crate::MAX_NUMBER_DIGITS) digits or an exponent
/// that does not fit 32 bits.
pub fn parse_value(text: &str) -> Result<Value> {
    let mut parser = Parser::new(text);
    let value = parser.value(0)?;
    parser.finish()?;
    Ok(value)
}

/// A cursor over JSON text. The event reader in `model.rs` walks objects
/// member by member with it, so known fields never pass through a [`Map`].
pub(crate) struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Keys of the objects being read, innermost last: one buffer for the
    /// whole document instead of one per object (see [`SeenKeys`]).
    seen: Vec<SeenKey<'a>>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut parser = Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            // Room for the keys of the nested objects of a typical event, so
            // a line does not grow it member by member.
            seen: Vec::with_capacity(32),
        };
        parser.skip_whitespace();
        parser
    }

    /// Refuses anything but whitespace after the value.
    pub(crate) fn finish(&mut self) -> Result<()> {
        self.skip_whitespace();
        if self.pos < self.bytes.len() {
            return Err(self.syntax("trailing characters after the JSON value"));
        }
        Ok(())
    }

    fn syntax(&self, message: impl Into<String>) -> ParseError {
        let at = self.pos.min(self.text.len());
        let column = self.text[..floor_char_boundary(self.text, at)]
            .chars()
            .count()
            + 1;
        ParseError::new(ParseErrorKind::Syntax {
            message: message.into(),
            column,
        })
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// After a member or an item: past a `,` (`Some(true)`: another one
    /// follows) or past `close` (`Some(false)`); `None` for anything else.
    fn after_element(&mut self, close: u8) -> Option<bool> {
        self.skip_whitespace();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_whitespace();
                Some(true)
            }
            Some(byte) if byte == close => {
                self.pos += 1;
                Some(false)
            }
            _ => None,
        }
    }

    fn expect_literal(&mut self, literal: &str, value: Value) -> Result<Value> {
        if self.bytes[self.pos..].starts_with(literal.as_bytes()) {
            self.pos += literal.len();
            Ok(value)
        } else {
            Err(self.syntax("expected a JSON value"))
        }
    }

    pub(crate) fn value(&mut self, depth: usize) -> Result<Value> {
        self.value_into(depth, Value::Null)
    }

    /// Reads the value at the cursor, reusing the strings, vectors and map
    /// keys of `old` (the value this slot held on the previous line) where
    /// the shapes match. Nothing of `old` but its buffers survives: every
    /// string is cleared before it is refilled, a map is built anew from
    /// the keys read, an array is cut to the items read.
    pub(crate) fn value_into(&mut self, depth: usize, old: Value) -> Result<Value> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1, old),
            Some(b'[') => self.array(depth + 1, old),
            Some(b'"') => {
                let mut text = match old {
                    Value::String(text) => text,
                    _ => String::new(),
                };
                self.string_into(&mut text)?;
                Ok(Value::String(text))
            }
            Some(b't') => self.expect_literal("true", Value::Bool(true)),
            Some(b'f') => self.expect_literal("false", Value::Bool(false)),
            Some(b'n') => self.expect_literal("null", Value::Null),
            Some(b'N') => self.not_finite("NaN"),
            Some(b'I') => self.not_finite("Infinity"),
            Some(b'-') if self.bytes[self.pos + 1..].starts_with(b"Infinity") => {
                self.not_finite("-Infinity")
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.syntax("expected a JSON value")),
            None => Err(self.syntax("unexpected end of input")),
        }
    }

    fn not_finite(&self, token: &'static str) -> Result<Value> {
        if self.bytes[self.pos..].starts_with(token.as_bytes()) {
            Err(ParseError::new(ParseErrorKind::NotFinite { token }))
        } else {
            Err(self.syntax("expected a JSON value"))
        }
    }

    /// Refills `old`'s map in place when it is one: a key it has gets its
    /// value re-read into its slot (keeping the key's `String` and the
    /// value's buffers); a key it lacks is added; keys of `old` this object
    /// lacks are removed at the end. Lines of one service repeat their
    /// payload keys, so the common case is one lookup per member and no
    /// map node freed or allocated.
    fn object(&mut self, depth: usize, old: Value) -> Result<Value> {
        let mut map = match old {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if self.open_object(depth)? {
            map.clear();
            return Ok(Value::Object(map));
        }
        let held = map.len();
        let mut refilled = 0;
        let base = self.seen.len();
        let mut many = None;
        let result = self.members_after(base, &mut many, Keys::All, &mut |parser, key| {
            match map.get_mut(key) {
                Some(slot) => {
                    let old_value = std::mem::replace(slot, Value::Null);
                    *slot = parser.value_into(depth, old_value)?;
                    refilled += 1;
                }
                None => {
                    let value = parser.value_into(depth, Value::Null)?;
                    map.insert(key.to_owned(), value);
                }
            }
            Ok(Member::Read)
        });
        // Keys are unique per object, so every old key was read again
        // exactly when the count says so. When not (the keys changed since
        // the last line), the old keys are dropped by the keys this object
        // has, still held in `seen`: reading the object's text again instead
        // cost a re-read per level of nesting (a hundred times the line's
        // parse when each level changed).
        if result.is_ok() && refilled < held {
            let seen = SeenKeys {
                keys: &mut self.seen,
                base,
                many: &mut many,
            };
            map.retain(|key, _| seen.contains(key));
        }
        self.seen.truncate(base);
        result.map(|()| Value::Object(map))
    }

    /// Walks the object at the cursor, calling `member` with each key and the
    /// cursor at its value. `member` either reads the value and refuses a
    /// repeat of the key itself ([`Member::Read`]: the model's fields, one
    /// bit each) or leaves it ([`Member::Left`]): the parser then refuses a
    /// repeated key and skips the value. Errors from `member`, and syntax
    /// errors after it, are given the key's path.
    pub(crate) fn members(
        &mut self,
        depth: usize,
        mut member: impl FnMut(&mut Self, &str) -> Result<Member>,
    ) -> Result<()> {
        if self.open_object(depth)? {
            return Ok(());
        }
        let base = self.seen.len();
        let mut many = None;
        let result = self.members_after(base, &mut many, Keys::Left(depth), &mut member);
        self.seen.truncate(base);
        result
    }

    /// Consumes the `{` of an object at `depth`; true when the object is
    /// empty (its `}` consumed too).
    fn open_object(&mut self, depth: usize) -> Result<bool> {
        if depth > MAX_DEPTH {
            return Err(ParseError::new(ParseErrorKind::TooDeep {
                limit: MAX_DEPTH,
            }));
        }
        self.pos += 1;
        self.skip_whitespace();
        let empty = self.peek() == Some(b'}');
        if empty {
            self.pos += 1;
        }
        Ok(empty)
    }

    /// The members of an object whose `{` is consumed and which is not
    /// empty. `keys` says which keys go on `self.seen` from `base` (and in
    /// `many`) to be checked for repeats: every key, before its value is
    /// read, or only those `member` leaves, whose values are then skipped at
    /// the depth it holds.
    fn members_after(
        &mut self,
        base: usize,
        many: &mut Option<HashSet<Cow<'a, str>>>,
        keys: Keys,
        member: &mut impl FnMut(&mut Self, &str) -> Result<Member>,
    ) -> Result<()> {
        let first = self.pos;
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected a string key"));
            }
            let key = self.key()?;
            if matches!(keys, Keys::All) {
                self.refuse_repeat(base, many, &key)?;
            }
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.no_colon(first, &key, keys));
            }
            self.pos += 1;
            self.skip_whitespace();
            let read = member(self, &key).map_err(|e| e.in_key(&key))?;
            if let (Member::Left, Keys::Left(depth)) = (read, keys) {
                self.refuse_repeat(base, many, &key)?;
                self.value(depth).map_err(|e| e.in_key(&key))?;
            }
            match self.after_element(b'}') {
                Some(true) => {}
                Some(false) => return Ok(()),
                // Name the member after which the text goes wrong.
                None => return Err(self.syntax("expected ',' or '}'").in_key(&key)),
            }
        }
    }

    /// Adds `key` to the keys of the object being read (`self.seen` from
    /// `base`, and `many`); an error if it is there already.
    #[allow(clippy::ptr_arg)] // the `Cow` is cloned in: free when borrowed
    fn refuse_repeat(
        &mut self,
        base: usize,
        many: &mut Option<HashSet<Cow<'a, str>>>,
        key: &Cow<'a, str>,
    ) -> Result<()> {
        let seen = SeenKeys {
            keys: &mut self.seen,
            base,
            many,
        };
        if seen.insert(key.clone()) {
            Ok(())
        } else {
            Err(ParseError::new(ParseErrorKind::DuplicateKey).in_key(key))
        }
    }

    /// A key, borrowed from the text when it has no escapes.
    fn key(&mut self) -> Result<Cow<'a, str>> {
        let quote = self.pos;
        let start = quote + 1;
        self.pos = start;
        loop {
            self.skip_plain_string_bytes();
            match self.peek() {
                Some(b'"') => {
                    let key = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(key));
                }
                Some(b'\\' | 0x00..=0x1f) | None => break,
                Some(_) => self.pos += 1,
            }
        }
        // Escapes and errors take the general path, from the quote again.
        self.pos = quote;
        self.string().map(Cow::Owned)
    }

    /// Reads an array of strings into `items`, refilling the strings it
    /// holds and cutting it to the count read. `None` when the text at the
    /// cursor is anything else (or has an error): the cursor is then put
    /// back, for the caller to read it the general way, which says what is
    /// wrong exactly as for any value.
    pub(crate) fn strings_into(&mut self, items: &mut Vec<String>) -> Option<()> {
        let start = self.pos;
        let read = self.plain_strings_into(items);
        if read.is_none() {
            self.pos = start;
        }
        read
    }

    fn plain_strings_into(&mut self, items: &mut Vec<String>) -> Option<()> {
        if self.peek() != Some(b'[') {
            return None;
        }
        self.pos += 1;
        self.skip_whitespace();
        let mut count = 0;
        if self.peek() == Some(b']') {
            self.pos += 1;
            items.clear();
            return Some(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return None;
            }
            match items.get_mut(count) {
                Some(item) => self.string_into(item).ok()?,
                None => items.push(self.string().ok()?),
            }
            count += 1;
            if !self.after_element(b']')? {
                items.truncate(count);
                return Some(());
            }
        }
    }

    /// Consumes `null` if it is next.
    pub(crate) fn null(&mut self) -> bool {
        if self.bytes[self.pos..].starts_with(b"null") {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    fn array(&mut self, depth: usize, old: Value) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(ParseError::new(ParseErrorKind::TooDeep {
                limit: MAX_DEPTH,
            }));
        }
        self.pos += 1;
        // The old items are refilled in place, and cut to the count read.
        let mut items = match old {
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            items.clear();
            return Ok(Value::Array(items));
        }
        let mut index = 0;
        loop {
            let old_item = match items.get_mut(index) {
                Some(slot) => std::mem::replace(slot, Value::Null),
                None => Value::Null,
            };
            let item = self
                .value_into(depth, old_item)
                .map_err(|e| e.in_index(index))?;
            match items.get_mut(index) {
                Some(slot) => *slot = item,
                None => items.push(item),
            }
            index += 1;
            match self.after_element(b']') {
                Some(true) => {}
                Some(false) => {
                    items.truncate(index);
                    return Ok(Value::Array(items));
                }
                None => return Err(self.syntax("expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.syntax("expected a digit")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.syntax("expected a digit after '.'"));
            }
            self.skip_digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.syntax("expected a digit in the exponent"));
            }
            self.skip_digits();
        }
        let text = &self.text[start..self.pos];
        match Number::from_json_token(text) {
            Ok(number) => Ok(Value::Number(number)),
            Err(NumberError::Overflow) => Err(ParseError::new(ParseErrorKind::NumberOverflow {
                text: text.to_owned(),
            })),
            Err(NumberError::Malformed) => Err(self.syntax("malformed number")),
            Err(NumberError::TooManyDigits(digits)) => {
                Err(ParseError::new(ParseErrorKind::TooManyDigits {
                    digits,
                    limit: MAX_NUMBER_DIGITS,
                }))
            }
            Err(NumberError::ExponentOutOfRange) => {
                Err(ParseError::new(ParseErrorKind::ExponentOutOfRange {
                    text: text.to_owned(),
                }))
            }
        }
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    pub(crate) fn string(&mut self) -> Result<String> {
        let mut out = String::new();
        self.string_into(&mut out)?;
        Ok(out)
    }

    /// Reads the string at the cursor into `out`, replacing what it held
    /// (its capacity is kept, so a recycled string needs no allocation).
    pub(crate) fn string_into(&mut self, out: &mut String) -> Result<()> {
        out.clear();
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes.
        loop {
            self.skip_plain_string_bytes();
            match self.peek() {
                Some(b'"') => {
                    let text = &self.text[start..self.pos];
                    if out.capacity() == 0 {
                        // A fresh string: one exact allocation, not a grow.
                        *out = text.to_owned();
                    } else {
                        out.push_str(text);
                    }
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => break,
                Some(0x00..=0x1f) => return Err(self.syntax("control character in a string")),
                Some(_) => self.pos += 1,
                None => return Err(self.syntax("unterminated string")),
            }
        }
        out.push_str(&self.text[start..self.pos]);
        loop {
            let run_start = self.pos;
            loop {
                self.skip_plain_string_bytes();
                match self.peek() {
                    Some(b'"' | b'\\') => break,
                    Some(0x00..=0x1f) => return Err(self.syntax("control character in a string")),
                    Some(_) => self.pos += 1,
                    None => return Err(self.syntax("unterminated string")),
                }
            }
            out.push_str(&self.text[run_start..self.pos]);
            if self.peek() == Some(b'"') {
                self.pos += 1;
                return Ok(());
            }
            let backslash = self.pos;
            self.pos += 1;
            let escaped = self
                .peek()
                .ok_or_else(|| self.syntax("unterminated string"))?;
            self.pos += 1;
            match escaped {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => out.push(self.unicode_escape()?),
                _ => {
                    // Point at the backslash, as Python does.
                    self.pos = backslash;
                    return Err(self.syntax("invalid escape"));
                }
            }
        }
    }

    /// Skips eight bytes at a time while none is `"`, `\\` or a control
    /// character, then to the first such byte of the word that has one, so
    /// the caller looks at each string's end once. Fewer than eight bytes
    /// from the end of the text, it stops and leaves them to the caller.
    fn skip_plain_string_bytes(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
        while let Some(chunk) = self.bytes.get(self.pos..self.pos + 8) {
            let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
            // Bytes >= 0x80 (UTF-8) are plain; mask them out of the tests.
            let ascii = !word & HIGH;
            let control = word.wrapping_sub(ONES * 0x20) & ascii;
            let quote = has_zero(word ^ (ONES * u64::from(b'"')));
            let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
            let special = control | quote | backslash;
            if special != 0 {
                // A borrow can only flag bytes above a truly special one,
                // so the lowest flag is exact (little-endian: first byte).
                self.pos += (special.trailing_zeros() / 8) as usize;
                return;
            }
            self.pos += 8;
        }
    }

    /// Reads the code unit(s) after `\u`, joining a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char> {
        let first = self.hex4()?;
        let lone = |unit: u16| {
            ParseError::new(ParseErrorKind::LoneSurrogate {
                escape: format!("\\u{unit:04x}"),
            })
        };
        match first {
            0xD800..=0xDBFF => {
                if !self.bytes[self.pos..].starts_with(b"\\u") {
                    return Err(lone(first));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(lone(first));
                }
                let code =
                    0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(second) - 0xDC00);
                Ok(char::from_u32(code).expect("a valid surrogate pair"))
            }
            0xDC00..=0xDFFF => Err(lone(first)),
            _ => Ok(char::from_u32(u32::from(first)).expect("a BMP scalar value")),
        }
    }

    fn hex4(&mut self) -> Result<u16> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.syntax("truncated \\u escape"))?;
        let mut unit = 0u16;
        for &d in digits {
            let nibble = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.syntax("invalid \\u escape"))?;
            unit = unit << 4 | nibble as u16;
        }
        self.pos += 4;
        Ok(unit)
    }
}

/// What a callback of [`Parser::members`] did with a member's value.
#[derive(Clone, Copy)]
pub(crate) enum Member {
    /// Read it; the key is one the callback refuses repeats of itself.
    Read,
    /// Left it at the cursor: the parser checks the key and skips the value.
    Left,
}

/// Which keys of an object [`Parser::members_after`] checks for repeats.
#[derive(Clone, Copy)]
enum Keys {
    /// Every key, before its value is read.
    All,
    /// Those whose values the callback leaves, skipped at this depth.
    Left(usize),
}

/// A key of an object being read, with a word that tells most different
/// keys apart without comparing their bytes.
struct SeenKey<'a> {
    fingerprint: u64,
    text: Cow<'a, str>,
}

impl<'a> SeenKey<'a> {
    fn new(text: Cow<'a, str>) -> Self {
        SeenKey {
            fingerprint: fingerprint(&text),
            text,
        }
    }
}

/// The key's length and its first eight bytes in one word: equal keys have
/// equal fingerprints; unequal ones mostly do not (and are then compared).
fn fingerprint(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let head = match bytes.get(..8) {
        Some(head) => u64::from_le_bytes(head.try_into().expect("eight bytes")),
        None => bytes
            .iter()
            .rev()
            .fold(0, |word, &byte| word << 8 | u64::from(byte)),
    };
    head ^ (bytes.len() as u64).rotate_right(8)
}

/// The keys of one object so far: `keys[base..]` of the parser's shared
/// buffer while few (most objects; a linear search, no allocation per
/// object), a hash set beyond, so a hostile object with many keys stays
/// linear.
struct SeenKeys<'s, 'a> {
    keys: &'s mut Vec<SeenKey<'a>>,
    base: usize,
    many: &'s mut Option<HashSet<Cow<'a, str>>>,
}

impl<'a> SeenKeys<'_, 'a> {
    const FEW: usize = 16;

    /// True when `key` is one of the keys seen.
    fn contains(&self, key: &str) -> bool {
        self.in_few(fingerprint(key), key)
            || self.many.as_ref().is_some_and(|many| many.contains(key))
    }

    /// True when `key`, of fingerprint `print`, is one of the first
    /// [`FEW`](Self::FEW) keys seen.
    fn in_few(&self, print: u64, key: &str) -> bool {
        self.keys[self.base..]
            .iter()
            .any(|seen| seen.fingerprint == print && seen.text == key)
    }

    /// False when `key` was seen before.
    /// (A borrowed key is cloned for free: only escaped keys are owned.)
    fn insert(self, key: Cow<'a, str>) -> bool {
        let key = SeenKey::new(key);
        if self.in_few(key.fingerprint, &key.text) {
            return false;
        }
        if self.keys.len() - self.base < Self::FEW {
            self.keys.push(key);
            return true;
        }
        self.many.get_or_insert_with(HashSet::new).insert(key.text)
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

mod repeat_before_colon;

#[cfg(test)]
mod fingerprint_tests;
#[cfg(test)]
mod tests;
