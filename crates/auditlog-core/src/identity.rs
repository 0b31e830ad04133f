//! Identity from request headers and workload identity from the Kubernetes
//! downward API, without depending on any HTTP crate.

use crate::model::Kubernetes;

/// Who is behind a request, as the platform's headers say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The tenant the request is for.
    pub tenant_id: Option<String>,
    /// Distributed trace id.
    pub trace_id: Option<String>,
    /// Business transaction id.
    pub transaction_id: Option<String>,
    /// The authenticated user or service.
    pub user_id: Option<String>,
    /// `USER`, `SERVICE`, ...: what kind of caller it is.
    pub requester_type: Option<String>,
}

/// The header names identity is read from, matched case-insensitively.
///
/// Headers are claims of whoever sent them: read them only from a peer you
/// trust to set them (a gateway that authenticates callers and replaces
/// what a client sent). `auditlog-axum` does so only when told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeaders {
    /// Header holding the tenant id.
    pub tenant_id: String,
    /// Header holding the trace id (`traceparent` is read too).
    pub trace_id: String,
    /// Header holding the transaction id.
    pub transaction_id: String,
    /// Header holding the user id.
    pub user_id: String,
    /// Header holding the requester type.
    pub requester_type: String,
}

impl Default for IdentityHeaders {
    fn default() -> Self {
        IdentityHeaders {
            tenant_id: "tenantId".into(),
            trace_id: "x-b3-traceid".into(),
            transaction_id: "X-Transaction-Id".into(),
            user_id: "actionLogUserId".into(),
            requester_type: "RequesterType".into(),
        }
    }
}

/// An identity header repeated with different values: a client may have
/// added its own next to the one a gateway set, so neither is believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConflict {
    /// The header name as configured (e.g. `tenantId`), or `traceparent`.
    pub header: String,
    /// The distinct values, in the order they came (trimmed).
    pub values: Vec<String>,
}

/// What the identity headers of one request said: the identity, and the
/// headers left out of it because they were repeated with different values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderIdentity {
    /// The fields whose headers agreed.
    pub identity: Identity,
    /// Headers repeated with different values; their fields are `None`.
    pub conflicts: Vec<IdentityConflict>,
}

impl IdentityHeaders {
    /// The five configured header names: tenant, trace, transaction, user,
    /// requester type.
    pub fn names(&self) -> [&str; 5] {
        [
            &self.tenant_id,
            &self.trace_id,
            &self.transaction_id,
            &self.user_id,
            &self.requester_type,
        ]
    }

    /// Reads identity from `(name, value)` pairs. The W3C `traceparent`
    /// supplies the trace id when the configured trace header is absent.
    /// Empty values count as absent. A header repeated with different
    /// values leaves its field `None` (see [`read`](Self::read) for the
    /// conflicts); repeating the same value is fine.
    ///
    /// ```
    /// use auditlog_core::IdentityHeaders;
    ///
    /// let identity = IdentityHeaders::default().extract([
    ///     ("TENANTID", "t-1"),
    ///     ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    /// ]);
    /// assert_eq!(identity.tenant_id.as_deref(), Some("t-1"));
    /// assert_eq!(identity.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    /// ```
    pub fn extract<'a, I>(&self, headers: I) -> Identity
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        self.read(headers).identity
    }

    /// As [`extract`](Self::extract), also reporting each header repeated
    /// with different values. No value of such a header is picked: "first
    /// wins" would let a client's header beat the one a gateway appended.
    ///
    /// ```
    /// use auditlog_core::IdentityHeaders;
    ///
    /// let read = IdentityHeaders::default().read([
    ///     ("tenantId", "evil"),
    ///     ("tenantId", "acme"),
    ///     ("actionLogUserId", "alice"),
    ///     ("actionLogUserId", "alice"),
    /// ]);
    /// assert_eq!(read.identity.tenant_id, None);
    /// assert_eq!(read.identity.user_id.as_deref(), Some("alice"));
    /// assert_eq!(read.conflicts[0].header, "tenantId");
    /// assert_eq!(read.conflicts[0].values, ["evil", "acme"]);
    /// ```
    pub fn read<'a, I>(&self, headers: I) -> HeaderIdentity
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        // Distinct values per header, in the order of `names()`, then
        // traceparent.
        let names = self.names();
        let mut seen: [Vec<&'a str>; 6] = Default::default();
        for (name, value) in headers {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let slot = names
                .iter()
                .position(|n| name.eq_ignore_ascii_case(n))
                .or_else(|| name.eq_ignore_ascii_case(TRACEPARENT).then_some(5));
            if let Some(values) = slot.map(|i| &mut seen[i]) {
                if !values.contains(&value) {
                    values.push(value);
                }
            }
        }
        let mut conflicts = Vec::new();
        let mut single = |i: usize, header: &str| match seen[i].as_slice() {
            [] => None,
            [value] => Some((*value).to_owned()),
            values => {
                conflicts.push(IdentityConflict {
                    header: header.to_owned(),
                    values: values.iter().map(|v| (*v).to_owned()).collect(),
                });
                None
            }
        };
        let tenant_id = single(0, names[0]);
        let mut trace_id = single(1, names[1]);
        let transaction_id = single(2, names[2]);
        let user_id = single(3, names[3]);
        let requester_type = single(4, names[4]);
        // A conflicting trace header is not replaced by traceparent: that
        // would pick a value after all.
        if trace_id.is_none() && seen[1].is_empty() {
            trace_id = single(5, TRACEPARENT).and_then(|tp| trace_id_from_traceparent(&tp));
        }
        HeaderIdentity {
            identity: Identity {
                tenant_id,
                trace_id,
                transaction_id,
                user_id,
                requester_type,
            },
            conflicts,
        }
    }
}

/// The W3C trace context header, read when the trace header is absent.
const TRACEPARENT: &str = "traceparent";

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), if valid.
pub fn trace_id_from_traceparent(value: &str) -> Option<String> {
    let mut parts = value.trim().split('-');
    let version = parts.next()?;
    let trace_id = parts.next()?;
    let parent_id = parts.next()?;
    let flags = parts.next()?;
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    let valid = hex(version, 2)
        && !version.eq_ignore_ascii_case("ff")
        && (version != "00" || parts.next().is_none())
        && hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && hex(parent_id, 16)
        && parent_id.bytes().any(|b| b != b'0')
        && hex(flags, 2);
    valid.then(|| trace_id.to_ascii_lowercase())
}

impl Kubernetes {
    /// Reads the downward-API environment: `POD_NAMESPACE` or `NAMESPACE`,
    /// `POD_NAME` or `HOSTNAME`, `CONTAINER_NAME`, `NODE_NAME`.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), with variables from `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| lookup(name).filter(|v| !v.is_empty()))
        };
        Kubernetes {
            namespacename: first(&["POD_NAMESPACE", "NAMESPACE"]),
            podname: first(&["POD_NAME", "HOSTNAME"]),
            containername: first(&["CONTAINER_NAME"]),
            nodename: first(&["NODE_NAME"]),
        }
    }

    /// True when no field is set (the section would prune away).
    pub fn is_empty(&self) -> bool {
        self == &Kubernetes::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_matched_case_insensitively() {
        let identity = IdentityHeaders::default().extract([
            ("tenantid", "t"),
            ("X-B3-TRACEID", "b3"),
            ("x-transaction-id", "tx"),
            ("ACTIONLOGUSERID", "u"),
            ("requestertype", "SERVICE"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ]);
        assert_eq!(
            identity,
            Identity {
                tenant_id: Some("t".into()),
                trace_id: Some("b3".into()),
                transaction_id: Some("tx".into()),
                user_id: Some("u".into()),
                requester_type: Some("SERVICE".into()),
            }
        );
    }

    #[test]
    fn traceparent_is_used_only_when_b3_is_absent_and_valid() {
        let headers = IdentityHeaders::default();
        let from = |tp: &str| headers.extract([("traceparent", tp)]).trace_id;
        assert_eq!(
            from("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(
            from("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            from("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            from("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(from("garbage"), None);
    }

    #[test]
    fn custom_header_names() {
        let headers = IdentityHeaders {
            tenant_id: "X-Org".into(),
            ..IdentityHeaders::default()
        };
        let identity = headers.extract([("x-org", "o"), ("tenantId", "ignored")]);
        assert_eq!(identity.tenant_id.as_deref(), Some("o"));
    }

    #[test]
    fn a_header_repeated_with_different_values_is_a_conflict() {
        let read = IdentityHeaders::default().read([
            ("tenantId", "acme"),
            ("TENANTID", " acme "),
            ("actionLogUserId", "alice"),
            ("actionlogUserId", "mallory"),
            ("x-b3-traceid", "b3-a"),
            ("x-b3-traceid", "b3-b"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            ("RequesterType", ""),
        ]);
        // The same value twice is no conflict.
        assert_eq!(read.identity.tenant_id.as_deref(), Some("acme"));
        assert_eq!(read.identity.user_id, None);
        // A conflicting trace header does not fall back to traceparent.
        assert_eq!(read.identity.trace_id, None);
        assert_eq!(
            read.conflicts,
            [
                IdentityConflict {
                    header: "x-b3-traceid".into(),
                    values: vec!["b3-a".into(), "b3-b".into()],
                },
                IdentityConflict {
                    header: "actionLogUserId".into(),
                    values: vec!["alice".into(), "mallory".into()],
                },
            ]
        );
        let two_traceparents = IdentityHeaders::default().read([
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ),
        ]);
        assert_eq!(two_traceparents.identity.trace_id, None);
        assert_eq!(two_traceparents.conflicts[0].header, "traceparent");
    }

    #[test]
    fn kubernetes_prefers_the_pod_variables() {
        let env = |name: &str| match name {
            "POD_NAMESPACE" => Some("ns".to_owned()),
            "NAMESPACE" => Some("other".to_owned()),
            "POD_NAME" => Some(String::new()),
            "HOSTNAME" => Some("host".to_owned()),
            "NODE_NAME" => Some("node".to_owned()),
            _ => None,
        };
        let k = Kubernetes::from_lookup(env);
        assert_eq!(k.namespacename.as_deref(), Some("ns"));
        assert_eq!(k.podname.as_deref(), Some("host"));
        assert_eq!(k.containername, None);
        assert_eq!(k.nodename.as_deref(), Some("node"));
    }
}
