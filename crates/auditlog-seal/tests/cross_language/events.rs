//! Raw JSON text of whole events: every section, random subsets of fields,
//! unknown members, repeated keys, empties at every depth, and invalid lines.

use super::scalars::Scalars;

/// What a model field holds, for generating it (and its duplicates).
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Str,
    Groups,
    Payload,
    Bool,
    Section(&'static [(&'static str, Kind)]),
}

pub(crate) const SUBJECT: &[(&str, Kind)] = &[
    ("userid", Kind::Str),
    ("type", Kind::Str),
    ("groups", Kind::Groups),
];
pub(crate) const KUBERNETES: &[(&str, Kind)] = &[
    ("namespacename", Kind::Str),
    ("podname", Kind::Str),
    ("containername", Kind::Str),
    ("nodename", Kind::Str),
];
pub(crate) const OBJECTREF: &[(&str, Kind)] = &[
    ("resource", Kind::Str),
    ("resourceid", Kind::Str),
    ("apiversion", Kind::Str),
];
pub(crate) const ACTION: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("method", Kind::Str),
    ("severity", Kind::Str),
    ("status", Kind::Str),
];
pub(crate) const NETWORK: &[(&str, Kind)] = &[("sourceip", Kind::Str), ("useragent", Kind::Str)];
pub(crate) const METADATA: &[(&str, Kind)] = &[
    ("issensitive", Kind::Bool),
    ("compliancecategory", Kind::Str),
];
pub(crate) const EVENTDATA: &[(&str, Kind)] = &[
    ("requestpayload", Kind::Payload),
    ("responsepayload", Kind::Payload),
    ("metadata", Kind::Section(METADATA)),
];
pub(crate) const SECURITY: &[(&str, Kind)] = &[("hash", Kind::Str), ("signature", Kind::Str)];
pub(crate) const EVENT: &[(&str, Kind)] = &[
    ("id", Kind::Str),
    ("specversion", Kind::Str),
    ("timestamp", Kind::Str),
    ("traceid", Kind::Str),
    ("transactionid", Kind::Str),
    ("tenantid", Kind::Str),
    ("subject", Kind::Section(SUBJECT)),
    ("kubernetes", Kind::Section(KUBERNETES)),
    ("objectref", Kind::Section(OBJECTREF)),
    ("action", Kind::Section(ACTION)),
    ("network", Kind::Section(NETWORK)),
    ("eventdata", Kind::Section(EVENTDATA)),
    ("security", Kind::Section(SECURITY)),
];

/// Keys chosen to exercise code point ordering: ASCII around the letters,
/// Latin-1, the top of the BMP (which sorts before astral characters by code
/// point but after them in UTF-16), astral characters, the empty key.
pub(crate) const KEYS: &[&str] = &[
    "a",
    "b",
    "A",
    "Z",
    "_",
    "~",
    "aa",
    "ab",
    "a b",
    "0",
    "10",
    "9",
    "",
    "e",
    "\u{e9}",
    "E\u{301}",
    "\u{7f}",
    "\u{0}",
    "a\u{0}",
    "\u{1f}",
    "\u{e000}",
    "\u{fb01}",
    "\u{ff61}",
    "\u{fffd}",
    "\u{ffff}",
    "\u{10000}",
    "\u{1f600}",
    "\u{1f511}",
    "\u{10ffff}",
    "id",
    "name",
    "groups",
    "security",
    "issensitive",
    "\"",
    "\\",
    "/",
    "a.b",
    "[0]",
];

/// Writes events, valid or not, as one line of JSON text each.
pub(crate) struct EventText {
    pub(crate) scalars: Scalars,
}

impl EventText {
    /// Null, `""`, `[]`, `{}` or an object of those, nested: all of it
    /// prunes away inside an object and stays (pruned) inside an array.
    pub(crate) fn empty(&mut self, depth: u32) -> String {
        let options = if depth > 3 { 4 } else { 6 };
        match self.scalars.rng.below(options) {
            0 => "null".into(),
            1 => "\"\"".into(),
            2 => format!("[{}]", self.scalars.ws()),
            3 => format!("{{{}}}", self.scalars.ws()),
            _ => {
                let n = self.scalars.rng.range(1, 3);
                let members = (0..n)
                    .map(|_| (self.key(), self.empty(depth + 1)))
                    .collect();
                self.object(members)
            }
        }
    }

    pub(crate) fn key(&mut self) -> String {
        if self.scalars.rng.chance(70) {
            self.scalars.rng.pick(KEYS).into()
        } else {
            self.scalars.text()
        }
    }

    /// Any payload value.
    pub(crate) fn value(&mut self, depth: u32) -> String {
        let options = if depth >= 4 { 7 } else { 10 };
        match self.scalars.rng.below(options) {
            0 => "null".into(),
            1 => self.scalars.rng.pick(&["true", "false"]).into(),
            2 => self.scalars.integer(),
            3 => self.scalars.float(),
            4 | 5 => self.scalars.string_value(),
            6 => self.empty(depth),
            7 => {
                let n = self.scalars.rng.range(0, 4);
                let items: Vec<String> = (0..n).map(|_| self.value(depth + 1)).collect();
                let sep = format!("{},{}", self.scalars.ws(), self.scalars.ws());
                format!(
                    "[{}{}{}]",
                    self.scalars.ws(),
                    items.join(&sep),
                    self.scalars.ws()
                )
            }
            _ => self.payload(depth + 1),
        }
    }

    pub(crate) fn payload(&mut self, depth: u32) -> String {
        if self.scalars.rng.chance(10) {
            return format!("{{{}}}", self.scalars.ws());
        }
        let n = self.scalars.rng.range(1, 5);
        let mut members: Vec<(String, String)> =
            (0..n).map(|_| (self.key(), self.value(depth))).collect();
        if self.scalars.rng.chance(3) {
            // A repeated key: Python keeps the last, we refuse the event.
            let i = self.scalars.rng.below(members.len());
            let decoy = (members[i].0.clone(), self.value(depth));
            members.insert(i, decoy);
        }
        self.object_in_order(members)
    }

    /// Writes members in a random order.
    pub(crate) fn object(&mut self, mut members: Vec<(String, String)>) -> String {
        self.scalars.rng.shuffle(&mut members);
        self.object_in_order(members)
    }

    /// Writes members in the given order, so that repeated keys keep theirs.
    pub(crate) fn object_in_order(&mut self, members: Vec<(String, String)>) -> String {
        let mut out = String::from("{");
        out.push_str(self.scalars.ws());
        for (i, (key, value)) in members.iter().enumerate() {
            if i > 0 {
                out.push_str(self.scalars.ws());
                out.push(',');
                out.push_str(self.scalars.ws());
            }
            let key = self.scalars.literal(key);
            out.push_str(&key);
            out.push_str(self.scalars.ws());
            out.push(':');
            out.push_str(self.scalars.ws());
            out.push_str(value);
        }
        out.push_str(self.scalars.ws());
        out.push('}');
        out
    }

    pub(crate) fn field(&mut self, kind: Kind) -> String {
        match kind {
            Kind::Str => self.scalars.optional_string(),
            Kind::Bool => self.scalars.rng.pick(&["true", "false"]).into(),
            Kind::Groups => {
                let n = self.scalars.rng.pick(&[0, 0, 1, 2, 3]);
                let items: Vec<String> = (0..n)
                    .map(|_| {
                        if self.scalars.rng.chance(15) {
                            "\"\"".into()
                        } else {
                            self.scalars.string_value()
                        }
                    })
                    .collect();
                format!("[{}]", items.join(","))
            }
            Kind::Payload => self.payload(1),
            Kind::Section(fields) => match self.scalars.rng.below(10) {
                0 => "null".into(),
                1 => format!("{{{}}}", self.scalars.ws()),
                _ => self.fields(fields, 55),
            },
        }
    }

    /// An object with a random subset of `fields`, sometimes with members
    /// the model does not know and with repeated keys.
    pub(crate) fn fields(&mut self, fields: &[(&str, Kind)], percent: u64) -> String {
        let mut members = Vec::new();
        for &(name, kind) in fields {
            if self.scalars.rng.chance(percent) {
                members.push((name.to_owned(), kind));
            }
        }
        let mut members: Vec<(String, String)> = members
            .into_iter()
            .map(|(name, kind)| {
                let value = self.field(kind);
                (name, value)
            })
            .collect();
        if self.scalars.rng.chance(8) {
            // Unknown to the model: ignored by both sides.
            let key = format!("x-{}", self.scalars.text());
            let value = self.value(2);
            members.push((key, value));
        }
        self.scalars.rng.shuffle(&mut members);
        if !members.is_empty() && self.scalars.rng.chance(2) {
            // A repeated key with a value of the right type: Python keeps the
            // last, we refuse the event.
            let i = self.scalars.rng.below(members.len());
            let name = members[i].0.clone();
            if let Some(&(_, kind)) = fields.iter().find(|(n, _)| *n == name) {
                let decoy = self.field(kind);
                members.insert(self.scalars.rng.below(i + 1), (name, decoy));
            }
        }
        self.object_in_order(members)
    }

    pub(crate) fn event(&mut self) -> String {
        let event = self.fields(EVENT, 50);
        format!("{}{event}{}", self.scalars.ws(), self.scalars.ws())
    }

    /// An event both sides must reject.
    pub(crate) fn invalid(&mut self) -> String {
        if self.scalars.rng.chance(50) {
            // A valid event whose last member has the wrong type.
            let (key, value) = self.scalars.rng.pick(&[
                ("id", "1"),
                ("id", "true"),
                ("tenantid", "[]"),
                ("timestamp", "{}"),
                ("subject", "\"x\""),
                ("subject", "[]"),
                ("subject", r#"{"groups":null}"#),
                ("subject", r#"{"groups":"a"}"#),
                ("subject", r#"{"groups":["a",1]}"#),
                ("subject", r#"{"groups":[null]}"#),
                ("subject", r#"{"userid":1.5}"#),
                ("eventdata", r#"{"requestpayload":null}"#),
                ("eventdata", r#"{"responsepayload":[]}"#),
                ("eventdata", r#"{"requestpayload":"x"}"#),
                ("eventdata", r#"{"metadata":{"issensitive":null}}"#),
                ("eventdata", r#"{"metadata":{"issensitive":"maybe"}}"#),
                ("eventdata", r#"{"metadata":{"issensitive":2}}"#),
                ("eventdata", r#"{"metadata":{"issensitive":[]}}"#),
                ("eventdata", r#"{"metadata":[]}"#),
                ("eventdata", r#"{"metadata":{"compliancecategory":7}}"#),
                ("eventdata", "0"),
                ("action", "1"),
                ("action", r#"{"name":5}"#),
                ("network", r#"{"sourceip":false}"#),
                ("security", r#"{"hash":1}"#),
                ("kubernetes", r#"{"podname":{}}"#),
                ("objectref", r#"{"resource":["a"]}"#),
            ]);
            let valid = self.event();
            let valid = valid.trim();
            let inner = valid[1..valid.len() - 1].trim();
            let comma = if inner.is_empty() { "" } else { "," };
            return format!(r#"{{{inner}{comma}"{key}":{value}}}"#);
        }
        match self.scalars.rng.below(4) {
            0 => {
                // Cut short.
                let valid = self.event();
                let valid = valid.trim();
                valid[..valid.len() - 1].to_owned()
            }
            1 => {
                let valid = self.event();
                format!("{},", valid.trim())
            }
            2 => {
                let valid = self.event();
                format!("{} {{}}", valid.trim())
            }
            _ => self
                .scalars
                .rng
                .pick(&[
                    "[]",
                    "\"event\"",
                    "42",
                    "null",
                    r#"{"id":"x",}"#,
                    r#"{"id":"x""#,
                    "{\"id\":\"a\tb\"}",
                    "{\"id\":\"a\u{1}b\"}",
                    r#"{"id":"\x"}"#,
                    r#"{"id":"\u12"}"#,
                    r#"{'id':'x'}"#,
                    r#"{"eventdata":{"requestpayload":{"a":01}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":1.}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":.5}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":+1}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":1e}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":-}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":0x10}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":[1,]}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a" 1}}}"#,
                    r#"{"eventdata":{"requestpayload":{"a":tru}}}"#,
                    r#"{"action":{"name":"x"}"#,
                ])
                .into(),
        }
    }
}

// ---------------------------------------------------------------------------
