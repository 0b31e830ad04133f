//! Sealed events as JSON lines, to a file, stdout or any writer.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_seal::SigningKey;

use crate::{AuditSink, SinkError};

/// Writes each event, sealed, as one line of its published JSON: the format
/// `auditlog verify` and `auditlog query` read.
///
/// Lines go into a 64 KiB buffer; `publish` writes only when the buffer is
/// full (a local write, never the network), [`flush`](AuditSink::flush)
/// writes the rest. A write error refuses the event with
/// [`SinkError::Io`] and is counted ([`JsonLinesSink::failed`]).
pub struct JsonLinesSink {
    out: Mutex<BufWriter<Box<dyn Write + Send>>>,
    key: Option<SigningKey>,
    written: AtomicU64,
    failed: AtomicU64,
}

impl fmt::Debug for JsonLinesSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLinesSink")
            .field("key", &self.key)
            .field("written", &self.written())
            .field("failed", &self.failed())
            .finish_non_exhaustive()
    }
}

impl JsonLinesSink {
    /// Lines to `out`.
    pub fn new(out: impl Write + Send + 'static, key: Option<SigningKey>) -> Self {
        JsonLinesSink {
            out: Mutex::new(BufWriter::with_capacity(1 << 16, Box::new(out))),
            key,
            written: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    /// Lines to standard output.
    pub fn stdout(key: Option<SigningKey>) -> Self {
        Self::new(io::stdout(), key)
    }

    /// Lines appended to the file at `path` (created if missing).
    pub fn append_to(path: impl AsRef<Path>, key: Option<SigningKey>) -> io::Result<Self> {
        let file: File = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self::new(file, key))
    }

    /// Lines to the file at `path`, rotated once it reaches `max_bytes`
    /// (`path.1` is the newest rotated file; `keep` of them are kept).
    pub fn rotating(
        path: impl AsRef<Path>,
        max_bytes: u64,
        keep: usize,
        key: Option<SigningKey>,
    ) -> io::Result<Self> {
        Ok(Self::new(
            crate::RotatingFile::open(path, max_bytes, keep)?,
            key,
        ))
    }

    /// Events written (into the buffer or through it).
    pub fn written(&self) -> u64 {
        self.written.load(Relaxed)
    }

    /// Events refused because writing failed.
    pub fn failed(&self) -> u64 {
        self.failed.load(Relaxed)
    }

    fn write(&self, mut event: AuditEvent) -> Result<(), SinkError> {
        let mut line = Vec::with_capacity(1280);
        auditlog_seal::seal_into(&mut event, self.key.as_ref(), &mut line);
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        match out.write_all(&line) {
            Ok(()) => {
                self.written.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(e) => {
                self.failed.fetch_add(1, Relaxed);
                Err(SinkError::Io(e.to_string()))
            }
        }
    }
}

#[async_trait]
impl AuditSink for JsonLinesSink {
    async fn publish(&self, event: AuditEvent) -> Result<(), SinkError> {
        self.write(event)
    }

    /// Writes out the buffer (a local write: the timeout is not needed).
    async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        out.flush().map_err(|e| SinkError::Io(e.to_string()))
    }
}

impl Drop for JsonLinesSink {
    fn drop(&mut self) {
        let out = self.out.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = out.flush() {
            eprintln!("auditlog-sink: audit lines lost when the sink was dropped: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::other("disk full"))
        }
    }

    #[tokio::test]
    async fn lines_are_sealed_published_json_written_on_flush() {
        let out = Shared::default();
        let key = SigningKey::new("k").unwrap();
        let sink = JsonLinesSink::new(out.clone(), Some(key.clone()));
        for tenant in ["a", "b"] {
            let event = AuditEvent::builder().tenant_id(tenant).build();
            sink.publish(event).await.unwrap();
        }
        assert!(out.0.lock().unwrap().is_empty(), "buffered until flush");
        sink.flush(Duration::from_secs(1)).await.unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for (line, tenant) in lines.iter().zip(["a", "b"]) {
            let verified = auditlog_seal::verify_json(line, Some(&key)).unwrap();
            assert_eq!(verified.event.tenantid.as_deref(), Some(tenant));
        }
        assert_eq!((sink.written(), sink.failed()), (2, 0));
    }

    #[tokio::test]
    async fn write_errors_refuse_the_event_and_are_counted() {
        let sink = JsonLinesSink::new(Broken, None);
        // A line bigger than the buffer goes straight to the writer.
        let big = "x".repeat(70_000);
        let event = AuditEvent::builder().tenant_id(big).build();
        assert!(
            matches!(sink.publish(event).await, Err(SinkError::Io(m)) if m.contains("disk full"))
        );
        assert_eq!(sink.failed(), 1);
        assert!(
            matches!(sink.flush(Duration::from_secs(1)).await, Err(SinkError::Io(m)) if m.contains("disk full"))
        );
    }

    #[tokio::test]
    async fn appends_to_a_file() {
        let path =
            std::env::temp_dir().join(format!("auditlog-sink-{}.jsonl", uuid::Uuid::new_v4()));
        for _ in 0..2 {
            let sink = JsonLinesSink::append_to(&path, None).unwrap();
            sink.publish(AuditEvent::builder().build()).await.unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        for line in text.lines() {
            auditlog_seal::verify_json(line, None).unwrap();
        }
    }
}
