//! The gate in front of librdkafka: a place per event (`capacity`) and
//! bytes of sealed JSON (`capacity_bytes`), taken when an event is admitted
//! and given back on its delivery report, or when it fails to be sent.

use tokio::sync::{Semaphore, SemaphorePermit};

use super::budget::ByteGate;
use super::ticket;

/// Places and bytes in flight against their bounds.
#[derive(Debug)]
pub(super) struct Admission {
    /// One permit per free place.
    places: Semaphore,
    /// The bound in bytes.
    pub(super) bytes: ByteGate,
}

/// What an event waits for when it is not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// A place (the capacity in events is reached).
    Place,
    /// This many bytes (the capacity in bytes is reached).
    Bytes(u64),
    /// Room in the spool.
    SpoolRoom,
}

impl Admission {
    pub(super) fn new(capacity: usize, bytes: u64) -> Self {
        Admission {
            places: Semaphore::new(capacity.min(Semaphore::MAX_PERMITS)),
            bytes: ByteGate::new(bytes),
        }
    }

    /// Takes a place if one is free now.
    pub(super) fn try_place(&self) -> bool {
        self.places
            .try_acquire()
            .map(SemaphorePermit::forget)
            .is_ok()
    }

    /// Takes a place, waiting for one until `deadline`; whether it did.
    /// Woken when a place comes back: no polling.
    pub(super) async fn place_by(&self, deadline: tokio::time::Instant) -> bool {
        match tokio::time::timeout_at(deadline, self.places.acquire()).await {
            Ok(Ok(permit)) => {
                permit.forget();
                true
            }
            _ => false,
        }
    }

    /// Takes a place and exactly `bytes`, or neither.
    pub(super) fn try_admit(&self, bytes: u64) -> bool {
        if !self.try_place() {
            return false;
        }
        if self.bytes.try_take(bytes) {
            return true;
        }
        self.give_back_place();
        false
    }

    /// Gives back a place taken for an event that did not go.
    pub(super) fn give_back_place(&self) {
        self.places.add_permits(1);
    }

    /// Gives back what a message of `bytes` sent with `ticket` held.
    pub(super) fn release(&self, ticket: usize, bytes: u64) {
        if ticket::is_gated(ticket) {
            self.give_back_place();
            self.bytes.give_back(bytes);
        }
    }

    /// Places free now.
    pub(super) fn free_places(&self) -> usize {
        self.places.available_permits()
    }

    /// Waits until what `need` names is there, or `deadline`; whether it
    /// is. A place is taken when it comes; bytes and spool room are only
    /// seen (the next attempt takes them). `SpoolRoom` is not the gate's
    /// to give: `false`.
    pub(super) async fn wait_for(&self, need: Need, deadline: tokio::time::Instant) -> bool {
        match need {
            Need::Place => self.place_by(deadline).await,
            Need::Bytes(bytes) => self.bytes.wait_for(bytes, deadline).await,
            Need::SpoolRoom => false,
        }
    }
}
