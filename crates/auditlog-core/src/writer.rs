//! A one-pass writer of pruned canonical JSON: members whose value prunes
//! away (`null`, `""`, `[]`, `{}`) are rolled back, and so are objects left
//! empty.

use crate::escape::{write_string, write_string_body};
use crate::value::{write_decimal, Map, Value};

/// A model field's key as written, `"name":`, in one literal: one copy of
/// constant length per member instead of three.
macro_rules! key {
    ($name:literal) => {
        concat!("\"", $name, "\":")
    };
}
pub(crate) use key;

/// Writes pruned canonical JSON into `out`.
pub(crate) struct Writer<'a> {
    pub(crate) out: &'a mut Vec<u8>,
}

/// An object being written. Members whose value prunes away are rolled back,
/// and so is the whole object when no member remains: one pass, no lookahead.
pub(crate) struct ObjectWriter {
    start: usize,
    /// Members kept so far.
    pub(crate) members: usize,
}

impl Writer<'_> {
    pub(crate) fn begin_object(&mut self) -> ObjectWriter {
        let start = self.out.len();
        self.out.push(b'{');
        ObjectWriter { start, members: 0 }
    }

    /// Writes a value, pruned; returns false (having written nothing) when it
    /// prunes to null, "", [] or {}.
    pub(crate) fn value(&mut self, value: &Value) -> bool {
        match value {
            Value::Null => false,
            Value::Bool(true) => {
                self.out.extend_from_slice(b"true");
                true
            }
            Value::Bool(false) => {
                self.out.extend_from_slice(b"false");
                true
            }
            Value::Number(n) => {
                n.write_canonical(self.out);
                true
            }
            Value::String(s) if s.is_empty() => false,
            Value::String(s) => {
                write_string(self.out, s);
                true
            }
            Value::Array(items) if items.is_empty() => false,
            Value::Array(items) => {
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(b',');
                    }
                    // Inside arrays nothing is dropped: an element that
                    // prunes away stays as its empty form.
                    if !self.value(item) {
                        self.empty_form(item);
                    }
                }
                self.out.push(b']');
                true
            }
            Value::Object(map) => self.map(map),
        }
    }

    pub(crate) fn empty_form(&mut self, value: &Value) {
        self.out.extend_from_slice(match value {
            Value::Null => b"null",
            Value::String(_) => b"\"\"",
            Value::Array(_) => b"[]",
            _ => b"{}",
        });
    }

    pub(crate) fn map(&mut self, map: &Map) -> bool {
        let mut o = self.begin_object();
        for (key, value) in map {
            let mark = o.key(self, key);
            if self.value(value) {
                o.keep();
            } else {
                self.out.truncate(mark);
            }
        }
        o.end(self)
    }
}

impl ObjectWriter {
    /// Writes `,"key":` for a payload key and returns the mark to roll back to.
    pub(crate) fn key(&self, w: &mut Writer<'_>, key: &str) -> usize {
        let mark = w.out.len();
        if self.members > 0 {
            w.out.push(b',');
        }
        write_string(w.out, key);
        w.out.push(b':');
        mark
    }

    /// As [`key`](Self::key) for the model's own field names, which are plain
    /// ASCII and need no escaping (the hot path of every event): `key` is
    /// the name already quoted, [`key!`]`("name")`. Inlined so that its
    /// length is a constant and its copy a few moves, not a call to `memcpy`.
    #[inline(always)]
    pub(crate) fn field(&self, w: &mut Writer<'_>, key: &'static str) -> usize {
        debug_assert!(key.starts_with('"') && key.ends_with("\":"));
        let mark = w.out.len();
        if self.members > 0 {
            w.out.push(b',');
        }
        w.out.extend_from_slice(key.as_bytes());
        mark
    }

    pub(crate) fn keep(&mut self) {
        self.members += 1;
    }

    #[inline(always)]
    pub(crate) fn string(&mut self, w: &mut Writer<'_>, key: &'static str, value: &Option<String>) {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            self.field(w, key);
            w.out.push(b'"');
            write_string_body(w.out, value);
            w.out.push(b'"');
            self.keep();
        }
    }

    /// An integer member (`0` is kept, as the pruning rules keep it).
    pub(crate) fn unsigned(&mut self, w: &mut Writer<'_>, key: &'static str, value: Option<u64>) {
        if let Some(value) = value {
            self.field(w, key);
            write_decimal(w.out, value);
            self.keep();
        }
    }

    pub(crate) fn map(&mut self, w: &mut Writer<'_>, key: &'static str, map: &Map) {
        let mark = self.field(w, key);
        if w.map(map) {
            self.keep();
        } else {
            w.out.truncate(mark);
        }
    }

    pub(crate) fn section<T>(
        &mut self,
        w: &mut Writer<'_>,
        key: &'static str,
        section: Option<&T>,
        write: impl FnOnce(&mut Writer<'_>, &T) -> bool,
    ) {
        if let Some(section) = section {
            let mark = self.field(w, key);
            if write(w, section) {
                self.keep();
            } else {
                w.out.truncate(mark);
            }
        }
    }

    /// Closes the object; returns false, having written nothing, when it is empty.
    pub(crate) fn end(self, w: &mut Writer<'_>) -> bool {
        if self.members == 0 {
            w.out.truncate(self.start);
            false
        } else {
            w.out.push(b'}');
            true
        }
    }
}
