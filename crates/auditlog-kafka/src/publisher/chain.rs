//! Sealing into a chain, in publishing order, with checkpoints.

use std::time::Duration;

use auditlog_seal::ChainSealer;

use crate::config::ChainConfig;
use crate::error::{Error, Result};

/// The chain being sealed and what its last checkpoint covered.
#[derive(Debug)]
pub(super) struct Chain {
    pub(super) sealer: ChainSealer,
    /// The chain length the last checkpoint vouched for.
    pub(super) checkpointed: u64,
}

pub(super) fn start_chain(config: &ChainConfig) -> Result<Chain> {
    let id = config.id.clone().unwrap_or_else(ChainSealer::new_chain_id);
    let mut sealer = ChainSealer::new(id, config.key.clone())
        .map_err(|e| Error::config("chain", e.to_string()))?;
    if let Some(events) = config.every_events {
        sealer = sealer.checkpoint_every(events);
    }
    if let Some(every) = config.every {
        sealer = sealer.checkpoint_interval(every);
    }
    Ok(Chain {
        sealer,
        checkpointed: 0,
    })
}

/// Checkpoints on time, also when no events come: silence stays visible.
/// `tick_once` checkpoints if one is due; `false` when the publisher is gone
/// or closed.
pub(super) fn spawn_checkpoint_timer(
    every: Duration,
    mut tick_once: impl FnMut() -> bool + Send + 'static,
) {
    let tick = (every / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let spawned = std::thread::Builder::new()
        .name("auditlog-checkpoints".into())
        .spawn(move || loop {
            std::thread::sleep(tick);
            if !tick_once() {
                return;
            }
        });
    if let Err(error) = spawned {
        tracing::error!(target: "auditlog_kafka", "no checkpoint timer (checkpoints by count and at shutdown only): {error}");
    }
}
