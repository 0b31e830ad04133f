//! Identity from request headers and workload identity from the Kubernetes
//! downward API, without depending on any HTTP crate.

use crate::model::Kubernetes;

/// Who is behind a request, as the platform's headers say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub tenant_id: Option<String>,
    pub trace_id: Option<String>,
    pub transaction_id: Option<String>,
    pub user_id: Option<String>,
    pub requester_type: Option<String>,
}

/// The header names identity is read from, matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeaders {
    pub tenant_id: String,
    pub trace_id: String,
    pub transaction_id: String,
    pub user_id: String,
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

impl IdentityHeaders {
    /// Reads identity from `(name, value)` pairs. The W3C `traceparent`
    /// supplies the trace id when the configured trace header is absent.
    /// Empty values count as absent.
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
        let mut identity = Identity::default();
        let mut traceparent = None;
        for (name, value) in headers {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let slot = if name.eq_ignore_ascii_case(&self.tenant_id) {
                &mut identity.tenant_id
            } else if name.eq_ignore_ascii_case(&self.trace_id) {
                &mut identity.trace_id
            } else if name.eq_ignore_ascii_case(&self.transaction_id) {
                &mut identity.transaction_id
            } else if name.eq_ignore_ascii_case(&self.user_id) {
                &mut identity.user_id
            } else if name.eq_ignore_ascii_case(&self.requester_type) {
                &mut identity.requester_type
            } else {
                if name.eq_ignore_ascii_case("traceparent") {
                    traceparent = trace_id_from_traceparent(value);
                }
                continue;
            };
            // The first occurrence of a repeated header wins.
            slot.get_or_insert_with(|| value.to_owned());
        }
        if identity.trace_id.is_none() {
            identity.trace_id = traceparent;
        }
        identity
    }
}

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
