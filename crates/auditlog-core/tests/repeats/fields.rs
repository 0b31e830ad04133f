//! The model's objects and their fields, for both the written-out and the
//! random repeats.

/// The objects of the model: each field, and what its value is.
pub(crate) const OBJECTS: &[(&str, &[(&str, Kind)])] = &[
    (
        "",
        &[
            ("id", Kind::Text),
            ("specversion", Kind::Text),
            ("timestamp", Kind::Text),
            ("traceid", Kind::Text),
            ("transactionid", Kind::Text),
            ("tenantid", Kind::Text),
            ("subject", Kind::Section),
            ("kubernetes", Kind::Section),
            ("objectref", Kind::Section),
            ("action", Kind::Section),
            ("network", Kind::Section),
            ("eventdata", Kind::Section),
            ("security", Kind::Section),
        ],
    ),
    (
        "subject",
        &[
            ("userid", Kind::Text),
            ("type", Kind::Text),
            ("groups", Kind::Groups),
        ],
    ),
    (
        "kubernetes",
        &[
            ("namespacename", Kind::Text),
            ("podname", Kind::Text),
            ("containername", Kind::Text),
            ("nodename", Kind::Text),
        ],
    ),
    (
        "objectref",
        &[
            ("resource", Kind::Text),
            ("resourceid", Kind::Text),
            ("apiversion", Kind::Text),
        ],
    ),
    (
        "action",
        &[
            ("name", Kind::Text),
            ("method", Kind::Text),
            ("severity", Kind::Text),
            ("status", Kind::Text),
        ],
    ),
    (
        "network",
        &[("sourceip", Kind::Text), ("useragent", Kind::Text)],
    ),
    (
        "eventdata",
        &[
            ("requestpayload", Kind::Payload),
            ("responsepayload", Kind::Payload),
            ("metadata", Kind::Section),
        ],
    ),
    (
        "eventdata.metadata",
        &[
            ("issensitive", Kind::Flag),
            ("compliancecategory", Kind::Text),
        ],
    ),
    (
        "security",
        &[
            ("chain", Kind::Text),
            ("hash", Kind::Text),
            ("head", Kind::Text),
            ("kid", Kind::Text),
            ("length", Kind::Counter),
            ("link", Kind::Text),
            ("prev", Kind::Text),
            ("seq", Kind::Counter),
            ("signature", Kind::Text),
        ],
    ),
];

/// What a field's value is.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Text,
    Counter,
    Flag,
    Groups,
    Section,
    Payload,
    /// An unknown member's value (or a payload's): any JSON.
    Any,
}

impl Kind {
    /// A value of this kind every field of it accepts.
    pub(crate) fn sample(self) -> &'static str {
        match self {
            Kind::Text => r#""t""#,
            Kind::Counter => "7",
            Kind::Flag => "true",
            Kind::Groups => r#"["g"]"#,
            Kind::Section => "{}",
            Kind::Payload => r#"{"a":1}"#,
            Kind::Any => "1",
        }
    }
}

/// `key` at `path`, as errors name it.
pub(crate) fn joined(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
