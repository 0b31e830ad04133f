//! The report as one line of JSON, for `auditlog verify --chain --json`.

use std::ops::RangeInclusive;

use auditlog_core::{Map, Value};

use super::{Duplicated, Reordered, StreamReport};

impl StreamReport {
    /// The report as one line of JSON (keys sorted), every item listed:
    ///
    /// `{"chains":{ID:{"anchored","checkpointed","checkpoints","duplicated":[{"extra","seq"}],
    /// "events","first","last","missing":[[FROM,TO]],"reordered":[{"line","seq"}],
    /// "truncated":[FROM,TO]|null}},"invalid":[{"chain","check","line","message","seq"}],
    /// "lines","ok","unauthenticated":[{"fields","line"}],"unchained":[LINE],
    /// "unmet":[{"chain","check","message"}],"valid"}`
    pub fn to_json(&self) -> String {
        fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        }
        let range = |r: &RangeInclusive<u64>| Value::from(vec![*r.start(), *r.end()]);
        let chains: Map = self
            .chains
            .iter()
            .map(|(id, c)| {
                let chain = object([
                    ("events", c.events.into()),
                    ("first", c.first.into()),
                    ("last", c.last.into()),
                    ("anchored", c.anchored.into()),
                    (
                        "missing",
                        Value::Array(c.missing.iter().map(range).collect()),
                    ),
                    ("truncated", c.truncated.as_ref().map_or(Value::Null, range)),
                    (
                        "reordered",
                        Value::Array(
                            c.reordered
                                .iter()
                                .map(|&Reordered { seq, line }| {
                                    object([("seq", seq.into()), ("line", line.into())])
                                })
                                .collect(),
                        ),
                    ),
                    (
                        "duplicated",
                        Value::Array(
                            c.duplicated
                                .iter()
                                .map(|&Duplicated { seq, extra }| {
                                    object([("seq", seq.into()), ("extra", extra.into())])
                                })
                                .collect(),
                        ),
                    ),
                    ("checkpoints", c.checkpoints.into()),
                    ("checkpointed", c.checkpointed.into()),
                ]);
                (id.clone(), chain)
            })
            .collect();
        let invalid = self
            .invalid
            .iter()
            .map(|i| {
                object([
                    ("line", i.line.into()),
                    ("chain", i.chain.clone().into()),
                    ("seq", i.seq.into()),
                    ("check", i.failure.code().into()),
                    ("message", i.failure.to_string().into()),
                ])
            })
            .collect();
        let unauthenticated = self
            .unauthenticated
            .iter()
            .map(|u| object([("line", u.line.into()), ("fields", u.fields.clone().into())]))
            .collect();
        let unmet = self
            .unmet
            .iter()
            .map(|u| {
                object([
                    ("check", u.code().into()),
                    ("chain", u.chain().into()),
                    ("message", u.to_string().into()),
                ])
            })
            .collect();
        object([
            ("ok", self.is_clean().into()),
            ("lines", self.lines.into()),
            ("valid", self.valid.into()),
            ("chains", Value::Object(chains)),
            ("invalid", Value::Array(invalid)),
            ("unchained", self.unchained.clone().into()),
            ("unauthenticated", Value::Array(unauthenticated)),
            ("unmet", Value::Array(unmet)),
        ])
        .to_json()
    }
}
