//! Chains: each publisher numbers its events and links each to the one
//! before, under its key, and now and then signs a checkpoint of how long the
//! chain is.
//!
//! The chain lives in members of `security` that the v1 model of the Python
//! library ignores (it still verifies the hash and signature of a chained
//! event unchanged):
//!
//! | member | on | what |
//! |---|---|---|
//! | `chain` | events, checkpoints | the chain id |
//! | `seq` | events | position, from 1 |
//! | `prev` | events after the first | the `hash` of event `seq - 1` |
//! | `kid` | events, checkpoints | the key that made `link` (and `signature`) |
//! | `link` | events, checkpoints | HMAC-SHA256 or Ed25519 signature over the link message |
//! | `length` | checkpoints | how many events the chain had |
//! | `head` | checkpoints | the `hash` of event `length` |
//!
//! The link message of an event is the ASCII text
//! `auditlog.link.v1\n{chain}\n{seq}\n{prev}\n{hash}\n{kid}` (`prev` empty on
//! the first event), that of a checkpoint
//! `auditlog.checkpoint.v1\n{chain}\n{length}\n{head}\n{hash}\n{kid}` (`head`
//! empty when `length` is 0). Ids are kept to an alphabet without line breaks
//! and hashes to 64 hex digits, so each message reads one way only. A
//! checkpoint is itself a v1 event (`action.name` = `auditlog.checkpoint`), so
//! it travels and verifies like any other.
//!
//! ```
//! use auditlog_core::AuditEvent;
//! use auditlog_seal::{ChainKey, ChainSealer, Keyring, SigningKey, StreamVerifier};
//!
//! let key = ChainKey::hmac("2026-11", SigningKey::new("k").unwrap()).unwrap();
//! let mut sealer = ChainSealer::new("orders-api-0", key.clone()).unwrap();
//! let mut lines = Vec::new();
//! for name in ["login", "orders.create", "logout"] {
//!     let mut event = AuditEvent::builder().action_name(name).build();
//!     lines.push(sealer.seal_to_json(&mut event));
//! }
//! lines.push(sealer.checkpoint().published_json());
//!
//! let mut ring = Keyring::new();
//! ring.add(key).unwrap();
//! let mut verifier = StreamVerifier::new(&ring);
//! lines.remove(1); // an event goes missing
//! for (number, line) in (1..).zip(&lines) {
//!     verifier.feed(number, line);
//! }
//! let report = verifier.finish();
//! assert!(!report.is_clean());
//! assert_eq!(report.chains["orders-api-0"].missing, [2..=2]);
//! ```

use std::time::{Duration, Instant};

use auditlog_core::{AuditEvent, Security};

pub use crate::error::ChainError;
use crate::keyring::{ChainKey, Keyring};
use crate::seal::{compute_hash, hash_hex, seal_with, sign};
use crate::wire::{checked_id, checkpoint_message, is_hash, link_message};

/// `action.name` of checkpoint events.
pub const CHECKPOINT_ACTION: &str = "auditlog.checkpoint";

/// Seals one publisher's events into a chain, in the order they are
/// published. Not `Sync`-shared: a chain has one writer; run one sealer per
/// producer (per pod, per partition) with its own chain id.
#[derive(Debug)]
pub struct ChainSealer {
    chain: String,
    key: ChainKey,
    length: u64,
    head: Option<String>,
    every_events: Option<u64>,
    every: Option<Duration>,
    since_checkpoint: u64,
    last_checkpoint: Instant,
}

impl ChainSealer {
    /// A new, empty chain.
    pub fn new(chain: impl Into<String>, key: ChainKey) -> Result<Self, ChainError> {
        Self::resume(chain, key, 0, None)
    }

    /// Continues a chain that already has `length` events, the last with
    /// hash `head` (e.g. from the last checkpoint, after a restart).
    pub fn resume(
        chain: impl Into<String>,
        key: ChainKey,
        length: u64,
        head: Option<String>,
    ) -> Result<Self, ChainError> {
        let valid_head = match &head {
            None => length == 0,
            Some(h) => length > 0 && is_hash(h),
        };
        if !valid_head {
            return Err(ChainError::InvalidResume);
        }
        Ok(ChainSealer {
            chain: checked_id(chain.into(), "chain id")?,
            key,
            length,
            head,
            every_events: None,
            every: None,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
        })
    }

    /// Continues the chain of `checkpoint` (e.g. the last one a publisher
    /// wrote before it stopped) with `key`, after checking the checkpoint's
    /// hash and link against `keys`.
    pub fn resume_after(
        checkpoint: &AuditEvent,
        keys: &Keyring,
        key: ChainKey,
    ) -> Result<Self, ChainError> {
        let bad = |reason: &'static str| ChainError::InvalidCheckpoint { reason };
        let security = checkpoint
            .security
            .as_ref()
            .ok_or(bad("no security block"))?;
        let (Some(chain), Some(length), Some(kid), Some(link), Some(hash)) = (
            security.chain.as_deref(),
            security.length,
            security.kid.as_deref(),
            security.link.as_deref(),
            security.hash.as_deref(),
        ) else {
            return Err(bad(
                "not a checkpoint: chain, length, kid, link or hash missing",
            ));
        };
        if compute_hash(checkpoint) != hash {
            return Err(bad("hash mismatch"));
        }
        let (_, verifier) = keys
            .lookup(kid)
            .ok_or(bad("its key is not in the keyring"))?;
        let message = checkpoint_message(chain, length, security.head.as_deref(), hash, kid);
        if !verifier.check(&message, link) {
            return Err(bad("link mismatch"));
        }
        Self::resume(chain, key, length, security.head.clone())
    }

    /// A fresh chain id (a UUID v4), for a publisher that starts a new chain
    /// on each start.
    pub fn new_chain_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    /// A checkpoint is due after this many events.
    #[must_use]
    pub fn checkpoint_every(mut self, events: u64) -> Self {
        self.every_events = Some(events.max(1));
        self
    }

    /// A checkpoint is due when this much time has passed since the last,
    /// also when nothing was sealed since: a heartbeat, so that silence is
    /// visible (call [`checkpoint_due`](Self::checkpoint_due) from a timer).
    #[must_use]
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.every = Some(interval);
        self
    }

    /// Seals the following events with `key`. The old key should stay in
    /// verifiers' keyrings (retired) to verify what it sealed.
    pub fn rotate(&mut self, key: ChainKey) {
        self.key = key;
    }

    /// The chain id written to `security.chain`.
    pub fn chain_id(&self) -> &str {
        &self.chain
    }

    /// The key that seals the next event.
    pub fn key(&self) -> &ChainKey {
        &self.key
    }

    /// Events sealed into the chain so far.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The hash of the last event sealed.
    pub fn head(&self) -> Option<&str> {
        self.head.as_deref()
    }

    /// The `security` block of the next event, given its content hash.
    fn next_security(&mut self, hash: String) -> Security {
        let seq = self.length + 1;
        let prev = self.head.take();
        let link = self.key.authenticate(&link_message(
            &self.chain,
            seq,
            prev.as_deref(),
            &hash,
            self.key.kid(),
        ));
        self.length = seq;
        self.head = Some(hash.clone());
        self.since_checkpoint += 1;
        Security {
            chain: Some(self.chain.clone()),
            signature: self.key.hmac_key().map(|key| sign(&hash, key)),
            hash: Some(hash),
            kid: Some(self.key.kid().to_owned()),
            link: Some(link),
            prev,
            seq: Some(seq),
            ..Security::default()
        }
    }

    /// Seals `event` as the next in the chain.
    pub fn seal(&mut self, event: &mut AuditEvent) {
        let hash = compute_hash(event);
        event.security = Some(self.next_security(hash));
    }

    /// Seals `event` as the next in the chain and appends its published form
    /// to `out`, serializing it once.
    pub fn seal_into(&mut self, event: &mut AuditEvent, out: &mut Vec<u8>) {
        seal_with(event, out, |canonical| {
            self.next_security(hash_hex(canonical))
        });
    }

    /// Seals `event` as the next in the chain and returns its published form.
    pub fn seal_to_json(&mut self, event: &mut AuditEvent) -> String {
        let mut out = Vec::with_capacity(1400);
        self.seal_into(event, &mut out);
        String::from_utf8(out).expect("published JSON is ASCII")
    }

    /// True when a checkpoint is due: as many events as set with
    /// [`checkpoint_every`](Self::checkpoint_every) were sealed since the
    /// last one, or the [`checkpoint_interval`](Self::checkpoint_interval)
    /// has passed.
    pub fn checkpoint_due(&self) -> bool {
        let by_count = self
            .every_events
            .is_some_and(|n| self.since_checkpoint > 0 && self.since_checkpoint >= n);
        let by_time = self
            .every
            .is_some_and(|t| self.last_checkpoint.elapsed() >= t);
        by_count || by_time
    }

    /// A sealed checkpoint of the chain as it is now: a v1 event
    /// (`action.name` = `auditlog.checkpoint`, `objectref` = the chain) whose
    /// `security` carries `length` and `head` under `link`.
    pub fn checkpoint(&mut self) -> AuditEvent {
        let mut event = AuditEvent::builder()
            .action_name(CHECKPOINT_ACTION)
            .severity("INFO")
            .status("SUCCESS")
            .resource("auditlog.chain")
            .resource_id(self.chain.clone())
            .build();
        let hash = compute_hash(&event);
        let link = self.key.authenticate(&checkpoint_message(
            &self.chain,
            self.length,
            self.head.as_deref(),
            &hash,
            self.key.kid(),
        ));
        event.security = Some(Security {
            chain: Some(self.chain.clone()),
            signature: self.key.hmac_key().map(|key| sign(&hash, key)),
            hash: Some(hash),
            head: self.head.clone(),
            kid: Some(self.key.kid().to_owned()),
            length: Some(self.length),
            link: Some(link),
            ..Security::default()
        });
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StreamVerifier;
    use crate::{verify, SigningKey};

    fn key() -> ChainKey {
        ChainKey::hmac("k1", SigningKey::new("k").unwrap()).unwrap()
    }

    #[test]
    fn events_are_numbered_and_linked_to_the_previous_hash() {
        let mut sealer = ChainSealer::new("c", key()).unwrap();
        let mut first = AuditEvent::builder().action_name("a").build();
        let mut second = AuditEvent::builder().action_name("b").build();
        sealer.seal(&mut first);
        let published = sealer.seal_to_json(&mut second);
        let (one, two) = (first.security.unwrap(), second.security.clone().unwrap());
        assert_eq!((one.seq, two.seq), (Some(1), Some(2)));
        assert_eq!(one.prev, None);
        assert_eq!(two.prev, one.hash);
        assert_eq!(sealer.head(), two.hash.as_deref());
        assert_eq!(published, second.published_json());
        // The v1 seal is untouched: hash and HMAC signature verify as before.
        assert_eq!(verify(&second, SigningKey::new("k").as_ref()), Ok(()));
    }

    #[test]
    fn checkpoints_are_due_by_count_and_say_length_and_head() {
        let mut sealer = ChainSealer::new("c", key()).unwrap().checkpoint_every(2);
        assert!(!sealer.checkpoint_due());
        let mut event = AuditEvent::builder().build();
        sealer.seal(&mut event);
        assert!(!sealer.checkpoint_due());
        sealer.seal(&mut AuditEvent::builder().build());
        assert!(sealer.checkpoint_due());
        let checkpoint = sealer.checkpoint();
        assert!(!sealer.checkpoint_due());
        let security = checkpoint.security.as_ref().unwrap();
        assert_eq!(security.length, Some(2));
        assert_eq!(security.head.as_deref(), sealer.head());
        assert_eq!(security.seq, None);
        assert_eq!(
            checkpoint.action.as_ref().unwrap().name.as_deref(),
            Some(CHECKPOINT_ACTION)
        );
        assert_eq!(verify(&checkpoint, SigningKey::new("k").as_ref()), Ok(()));
    }

    #[test]
    fn checkpoints_are_due_by_time_also_when_idle() {
        let idle = ChainSealer::new("c", key())
            .unwrap()
            .checkpoint_interval(Duration::ZERO);
        assert!(idle.checkpoint_due());
        let never = ChainSealer::new("c", key())
            .unwrap()
            .checkpoint_interval(Duration::from_secs(3600));
        assert!(!never.checkpoint_due());
    }

    #[test]
    fn resuming_needs_a_consistent_head() {
        assert_eq!(
            ChainSealer::resume("c", key(), 3, None).unwrap_err(),
            ChainError::InvalidResume
        );
        assert!(ChainSealer::resume("c", key(), 0, Some("a".repeat(64))).is_err());
        let sealer = ChainSealer::resume("c", key(), 3, Some("a".repeat(64))).unwrap();
        assert_eq!(sealer.length(), 3);
        assert!(ChainSealer::new("c d", key()).is_err());
    }

    #[test]
    fn a_chain_resumes_after_its_checkpoint_and_verifies_as_one() {
        let mut keys = Keyring::new();
        keys.add(key()).unwrap();
        let mut first = ChainSealer::new("c", key()).unwrap();
        let mut lines = vec![first.seal_to_json(&mut AuditEvent::builder().build())];
        let checkpoint = first.checkpoint();
        lines.push(checkpoint.published_json());
        let mut second = ChainSealer::resume_after(&checkpoint, &keys, key()).unwrap();
        lines.push(second.seal_to_json(&mut AuditEvent::builder().build()));
        let mut verifier = StreamVerifier::new(&keys);
        for (number, line) in (1..).zip(&lines) {
            verifier.feed(number, line);
        }
        let report = verifier.finish();
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.chains["c"].last, Some(2));

        let mut forged = checkpoint.clone();
        forged.security.as_mut().unwrap().length = Some(7);
        assert_eq!(
            ChainSealer::resume_after(&forged, &keys, key()).unwrap_err(),
            ChainError::InvalidCheckpoint {
                reason: "link mismatch"
            }
        );
        let mut edited = checkpoint;
        edited.tenantid = Some("t".into());
        assert!(ChainSealer::resume_after(&edited, &keys, key()).is_err());
    }

    #[test]
    fn ed25519_chains_carry_no_hmac_signature() {
        let key = ChainKey::ed25519("ed", &[1; 32]).unwrap();
        let mut sealer = ChainSealer::new("c", key).unwrap();
        let mut event = AuditEvent::builder().build();
        sealer.seal(&mut event);
        let security = event.security.as_ref().unwrap();
        assert_eq!(security.signature, None);
        assert_eq!(security.link.as_ref().map(String::len), Some(128));
    }
}
