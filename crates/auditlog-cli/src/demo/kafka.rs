//! Reading the demo's topic back on a thread of its own, from where the
//! topic ended when the demo started, verifying every event.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use auditlog_kafka::Unverified;
use auditlog_kafka::{StartAt, TopicReader};
use auditlog_seal::{SigningKey, Verified};

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// One event read back from the topic.
#[derive(Debug)]
pub(crate) struct Consumed {
    /// The message exactly as it was on the topic.
    pub(crate) line: String,
    pub(crate) verified: Result<Verified, Unverified>,
}

/// Reads the topic on its own thread, verifying each event, and sends them
/// on until stopped.
#[derive(Debug)]
pub(crate) struct Reader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    /// Starts reading every partition of `topic` at its current end (a fresh
    /// embedded topic is empty, so that is from the start).
    pub(crate) fn start(
        bootstrap: &str,
        topic: &str,
        key: Option<SigningKey>,
        out: tokio::sync::mpsc::UnboundedSender<Consumed>,
    ) -> Result<Self, String> {
        let reader = TopicReader::new(bootstrap, topic, &[], key, StartAt::End, METADATA_TIMEOUT)
            .map_err(|e| e.to_string())?;

        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("audit-reader".into())
            .spawn(move || {
                while !stopping.load(Relaxed) {
                    let Some(read) = reader.recv_timeout(Duration::from_millis(100)) else {
                        continue;
                    };
                    let read = match read {
                        Ok(read) => read,
                        Err(e) => {
                            eprintln!("auditlog demo: reading the topic failed: {e}");
                            continue;
                        }
                    };
                    let (line, verified) = (read.payload, read.verified);
                    if out.send(Consumed { line, verified }).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Reader {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
