//! Sealing an event into its published JSON and choosing its message key:
//! into the chain when there is one (in publishing order, under one lock),
//! else alone with the signing key.

use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};

use auditlog_core::AuditEvent;
use auditlog_seal::SigningKey;

use super::chain::Chain;
use crate::config::MessageKey;

/// How events are sealed and keyed when there is no chain.
#[derive(Debug)]
pub(super) struct Sealing {
    pub(super) key: MessageKey,
    pub(super) signing_key: Option<SigningKey>,
}

/// What must happen in publishing order, under one lock: sealing into the
/// chain, and choosing between the spool and librdkafka.
#[derive(Debug, Default)]
pub(super) struct Order {
    pub(super) chain: Option<Chain>,
}

/// The message key function panicked: a bug in it costs that event
/// (counted), not the lock it runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KeyPanicked;

impl Sealing {
    /// Seals `event` alone into `json`.
    pub(super) fn seal_alone(&self, event: &mut AuditEvent, json: &mut Vec<u8>) {
        auditlog_seal::seal_into(event, self.signing_key.as_ref(), json);
    }

    /// The message key of an event sealed alone.
    pub(super) fn key_of<'e>(
        &self,
        event: &'e AuditEvent,
    ) -> Result<Option<Cow<'e, [u8]>>, KeyPanicked> {
        catch_unwind(AssertUnwindSafe(|| self.key.key_of(event))).map_err(|_| KeyPanicked)
    }

    /// Seals `event` into `json` (into the chain, if there is one) and says
    /// its message key.
    pub(super) fn seal<'o>(
        &self,
        order: &'o mut Order,
        event: &mut AuditEvent,
        json: &mut Vec<u8>,
    ) -> Result<Option<Cow<'o, [u8]>>, KeyPanicked> {
        match order.chain.as_mut() {
            Some(chain) => {
                chain.sealer.seal_into(event, json);
                Ok(Some(Cow::Borrowed(chain.sealer.chain_id().as_bytes())))
            }
            None => {
                self.seal_alone(event, json);
                let key = self.key_of(event)?;
                Ok(key.map(|key| Cow::Owned(key.into_owned())))
            }
        }
    }
}
