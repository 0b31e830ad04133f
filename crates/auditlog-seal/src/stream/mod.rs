//! Verifying a whole stream: each line on its own, then each chain as a
//! whole, into a [`StreamReport`](crate::StreamReport).

mod members;
mod state;
mod verifier;

pub use verifier::StreamVerifier;
