//! Write-ahead auditing: the response waits until its event is durably
//! recorded (see [the crate docs](crate#write-ahead-auditing)).
//!
//! [`WriteAhead`] is the setting (on the audit layer, a route or one
//! request), [`WriteAheadLayer`] puts it on a route, and the response
//! future holds the response back on what `durable` confirms.

mod durable;
mod layer;
mod service;
pub(crate) mod setting;

pub(crate) use durable::{record, Confirmation};
pub use layer::WriteAheadLayer;
pub use service::WriteAheadService;
pub use setting::{WriteAhead, WriteAheadFailure, DEFAULT_WRITE_AHEAD_TIMEOUT};
