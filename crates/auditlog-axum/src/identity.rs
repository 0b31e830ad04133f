//! Who is behind a request: what the service's authentication vouches for,
//! or what identity headers say when the peer may be believed.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use auditlog_core::{AuditEvent, HeaderIdentity, IdentityHeaders, Map, Subject, Value};
use http::{Extensions, HeaderMap};

use crate::network::IpNetwork;

/// The key in `eventdata.requestpayload` under which the middleware notes
/// identity headers it did not believe: `{"ignored": [header names]}` for
/// the configured headers present but not used (names only: the claims are
/// not worth sealing; `traceparent` is not listed), `{"conflict": {header:
/// [values]}}` for headers repeated with different values (their fields
/// are left empty; at most 16 values of 256 bytes each). Kept even when
/// capture is off.
pub const IDENTITY_KEY: &str = "_identity";

/// The most values of one conflicting header written into the note, and the
/// most bytes of each: enough to investigate, not a channel for bulk data.
const NOTE_VALUES: usize = 16;
const NOTE_VALUE_BYTES: usize = 256;

/// Where the middleware takes `tenantid`, `subject`, `traceid` and
/// `transactionid` from (see [`AuditLayer::identity_source`](crate::AuditLayer::identity_source)).
///
/// Whatever the source, an [`AuditIdentity`] the service attached to the
/// request wins over headers, and a handler's
/// [`AuditContext`](crate::AuditContext) settings win over both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdentitySource {
    /// Only from the service: the [`AuditIdentity`] its authentication
    /// layer attached to the request. Identity headers are ignored (noted
    /// under [`IDENTITY_KEY`] and counted in
    /// [`AuditStats::identity_ignored`](crate::AuditStats::identity_ignored)).
    /// The default, and the recommended setting.
    #[default]
    Extension,
    /// From identity headers, but only when the peer (the TCP peer, from
    /// axum's `ConnectInfo`) is one of the
    /// [trusted proxies](crate::AuditLayer::trusted_proxies) — for a gateway
    /// that authenticates callers and sets these headers, replacing any a
    /// client sent. From any other peer they are ignored, as with
    /// [`Extension`](Self::Extension).
    TrustedProxyHeaders,
    /// **Dangerous**: from identity headers of *any* peer, as the Python
    /// library does. Any client can then claim any tenant and user, and its
    /// claim is sealed into the event and keys its Kafka message. Only for
    /// services that no client can reach except through a gateway that
    /// strips these headers.
    UnverifiedHeadersFromAnyPeer,
}

/// The identity the service's authentication vouches for, as a typed
/// request extension: the trusted source of `tenantid`, `subject`,
/// `traceid` and `transactionid`.
///
/// An authentication layer makes it once the caller is known and hands it
/// over with [`attach_to`](AuditIdentity::attach_to), which works whether
/// that layer runs outside the audit layer (it is read when the request
/// arrives) or inside it (it reaches the request's
/// [`AuditContext`](crate::AuditContext), so requests the layer rejects are
/// still audited). It replaces everything identity headers said; fields
/// left unset stay empty in the event.
///
/// ```
/// use auditlog_axum::AuditIdentity;
/// use axum::{extract::Request, middleware::Next, response::Response};
///
/// async fn authenticate(mut request: Request, next: Next) -> Response {
///     // ... check the credentials, then:
///     AuditIdentity::new()
///         .tenant_id("acme")
///         .user_id("alice")
///         .user_type("USER")
///         .attach_to(request.extensions_mut());
///     next.run(request).await
/// }
/// # let _: axum::Router = axum::Router::new().layer(axum::middleware::from_fn(authenticate));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditIdentity {
    /// `tenantid` (and the default Kafka message key).
    pub tenant_id: Option<String>,
    /// `subject.userid`.
    pub user_id: Option<String>,
    /// `subject.type`, e.g. `USER` or `SERVICE`.
    pub user_type: Option<String>,
    /// `subject.groups`.
    pub groups: Vec<String>,
    /// `traceid`.
    pub trace_id: Option<String>,
    /// `transactionid`.
    pub transaction_id: Option<String>,
}

impl AuditIdentity {
    /// An empty identity; set its fields with the methods below.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `tenantid`.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sets `subject.userid`.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets `subject.type`.
    pub fn user_type(mut self, user_type: impl Into<String>) -> Self {
        self.user_type = Some(user_type.into());
        self
    }

    /// Adds a group to `subject.groups`.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.groups.push(group.into());
        self
    }

    /// Sets `traceid`.
    pub fn trace_id(mut self, trace_id: impl Into<String>) -> Self {
        self.trace_id = Some(trace_id.into());
        self
    }

    /// Sets `transactionid`.
    pub fn transaction_id(mut self, transaction_id: impl Into<String>) -> Self {
        self.transaction_id = Some(transaction_id.into());
        self
    }

    /// What identity headers said (for the header sources).
    fn from_headers(read: HeaderIdentity) -> Self {
        let identity = read.identity;
        AuditIdentity {
            tenant_id: identity.tenant_id,
            user_id: identity.user_id,
            user_type: identity.requester_type,
            groups: Vec::new(),
            trace_id: identity.trace_id,
            transaction_id: identity.transaction_id,
        }
    }

    /// Roughly the bytes its strings hold, for the queue's budget.
    pub(crate) fn approx_bytes(&self) -> u64 {
        let text = |s: &Option<String>| s.as_ref().map_or(0, |s| s.len() as u64);
        text(&self.tenant_id)
            + text(&self.user_id)
            + text(&self.user_type)
            + text(&self.trace_id)
            + text(&self.transaction_id)
            + self.groups.iter().map(|g| g.len() as u64).sum::<u64>()
    }

    /// Writes this identity into `event`, replacing what it said before.
    pub(crate) fn apply(self, event: &mut AuditEvent) {
        event.tenantid = self.tenant_id;
        event.traceid = self.trace_id;
        event.transactionid = self.transaction_id;
        let subject = Subject {
            userid: self.user_id,
            user_type: self.user_type,
            groups: self.groups,
        };
        event.subject = (subject != Subject::default()).then_some(subject);
    }
}

/// The identity a request arrived with, and what the middleware noted.
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    pub(crate) identity: AuditIdentity,
    /// The [`IDENTITY_KEY`] note, when headers were ignored or conflicting.
    pub(crate) note: Option<Value>,
    /// Identity headers were present and not believed.
    pub(crate) ignored: bool,
    /// Identity headers were repeated with different values.
    pub(crate) conflict: bool,
}

impl Resolved {
    /// Counts (and logs) what was not believed.
    pub(crate) fn count(&self, counters: &IdentityCounters) {
        if self.ignored {
            let ignored = counters.ignored.fetch_add(1, Relaxed) + 1;
            tracing::debug!(target: "auditlog_axum", ignored, "identity headers present and not believed");
        }
        if self.conflict {
            let conflicts = counters.conflicts.fetch_add(1, Relaxed) + 1;
            tracing::warn!(target: "auditlog_axum", conflicts, "identity header repeated with different values: left out of the event");
        }
    }
}

/// Requests with identity headers not believed, and with conflicting ones.
#[derive(Debug, Default)]
pub(crate) struct IdentityCounters {
    pub(crate) ignored: AtomicU64,
    pub(crate) conflicts: AtomicU64,
}

/// The identity of a request, from an attached [`AuditIdentity`] or the
/// headers `source` allows for `peer`.
pub(crate) fn resolve(
    source: IdentitySource,
    names: &IdentityHeaders,
    trusted: &[IpNetwork],
    headers: &HeaderMap,
    extensions: &Extensions,
    peer: Option<IpAddr>,
) -> Resolved {
    let believed = match source {
        IdentitySource::Extension => false,
        IdentitySource::TrustedProxyHeaders => {
            peer.is_some_and(|ip| trusted.iter().any(|net| net.contains(ip)))
        }
        IdentitySource::UnverifiedHeadersFromAnyPeer => true,
    };
    let attached = extensions.get::<AuditIdentity>().cloned();
    if believed && attached.is_none() {
        // UTF-8 values count; others are skipped, as `HeaderValue::to_str`
        // always did for ASCII-only text.
        let read = names.read(headers.iter().filter_map(|(name, value)| {
            Some((name.as_str(), std::str::from_utf8(value.as_bytes()).ok()?))
        }));
        let conflict = !read.conflicts.is_empty();
        let note = conflict.then(|| {
            let mut conflicts = Map::new();
            for c in &read.conflicts {
                let values: Vec<String> =
                    c.values.iter().take(NOTE_VALUES).map(|v| clip(v)).collect();
                conflicts.insert(c.header.clone(), Value::from(values));
            }
            let mut note = Map::new();
            note.insert("conflict".into(), Value::Object(conflicts));
            Value::Object(note)
        });
        return Resolved {
            identity: AuditIdentity::from_headers(read),
            note,
            ignored: false,
            conflict,
        };
    }
    // Names only: an untrusted value is not worth sealing. One pass over
    // the request's headers (few), not a parse and lookup per name.
    let names = names.names();
    let mut present = names.map(|_| false);
    for (header, value) in headers {
        for (name, present) in names.iter().zip(&mut present) {
            *present |= header.as_str().eq_ignore_ascii_case(name) && !is_blank(value);
        }
    }
    let ignored: Vec<&str> = names
        .into_iter()
        .zip(present)
        .filter_map(|(name, present)| present.then_some(name))
        .collect();
    let note = (!ignored.is_empty()).then(|| {
        let mut note = Map::new();
        note.insert("ignored".into(), Value::from(ignored));
        Value::Object(note)
    });
    Resolved {
        identity: attached.unwrap_or_default(),
        ignored: note.is_some(),
        note,
        conflict: false,
    }
}

/// Empty or whitespace values count as absent, as in
/// [`IdentityHeaders::read`].
fn is_blank(value: &http::HeaderValue) -> bool {
    value.as_bytes().iter().all(u8::is_ascii_whitespace)
}

/// At most [`NOTE_VALUE_BYTES`] of `value`, cut at a character boundary.
fn clip(value: &str) -> String {
    let mut end = value.len().min(NOTE_VALUE_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn run(source: IdentitySource, peer: &str, pairs: &[(&str, &str)]) -> Resolved {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        resolve(
            source,
            &IdentityHeaders::default(),
            &trusted,
            &headers(pairs),
            &Extensions::new(),
            Some(peer.parse().unwrap()),
        )
    }

    #[test]
    fn only_trusted_peers_are_believed() {
        let claim = [("tenantId", "acme"), ("actionLogUserId", "alice")];
        let from_proxy = run(IdentitySource::TrustedProxyHeaders, "10.0.0.1", &claim);
        assert_eq!(from_proxy.identity.tenant_id.as_deref(), Some("acme"));
        assert!(!from_proxy.ignored && from_proxy.note.is_none());

        let from_client = run(IdentitySource::TrustedProxyHeaders, "203.0.113.9", &claim);
        assert_eq!(from_client.identity, AuditIdentity::default());
        assert!(from_client.ignored);
        assert_eq!(
            from_client.note.unwrap().to_json(),
            r#"{"ignored":["tenantId","actionLogUserId"]}"#
        );

        let anyone = run(
            IdentitySource::UnverifiedHeadersFromAnyPeer,
            "203.0.113.9",
            &claim,
        );
        assert_eq!(anyone.identity.user_id.as_deref(), Some("alice"));
        let service_only = run(IdentitySource::Extension, "10.0.0.1", &claim);
        assert_eq!(service_only.identity, AuditIdentity::default());
        assert!(service_only.ignored);
    }

    #[test]
    fn no_headers_no_note() {
        let none = run(
            IdentitySource::Extension,
            "203.0.113.9",
            &[("tenantId", " ")],
        );
        assert!(!none.ignored && none.note.is_none());
    }

    #[test]
    fn conflicting_values_are_clipped_in_the_note() {
        let long = "x".repeat(300);
        let got = run(
            IdentitySource::UnverifiedHeadersFromAnyPeer,
            "203.0.113.9",
            &[("tenantId", "a"), ("tenantId", &long)],
        );
        assert!(got.conflict);
        assert_eq!(got.identity.tenant_id, None);
        let note = got.note.unwrap().to_json();
        let clipped = "x".repeat(NOTE_VALUE_BYTES);
        assert_eq!(
            note,
            format!(r#"{{"conflict":{{"tenantId":["a","{clipped}"]}}}}"#)
        );
        assert_eq!(clip("aé"), "aé");
        assert_eq!(
            clip(&format!("{}é", "x".repeat(NOTE_VALUE_BYTES - 1))).len(),
            NOTE_VALUE_BYTES - 1
        );
    }
}
