//! Verifying a whole stream: each line on its own, then each chain as a
//! whole, into a [`StreamReport`](crate::StreamReport).

mod chain_id;
mod checked;
mod members;
mod positions;
mod state;
mod verifier;

pub use checked::{CheckedLine, LineChecker};
pub use verifier::StreamVerifier;
