//! With `--db`: an `SqlRelay` in the background sends the recorded order
//! events to the demo's topic, and at shutdown relays until nothing is
//! undelivered.

use std::time::Duration;

use auditlog_kafka::LineProducer;
use auditlog_sql::{AnyPool, Error, SqlRelay};
use sqlx::SqlitePool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long the relay waits before looking again when nothing was ready.
const POLL: Duration = Duration::from_millis(100);

/// The background relay; [`finish`](Outbox::finish) stops it.
pub(crate) struct Outbox {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<u64, String>>,
}

impl Outbox {
    /// Starts relaying the audit table in `pool` to `topic`.
    pub(crate) fn start(
        pool: &SqlitePool,
        bootstrap: &str,
        topic: &str,
        drain_timeout: Duration,
    ) -> Result<Self, String> {
        let producer = LineProducer::new(bootstrap, topic, &[])
            .map_err(|e| format!("cannot create the relay's Kafka producer: {e}"))?;
        let relay = SqlRelay::new(AnyPool::Sqlite(pool.clone()), producer);
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut relayed = 0;
            while !*stopped.borrow() {
                if round(&relay, &mut relayed).await == 0 {
                    tokio::select! {
                        () = tokio::time::sleep(POLL) => {}
                        _ = stopped.changed() => {}
                    }
                }
            }
            drain(&relay, &mut relayed, drain_timeout).await?;
            Ok(relayed)
        });
        Ok(Outbox { stop, task })
    }

    /// Stops the background rounds, relays what is left, and returns how
    /// many rows were relayed in all.
    pub(crate) async fn finish(self) -> Result<u64, String> {
        let _ = self.stop.send(true);
        self.task
            .await
            .map_err(|e| format!("the relay task failed: {e}"))?
    }
}

/// One round; returns the rows it relayed (failures are reported, and the
/// rows stay for a later round).
async fn round(relay: &SqlRelay, relayed: &mut u64) -> usize {
    match relay.relay_batch().await {
        Ok(batch) => {
            *relayed += batch.relayed as u64;
            batch.relayed
        }
        Err(error) => {
            if let Error::NotDelivered { delivered, .. } = &error {
                *relayed += *delivered as u64;
            }
            eprintln!("auditlog demo: relay: {error}");
            0
        }
    }
}

/// Relays until the table has nothing undelivered, or `timeout` passed.
async fn drain(relay: &SqlRelay, relayed: &mut u64, timeout: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        while round(relay, relayed).await > 0 {}
        let backlog = relay.backlog().await.map_err(|e| format!("relay: {e}"))?;
        if backlog.undelivered == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "relay: {} audit rows still undelivered after {timeout:?}",
                backlog.undelivered
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}
