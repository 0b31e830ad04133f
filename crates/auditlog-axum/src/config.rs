//! What the layer was told: the settings every service and event of one
//! [`AuditLayer`](crate::AuditLayer) share.

use std::fmt;
use std::sync::Arc;

use auditlog_core::{IdentityHeaders, Kubernetes};

use crate::hook::OnEvent;
use crate::identity::IdentitySource;
use crate::network::IpNetwork;
use crate::redact::Redaction;
use crate::write_ahead::setting::WriteAhead;

/// Where `action.name` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ActionName {
    /// The route template (axum's `MatchedPath`, e.g. `/orders/{id}`); the
    /// raw path where there is none (no route matched, or not axum).
    #[default]
    RouteTemplate,
    /// The raw request path (`/orders/42`), query excluded.
    RawPath,
}

/// Paths not audited by default, matched as leading whole path segments.
pub const DEFAULT_SKIP_PATHS: &[&str] = &[
    "actuator",
    "health",
    "metrics",
    "error",
    "prometheus",
    "swagger",
    "api-docs",
    "favicon",
];

/// The default cap on captured bytes per body: 64 KiB.
pub const DEFAULT_CAPTURE_LIMIT: usize = 64 * 1024;

/// The layer's settings, shared by every service it makes.
#[derive(Clone)]
pub(crate) struct Config {
    /// Each skip path as its segments.
    pub(crate) skip: Vec<Vec<String>>,
    /// The cap, when payload capture is on.
    pub(crate) capture_limit: usize,
    pub(crate) capture: bool,
    pub(crate) redaction: Redaction,
    /// Unparseable and truncated bodies stored as text (redacted).
    pub(crate) raw_text: bool,
    pub(crate) identity_headers: IdentityHeaders,
    pub(crate) identity_source: IdentitySource,
    pub(crate) trusted_proxies: Vec<IpNetwork>,
    pub(crate) action_name: ActionName,
    pub(crate) compliance_category: Option<String>,
    pub(crate) sensitive: bool,
    pub(crate) kubernetes: Option<Kubernetes>,
    pub(crate) hook: Arc<dyn OnEvent>,
    pub(crate) write_ahead: WriteAhead,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("skip", &self.skip)
            .field("capture", &self.capture)
            .field("capture_limit", &self.capture_limit)
            .field("redaction", &self.redaction)
            .field("raw_text", &self.raw_text)
            .field("identity_headers", &self.identity_headers)
            .field("identity_source", &self.identity_source)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("action_name", &self.action_name)
            .field("compliance_category", &self.compliance_category)
            .field("sensitive", &self.sensitive)
            .field("kubernetes", &self.kubernetes)
            .field("write_ahead", &self.write_ahead)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The defaults: the default skip paths, capture off (with the default
    /// cap), the default redaction and identity headers, identity from the
    /// service only, no trusted proxies, route templates as action names,
    /// and the `kubernetes` section read from the environment now.
    pub(crate) fn new() -> Self {
        Config {
            skip: DEFAULT_SKIP_PATHS
                .iter()
                .filter_map(|p| skip_segments(p))
                .collect(),
            capture_limit: DEFAULT_CAPTURE_LIMIT,
            capture: false,
            redaction: Redaction::default(),
            raw_text: false,
            identity_headers: IdentityHeaders::default(),
            identity_source: IdentitySource::default(),
            trusted_proxies: Vec::new(),
            action_name: ActionName::default(),
            compliance_category: None,
            sensitive: false,
            kubernetes: non_empty(Kubernetes::from_env()),
            hook: Arc::new(()),
            write_ahead: WriteAhead::off(),
        }
    }

    /// Whether `path` starts with the segments of a skip path.
    pub(crate) fn skips(&self, path: &str) -> bool {
        // Split once for the first segment, which rules out most skip paths;
        // whole paths are compared only for those that share it.
        let Some(first) = path_segments(path).next() else {
            return false;
        };
        self.skip.iter().any(|skip| {
            skip.first().is_some_and(|s| s == first) && {
                let mut segments = path_segments(path);
                skip.iter().all(|s| segments.next() == Some(s.as_str()))
            }
        })
    }
}

/// A skip path as its segments; `None` for one without any (`/`), which
/// would skip everything.
pub(crate) fn skip_segments(path: &str) -> Option<Vec<String>> {
    let segments: Vec<String> = path_segments(path).map(String::from).collect();
    (!segments.is_empty()).then_some(segments)
}

/// The `kubernetes` section to put in events: none when it says nothing.
pub(crate) fn non_empty(kubernetes: Kubernetes) -> Option<Kubernetes> {
    (!kubernetes.is_empty()).then_some(kubernetes)
}

/// The non-empty segments of a path.
pub(crate) fn path_segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}
