//! Publisher settings, from code or from the environment.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, SigningKey};

use crate::error::{Error, ParseSettingError, Result};
use crate::spool::{Fsync, SpoolConfig};

/// The topic events go to unless configured otherwise.
pub const DEFAULT_TOPIC: &str = "audit-logs";
/// Events accepted but not yet delivered, at most (see [`KafkaConfig::capacity`]).
pub const DEFAULT_CAPACITY: usize = 50_000;
/// Bytes of sealed JSON accepted but not yet delivered, at most: 128 MiB
/// (see [`KafkaConfig::capacity_bytes`]).
pub const DEFAULT_CAPACITY_BYTES: usize = 128 * 1024 * 1024;

/// Everything a [`KafkaPublisher`](crate::KafkaPublisher) needs.
///
/// librdkafka properties are applied over these defaults, which suit audit
/// data: `enable.idempotence=true` (no duplicates from retries), `acks=all`,
/// `compression.type=lz4`, `linger.ms=5`, `message.timeout.ms=300000` (a
/// broker may be away five minutes before events count as failed).
///
/// Set builder-style: each setter is named after its setting and takes and
/// returns the config (as tower-http's layers; librdkafka properties go
/// through [`set`](Self::set), as with rdkafka's `ClientConfig`). What a
/// publisher runs with is read from it: [`KafkaPublisher::brokers`](crate::KafkaPublisher::brokers),
/// [`topic`](crate::KafkaPublisher::topic).
#[derive(Clone)]
pub struct KafkaConfig {
    pub(crate) brokers: String,
    pub(crate) topic: String,
    pub(crate) signing_key: Option<SigningKey>,
    pub(crate) capacity: usize,
    pub(crate) capacity_bytes: usize,
    pub(crate) overflow: Overflow,
    pub(crate) key: MessageKey,
    pub(crate) properties: BTreeMap<String, String>,
    pub(crate) drop_flush_timeout: Duration,
    pub(crate) chain: Option<ChainConfig>,
    pub(crate) spool: Option<SpoolConfig>,
    /// Whether `message_key` was called (a chain needs its own key).
    key_chosen: bool,
}

/// Environment variables read by [`KafkaConfig::from_env`].
pub mod env {
    /// Bootstrap brokers, `host:port[,host:port...]` (required).
    pub const BROKERS: &str = "AUDITLOG_KAFKA_BROKERS";
    /// Topic (default `audit-logs`).
    pub const TOPIC: &str = "AUDITLOG_KAFKA_TOPIC";
    /// Signing key (HMAC-SHA256 secret); unset: events are hashed, not signed.
    pub const SIGNING_KEY: &str = auditlog_seal::DEFAULT_KEY_ENV;
    /// Queue capacity (events accepted and not yet delivered).
    pub const CAPACITY: &str = "AUDITLOG_KAFKA_QUEUE_CAPACITY";
    /// Queue capacity in bytes of sealed JSON (default 128 MiB).
    pub const CAPACITY_BYTES: &str = "AUDITLOG_KAFKA_QUEUE_BYTES";
    /// `drop` (drop the newest, the default) or `wait:<milliseconds>`.
    pub const OVERFLOW: &str = "AUDITLOG_KAFKA_OVERFLOW";
    /// Message key: `tenant` (default), `id` or `none`.
    pub const KEY: &str = "AUDITLOG_KAFKA_KEY";
    /// Prefix of librdkafka properties: `AUDITLOG_KAFKA_PROPERTY_SASL_MECHANISM=PLAIN`
    /// sets `sasl.mechanism` (lower-cased, `_` becomes `.`).
    pub const PROPERTY_PREFIX: &str = "AUDITLOG_KAFKA_PROPERTY_";
    /// Directory of a durable spool (write-ahead log); unset: no spool.
    pub const SPOOL_DIR: &str = "AUDITLOG_KAFKA_SPOOL_DIR";
    /// `always`, or milliseconds between fsyncs (default 10).
    pub const SPOOL_FSYNC: &str = "AUDITLOG_KAFKA_SPOOL_FSYNC";
    /// Bound on the spool's size on disk, in bytes (default 1 GiB).
    pub const SPOOL_MAX_BYTES: &str = "AUDITLOG_KAFKA_SPOOL_MAX_BYTES";
}

/// What `publish` does when `capacity` events are already in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// Refuse the new event at once with `SinkError::QueueFull` and count it
    /// as dropped. The caller never waits: the right choice on a request path.
    DropNewest,
    /// Wait up to this long for room, then refuse and count as
    /// `DropNewest` does. Backpressure for batch jobs.
    Wait(Duration),
    /// Write the event to the durable spool instead; it is sent from there
    /// when the queue has room again. The policy of every publisher with a
    /// [`spool`](KafkaConfig::spool) (set by it), and only of those.
    Spill,
}

/// A function choosing the message key of an event.
pub type KeyFn = Arc<dyn Fn(&AuditEvent) -> Option<Vec<u8>> + Send + Sync>;

/// The Kafka message key of each event (it decides the partition, and so
/// the order events of one key are read in).
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum MessageKey {
    /// The event's `tenantid` (no key when it has none): one tenant's events
    /// stay in order.
    #[default]
    TenantId,
    /// The event's `id`: spreads evenly, no order between events.
    EventId,
    /// No key: librdkafka's partitioner spreads them.
    None,
    /// Your function's bytes (`None`: no key).
    Function(KeyFn),
}

impl MessageKey {
    /// A key made by `f`.
    pub fn with(f: impl Fn(&AuditEvent) -> Option<Vec<u8>> + Send + Sync + 'static) -> Self {
        MessageKey::Function(Arc::new(f))
    }

    pub(crate) fn key_of<'e>(&self, event: &'e AuditEvent) -> Option<std::borrow::Cow<'e, [u8]>> {
        use std::borrow::Cow;
        match self {
            MessageKey::TenantId => event
                .tenantid
                .as_deref()
                .map(|t| Cow::Borrowed(t.as_bytes())),
            MessageKey::EventId => event.id.as_deref().map(|t| Cow::Borrowed(t.as_bytes())),
            MessageKey::None => None,
            MessageKey::Function(f) => f(event).map(Cow::Owned),
        }
    }
}

impl fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageKey::TenantId => "TenantId",
            MessageKey::EventId => "EventId",
            MessageKey::None => "None",
            MessageKey::Function(_) => "Function(..)",
        })
    }
}

/// Seals every event the publisher sends into one chain (see
/// `auditlog_seal::chain`): numbered, each linked to the one before under
/// `key`, with signed checkpoints. The chain's events are keyed by the chain
/// id, so they stay in one partition, in order.
#[derive(Clone)]
pub struct ChainConfig {
    pub(crate) id: Option<String>,
    pub(crate) key: ChainKey,
    pub(crate) every_events: Option<u64>,
    pub(crate) every: Option<Duration>,
}

impl fmt::Debug for ChainConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainConfig")
            .field("id", &self.id)
            .field("kid", &self.key.kid())
            .field("every_events", &self.every_events)
            .field("every", &self.every)
            .finish()
    }
}

impl ChainConfig {
    /// A chain sealed with `key`, a fresh chain id (a UUID) each time a
    /// publisher starts, a checkpoint every 1,000 events, every minute
    /// and at shutdown.
    pub fn new(key: ChainKey) -> Self {
        ChainConfig {
            id: None,
            key,
            every_events: Some(1000),
            every: Some(Duration::from_secs(60)),
        }
    }

    /// Names the chain (one chain has one writer: give each publisher its
    /// own id, e.g. the pod name).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// A checkpoint after this many events (`None`: not by count).
    pub fn checkpoint_every(mut self, events: Option<u64>) -> Self {
        self.every_events = events;
        self
    }

    /// A checkpoint when this much time has passed since the last, even
    /// with no events since: silence stays visible (`None`: not by time).
    pub fn checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.every = interval;
        self
    }
}

/// Properties whose values `Debug` hides.
fn is_secret(property: &str) -> bool {
    property.contains("password")
        || property.contains("secret")
        || property.ends_with(".key.pem")
        || property.contains("oauthbearer.config")
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: BTreeMap<&str, &str> = self
            .properties
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    if is_secret(k) {
                        "[redacted]"
                    } else {
                        v.as_str()
                    },
                )
            })
            .collect();
        f.debug_struct("KafkaConfig")
            .field("brokers", &self.brokers)
            .field("topic", &self.topic)
            .field("signing_key", &self.signing_key)
            .field("capacity", &self.capacity)
            .field("capacity_bytes", &self.capacity_bytes)
            .field("overflow", &self.overflow)
            .field("key", &self.key)
            .field("properties", &properties)
            .field("drop_flush_timeout", &self.drop_flush_timeout)
            .field("chain", &self.chain)
            .field("spool", &self.spool)
            .finish()
    }
}

impl KafkaConfig {
    /// Publishing to `brokers` (`host:port,...`) with the defaults.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaConfig {
            brokers: brokers.into(),
            topic: DEFAULT_TOPIC.to_owned(),
            signing_key: None,
            capacity: DEFAULT_CAPACITY,
            capacity_bytes: DEFAULT_CAPACITY_BYTES,
            overflow: Overflow::DropNewest,
            key: MessageKey::TenantId,
            properties: BTreeMap::new(),
            drop_flush_timeout: Duration::from_secs(5),
            chain: None,
            spool: None,
            key_chosen: false,
        }
    }

    /// From the variables in [`env`](mod@env): `AUDITLOG_KAFKA_BROKERS` is required.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok(), std::env::vars())
    }

    fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        all: impl Iterator<Item = (String, String)>,
    ) -> Result<Self> {
        let set = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let brokers = set(env::BROKERS).ok_or_else(|| Error::config(env::BROKERS, "not set"))?;
        let mut config = KafkaConfig::new(brokers.trim());
        if let Some(topic) = set(env::TOPIC) {
            config = config.topic(topic.trim());
        }
        config.signing_key = SigningKey::from_env(env::SIGNING_KEY)
            .map_err(|e| Error::config(env::SIGNING_KEY, e.to_string()))?;
        if let Some(capacity) = set(env::CAPACITY) {
            let capacity = capacity
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&c| c > 0)
                .ok_or_else(|| Error::config(env::CAPACITY, "expected a positive number"))?;
            config = config.capacity(capacity);
        }
        if let Some(bytes) = set(env::CAPACITY_BYTES) {
            let bytes = bytes
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&b| b > 0)
                .ok_or_else(|| {
                    Error::config(env::CAPACITY_BYTES, "expected a positive number of bytes")
                })?;
            config = config.capacity_bytes(bytes);
        }
        if let Some(overflow) = set(env::OVERFLOW) {
            let overflow = overflow
                .trim()
                .parse()
                .map_err(|e: ParseSettingError| Error::config(env::OVERFLOW, e.to_string()))?;
            config = config.overflow(overflow);
        }
        if let Some(key) = set(env::KEY) {
            config = config.message_key(match key.trim() {
                "tenant" | "tenantid" => MessageKey::TenantId,
                "id" => MessageKey::EventId,
                "none" => MessageKey::None,
                _ => return Err(Error::config(env::KEY, "expected tenant, id or none")),
            });
        }
        if let Some(dir) = set(env::SPOOL_DIR) {
            let mut spool = SpoolConfig::new(dir.trim());
            if let Some(fsync) = set(env::SPOOL_FSYNC) {
                spool = spool.fsync(fsync.trim().parse().map_err(|e: ParseSettingError| {
                    Error::config(env::SPOOL_FSYNC, e.to_string())
                })?);
            }
            if let Some(bytes) = set(env::SPOOL_MAX_BYTES) {
                let bytes = bytes
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|&b| b > 0)
                    .ok_or_else(|| {
                        Error::config(env::SPOOL_MAX_BYTES, "expected a positive number of bytes")
                    })?;
                spool = spool.max_bytes(bytes);
            }
            config = config.spool(spool);
        }
        for (name, value) in all {
            if let Some(property) = name.strip_prefix(env::PROPERTY_PREFIX) {
                let property = property.to_ascii_lowercase().replace('_', ".");
                config = config.set(property, value);
            }
        }
        Ok(config)
    }

    /// The topic (default `audit-logs`).
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = topic.into();
        self
    }

    /// Signs every event with `key` (HMAC-SHA256) as well as hashing it.
    pub fn signing_key(mut self, key: Option<SigningKey>) -> Self {
        self.signing_key = key;
        self
    }

    /// At most this many events accepted and not yet delivered or failed
    /// (default 50,000): the bound on the publisher's memory.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// At most this many bytes of sealed JSON accepted and not yet
    /// delivered or failed (default 128 MiB): with [`capacity`](Self::capacity),
    /// the bound on the publisher's memory whatever the events' size. An
    /// event that does not fit meets the overflow policy like one that
    /// finds the queue full (counted as `dropped_queue_bytes`). Chained
    /// events without a spool are admitted while anything is left (their
    /// size is known only once sealed into the chain), so they may pass it
    /// by one message.
    pub fn capacity_bytes(mut self, bytes: usize) -> Self {
        self.capacity_bytes = bytes.max(1);
        self
    }

    /// What happens to an event that finds the queue full (default: dropped
    /// and counted, at once).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// The message key (default: the tenant id).
    pub fn message_key(mut self, key: MessageKey) -> Self {
        self.key = key;
        self.key_chosen = true;
        self
    }

    /// Seals events into a chain with checkpoints instead of sealing each
    /// alone (the chain's key replaces [`signing_key`](Self::signing_key));
    /// messages are keyed by the chain id, so do not also set a
    /// [`message_key`](Self::message_key).
    pub fn chain(mut self, chain: ChainConfig) -> Self {
        self.chain = Some(chain);
        self
    }

    /// A durable spool (see [`SpoolConfig`]): every event is written to it
    /// before `publish` returns (unless `write_ahead(false)`: then only
    /// events that find the queue full or whose delivery failed), and a
    /// full queue spills into it ([`Overflow::Spill`]). What it holds
    /// survives a crash and is sent when a publisher next opens it.
    pub fn spool(mut self, spool: SpoolConfig) -> Self {
        self.spool = Some(spool);
        self.overflow = Overflow::Spill;
        self
    }

    /// Settings that contradict each other.
    pub(crate) fn validate(&self) -> Result<()> {
        match (&self.spool, self.overflow) {
            (Some(_), Overflow::Spill) | (None, Overflow::DropNewest | Overflow::Wait(_)) => {}
            (Some(_), _) => {
                return Err(Error::config(
                    "overflow",
                    "with a spool, a full queue spills into it (Overflow::Spill); the spool's own policy (SpoolConfig::when_full) says what happens when it is full",
                ))
            }
            (None, _) => {
                return Err(Error::config(
                    "overflow",
                    "Overflow::Spill needs a spool (KafkaConfig::spool)",
                ))
            }
        }
        if self.chain.is_some() && self.key_chosen {
            return Err(Error::config(
                "message_key",
                "a chain's messages are keyed by the chain id (so they stay in one partition, in order); do not set a message key with a chain",
            ));
        }
        Ok(())
    }

    /// Any librdkafka property (`security.protocol`, `sasl.username`,
    /// `message.timeout.ms`, ...), applied after the defaults.
    pub fn set(mut self, property: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(property.into(), value.into());
        self
    }

    /// How long dropping a publisher that was not shut down waits for
    /// delivery before giving up on the rest (default 5 s).
    pub fn drop_flush_timeout(mut self, timeout: Duration) -> Self {
        self.drop_flush_timeout = timeout;
        self
    }

    /// How long librdkafka keeps a message before it fails
    /// (`message.timeout.ms`, 0 meaning forever); messages waiting for room
    /// in its queue get as long.
    pub(crate) fn message_timeout(&self) -> Duration {
        let ms = self
            .properties
            .get("message.timeout.ms")
            .and_then(|ms| ms.trim().parse::<u64>().ok())
            .unwrap_or(300_000);
        match ms {
            0 => Duration::from_secs(100 * 365 * 24 * 3600),
            ms => Duration::from_millis(ms),
        }
    }

    /// The librdkafka client configuration: defaults, then the properties.
    pub(crate) fn client_config(&self) -> rdkafka::ClientConfig {
        let mut config = rdkafka::ClientConfig::new();
        // librdkafka counts messages until their delivery report is served,
        // a little after our own count drops; leave it room so it never
        // refuses what the publisher's gate let through.
        let librdkafka_queue = self
            .capacity
            .saturating_mul(2)
            .saturating_add(1000)
            .min(i32::MAX as usize);
        let librdkafka_kbytes = (self.capacity_bytes / 1024)
            .saturating_mul(2)
            .saturating_add(1024)
            .min(2_097_151);
        config
            .set("bootstrap.servers", &self.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "300000")
            .set("queue.buffering.max.messages", librdkafka_queue.to_string())
            .set("queue.buffering.max.kbytes", librdkafka_kbytes.to_string());
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

impl FromStr for Overflow {
    type Err = ParseSettingError;

    /// `drop` ([`DropNewest`](Overflow::DropNewest)) or `wait:<milliseconds>`,
    /// as in `AUDITLOG_KAFKA_OVERFLOW`.
    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        if text == "drop" {
            return Ok(Overflow::DropNewest);
        }
        text.strip_prefix("wait:")
            .and_then(|ms| ms.parse::<u64>().ok())
            .map(|ms| Overflow::Wait(Duration::from_millis(ms)))
            .ok_or_else(|| ParseSettingError::new("drop or wait:<milliseconds>", text))
    }
}

impl FromStr for Fsync {
    type Err = ParseSettingError;

    /// `always`, or a number of milliseconds between fsyncs (as in
    /// `AUDITLOG_KAFKA_SPOOL_FSYNC`).
    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        if text == "always" {
            return Ok(Fsync::Always);
        }
        text.parse::<u64>()
            .ok()
            .filter(|&ms| ms > 0)
            .map(|ms| Fsync::Every(Duration::from_millis(ms)))
            .ok_or_else(|| ParseSettingError::new("always or a number of milliseconds", text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, &str)]) -> Result<KafkaConfig> {
        let owned: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |name: &str| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        KafkaConfig::from_lookup(get, owned.clone().into_iter())
    }

    #[test]
    fn environment_sets_every_setting() {
        let config = lookup(&[
            (env::BROKERS, "a:9092,b:9092"),
            (env::TOPIC, "audit"),
            (env::CAPACITY, "10"),
            (env::OVERFLOW, "wait:250"),
            (env::KEY, "id"),
            ("AUDITLOG_KAFKA_PROPERTY_SASL_PASSWORD", "hunter2"),
            ("AUDITLOG_KAFKA_PROPERTY_LINGER_MS", "20"),
        ])
        .unwrap();
        assert_eq!(config.brokers, "a:9092,b:9092");
        assert_eq!(config.topic, "audit");
        assert_eq!(config.capacity, 10);
        assert_eq!(config.overflow, Overflow::Wait(Duration::from_millis(250)));
        assert!(matches!(config.key, MessageKey::EventId));
        assert_eq!(config.properties["linger.ms"], "20");
        let client = config.client_config();
        assert_eq!(client.get("linger.ms"), Some("20"));
        assert_eq!(client.get("enable.idempotence"), Some("true"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("sasl.password"), "{debug}");
    }

    #[test]
    fn missing_brokers_and_bad_values_name_the_variable() {
        let err = lookup(&[]).unwrap_err();
        assert_eq!(err.to_string(), "AUDITLOG_KAFKA_BROKERS: not set");
        let err = lookup(&[(env::BROKERS, "b"), (env::OVERFLOW, "sometimes")]).unwrap_err();
        assert!(
            err.to_string().starts_with("AUDITLOG_KAFKA_OVERFLOW:"),
            "{err}"
        );
        let err = lookup(&[(env::BROKERS, "b"), (env::CAPACITY, "0")]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("AUDITLOG_KAFKA_QUEUE_CAPACITY:"),
            "{err}"
        );
    }

    #[test]
    fn keys() {
        let event = AuditEvent::builder().tenant_id("t1").id("e1").build();
        assert_eq!(
            MessageKey::TenantId.key_of(&event).as_deref(),
            Some(&b"t1"[..])
        );
        assert_eq!(
            MessageKey::EventId.key_of(&event).as_deref(),
            Some(&b"e1"[..])
        );
        assert_eq!(MessageKey::None.key_of(&event), None);
        let custom = MessageKey::with(|e| e.id.as_ref().map(|id| format!("x-{id}").into_bytes()));
        assert_eq!(custom.key_of(&event).as_deref(), Some(&b"x-e1"[..]));
    }
}
