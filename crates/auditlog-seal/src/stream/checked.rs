//! One line of a stream checked on its own: parsed, held to its published
//! form, its seal and link checked. That needs only the keys, so it can run
//! on any thread; the verifier then records the results in stream order
//! (positions, duplicates, conflicts), which is the part that cannot.

use std::cell::{Cell, RefCell};

use auditlog_core::{AuditEvent, Security};

use super::chain_id::ChainId;
use super::members::{common, uncovered};
use super::positions::Position;
use super::state::SeenCheckpoint;
use crate::keyring::Keyring;
use crate::published::uncovered_members;
use crate::report::LineFailure;
use crate::seal::ComputedHash;
use crate::verify::KEPT_LINE_MAX;
use crate::verify::{published_form_hash, verify_hash, Strictness, VerifyError};
use crate::wire::{checkpoint_message, decode_hash, link_message};

/// Checks lines on their own, on any thread; made by
/// [`StreamVerifier::line_checker`](crate::StreamVerifier::line_checker).
/// Record each result with
/// [`StreamVerifier::record`](crate::StreamVerifier::record), in stream order.
#[derive(Debug, Clone, Copy)]
pub struct LineChecker<'k> {
    pub(super) keys: &'k Keyring,
    pub(super) strictness: Strictness,
}

/// A line checked on its own, waiting to be recorded in stream order.
#[derive(Debug)]
pub struct CheckedLine(pub(super) Checked);

#[derive(Debug)]
pub(super) enum Checked {
    /// The line failed; `chain` and `seq` as it claims them, for the report.
    Failed {
        chain: Option<String>,
        seq: Option<u64>,
        failure: LineFailure,
    },
    /// A sealed event outside any chain, its seal valid.
    Unchained,
    /// A chained event whose link holds. `content` is its seal: a bad seal at
    /// an authentic position is reported after the position is recorded.
    Event {
        chain: ChainId,
        seq: u64,
        position: Position,
        content: Result<(), VerifyError>,
        unknown: Vec<String>,
    },
    /// A checkpoint whose link and seal hold.
    Checkpoint {
        chain: String,
        checkpoint: SeenCheckpoint,
        unknown: Vec<String>,
    },
}

impl LineChecker<'_> {
    /// Checks one line (an event or a checkpoint) on its own.
    pub fn check(&self, text: &str) -> CheckedLine {
        CheckedLine(self.checked(text))
    }

    fn checked(&self, text: &str) -> Checked {
        EVENT.with_borrow_mut(|event| {
            let checked = self.checked_into(event, text);
            // A huge line's buffers are not kept for the thread's life.
            if text.len() > KEPT_LINE_MAX {
                *event = AuditEvent::default();
            }
            checked
        })
    }

    /// Checks `text`, read into `event` (what the thread's previous line
    /// left there: `parse_into` reuses its buffers and keeps none of it).
    fn checked_into(&self, event: &mut AuditEvent, text: &str) -> Checked {
        if let Err(e) = event.parse_into(text) {
            return failed(None, LineFailure::Parse(e.to_string()));
        }
        let event = &*event;
        // Strict reading hashes the same serialization it compares with.
        let (unknown, hash) = match self.strictness {
            Strictness::Strict => match published_form_hash(text, event) {
                Err(offset) => {
                    let failure = LineFailure::NotPublishedForm { offset };
                    return failed(event.security.as_ref(), failure);
                }
                Ok(hash) => (Vec::new(), Some(hash)),
            },
            Strictness::Lenient => (uncovered_members(text, event), None),
        };
        let hash = hash.as_ref();
        let Some(security) = event.security.as_ref().filter(|s| s.hash.is_some()) else {
            return failed(None, LineFailure::Seal(VerifyError::MissingHash));
        };
        let checked = match (security.seq, security.length) {
            (None, None) => {
                // No chain: only the v1 seal can be checked, with a key that
                // answers for any id if there is one.
                let key = self.keys.lookup("").and_then(|(_, v)| v.hmac_key());
                verify_hash(event, hash.map(|h| &h.hex[..]), key)
                    .map(|()| Checked::Unchained)
                    .map_err(LineFailure::Seal)
            }
            (Some(_), Some(_)) => Err(LineFailure::Malformed("security: both seq and length")),
            (Some(seq), None) => self.event(event, hash, security, seq, unknown),
            (None, Some(length)) => self.checkpoint(event, hash, security, length, unknown),
        };
        checked.unwrap_or_else(|failure| failed(Some(security), failure))
    }

    fn event(
        &self,
        event: &AuditEvent,
        hash: Option<&ComputedHash>,
        security: &Security,
        seq: u64,
        unknown: Vec<String>,
    ) -> Result<Checked, LineFailure> {
        let c = common(security, hash)?;
        if seq == 0 {
            return Err(LineFailure::Malformed("security.seq"));
        }
        let (prev, prev_bytes) = match (seq, security.prev.as_deref()) {
            (1, None) => (None, None),
            (1, Some(_)) => return Err(LineFailure::Malformed("security.prev")),
            (_, None) => return Err(LineFailure::MissingField("security.prev")),
            (_, Some(prev)) => match read_prev(prev) {
                Some(bytes) => (Some(prev), Some(bytes)),
                None => return Err(LineFailure::Malformed("security.prev")),
            },
        };
        if let Ok(hex) = c.hash.as_bytes().try_into() {
            LAST_HASH.set(Some(KnownHash {
                hex,
                bytes: c.hash_bytes,
            }));
        }
        let (rank, verifier) = self.keys.lookup(c.kid).ok_or(LineFailure::UnknownKey)?;
        let message = link_message(c.chain, seq, prev, c.hash, c.kid);
        let link = verifier
            .check_link(&message, c.link)
            .ok_or(LineFailure::Link)?;
        // The position is authentic from here on; the content may not be.
        Ok(Checked::Event {
            chain: ChainId::new(c.chain),
            seq,
            position: Position {
                hash: c.hash_bytes,
                prev: prev_bytes,
                link,
                rank,
                line: 0,
            },
            content: verify_hash(event, hash.map(|h| &h.hex[..]), verifier.hmac_key()),
            unknown: uncovered(security, verifier, unknown),
        })
    }

    fn checkpoint(
        &self,
        event: &AuditEvent,
        hash: Option<&ComputedHash>,
        security: &Security,
        length: u64,
        unknown: Vec<String>,
    ) -> Result<Checked, LineFailure> {
        let c = common(security, hash)?;
        if security.prev.is_some() {
            return Err(LineFailure::Malformed("security.prev"));
        }
        let (head, head_bytes) = match (length, security.head.as_deref()) {
            (0, None) => (None, None),
            (0, Some(_)) => return Err(LineFailure::Malformed("security.head")),
            (_, None) => return Err(LineFailure::MissingField("security.head")),
            (_, Some(head)) => match decode_hash(head) {
                Some(bytes) => (Some(head), Some(bytes)),
                None => return Err(LineFailure::Malformed("security.head")),
            },
        };
        let (_, verifier) = self.keys.lookup(c.kid).ok_or(LineFailure::UnknownKey)?;
        if !verifier.check(
            &checkpoint_message(c.chain, length, head, c.hash, c.kid),
            c.link,
        ) {
            return Err(LineFailure::Link);
        }
        let hash = hash.map(|h| &h.hex[..]);
        verify_hash(event, hash, verifier.hmac_key()).map_err(LineFailure::Seal)?;
        Ok(Checked::Checkpoint {
            chain: c.chain.to_owned(),
            checkpoint: SeenCheckpoint {
                length,
                head: head_bytes,
                line: 0,
            },
            unknown: uncovered(security, verifier, unknown),
        })
    }
}

thread_local! {
    /// One event per thread that checks lines, kept from line to line: each
    /// line is read into the previous one's buffers instead of allocating
    /// some thirty strings and freeing them again.
    static EVENT: RefCell<AuditEvent> = RefCell::new(AuditEvent::default());
}

/// A hash this thread read last: its digits as the line had them, and its
/// bytes.
#[derive(Debug, Clone, Copy)]
struct KnownHash {
    hex: [u8; 64],
    bytes: [u8; 32],
}

thread_local! {
    /// The hash of the last chained event this thread checked. In a chain
    /// read in order (a batch is consecutive lines) it is the next line's
    /// `prev`, whose digits then need not be read again.
    static LAST_HASH: Cell<Option<KnownHash>> = const { Cell::new(None) };
}

/// The bytes of `prev`, when it is a hash: those of the hash this thread
/// read last when it has the same digits (which read as those bytes), else
/// read from its digits.
fn read_prev(prev: &str) -> Option<[u8; 32]> {
    match LAST_HASH.get() {
        Some(last) if last.hex[..] == *prev.as_bytes() => Some(last.bytes),
        _ => decode_hash(prev),
    }
}

fn failed(security: Option<&Security>, failure: LineFailure) -> Checked {
    Checked::Failed {
        chain: security.and_then(|s| s.chain.clone()),
        seq: security.and_then(|s| s.seq),
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker(keys: &Keyring) -> LineChecker<'_> {
        LineChecker {
            keys,
            strictness: Strictness::Strict,
        }
    }

    fn line(note: &str) -> String {
        let mut event = AuditEvent::from_json(&format!(
            r#"{{"id":"e-1","eventdata":{{"requestpayload":{{"note":"{note}"}}}}}}"#
        ))
        .unwrap();
        crate::seal(&mut event, None);
        event.published_json()
    }

    #[test]
    fn a_prev_is_read_as_its_digits_say_whatever_was_read_before() {
        let hash = crate::seal::computed_hash(b"x");
        let digits = std::str::from_utf8(&hash.hex).unwrap().to_owned();
        LAST_HASH.set(Some(KnownHash {
            hex: hash.hex,
            bytes: hash.bytes,
        }));
        assert_eq!(read_prev(&digits), Some(hash.bytes));
        let other = crate::seal::computed_hash(b"y");
        assert_eq!(
            read_prev(std::str::from_utf8(&other.hex).unwrap()),
            Some(other.bytes)
        );
        // The same digits in upper case, or one short, are no hash.
        assert_eq!(read_prev(&digits.to_uppercase()), None);
        assert_eq!(read_prev(&digits[..63]), None);
        assert_eq!(read_prev(&format!("{digits}0")), None);
    }

    #[test]
    fn a_thread_keeps_the_buffers_of_ordinary_lines_only() {
        let keys = Keyring::new();
        let checker = checker(&keys);
        let ordinary = line("short");
        assert!(matches!(checker.checked(&ordinary), Checked::Unchained));
        // Kept: the next line is read into it.
        assert_ne!(EVENT.with_borrow(Clone::clone), AuditEvent::default());
        let huge = line(&"x".repeat(KEPT_LINE_MAX));
        assert!(matches!(checker.checked(&huge), Checked::Unchained));
        assert_eq!(EVENT.with_borrow(Clone::clone), AuditEvent::default());
        // And the thread goes on reading lines as before.
        assert!(matches!(checker.checked(&ordinary), Checked::Unchained));
    }
}
