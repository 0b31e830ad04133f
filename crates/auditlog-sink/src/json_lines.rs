//! Sealed events as JSON lines, to a file, stdout or any writer.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::AuditEvent;
use auditlog_seal::SigningKey;

use crate::output::{AnyWriter, AppendFile, Output};
use crate::{AuditSink, SinkError};

/// Writes each event, sealed, as one line of its published JSON: the format
/// `auditlog verify` and `auditlog query` read.
///
/// Lines go into a 64 KiB buffer; `publish` writes only when the buffer is
/// full (a local write, never the network), [`flush`](AuditSink::flush)
/// writes the rest. A write error refuses the event with
/// [`SinkError::Io`] and is counted ([`JsonLinesSink::failed`]).
///
/// # Durable publishing
///
/// Over a file it opened itself ([`append_to`](Self::append_to),
/// [`rotating`](Self::rotating)), [`publish_durable`](AuditSink::publish_durable)
/// writes the buffer and the line through to the file and fdatasyncs it
/// (and its directory, the first time and after each rotation) before
/// returning: one fsync per event, one event at a time, on tokio's blocking
/// pool when there is a runtime. Over any other writer
/// ([`new`](Self::new), [`stdout`](Self::stdout)) it refuses with
/// [`SinkError::NotDurable`] and writes nothing: a writer cannot be synced,
/// even when it is a file underneath.
///
/// A failed fdatasync is final: what reached the disk is then unknown
/// (the kernel may have dropped the pages), so every later
/// `publish_durable` fails with [`SinkError::Io`] until the sink is made
/// again; `publish` goes on as before.
pub struct JsonLinesSink {
    lines: Arc<Lines>,
}

/// The sink's state, shared with durable writes on the blocking pool.
struct Lines {
    out: Mutex<BufWriter<Box<dyn Output>>>,
    durable: bool,
    key: Option<SigningKey>,
    written: AtomicU64,
    failed: AtomicU64,
    sync_failed: AtomicBool,
    /// A line's write failed after part of it got out: the next line
    /// starts with a newline, or it would be glued to that part and be
    /// unreadable too. Read and set under `out`'s lock.
    torn: AtomicBool,
}

impl fmt::Debug for JsonLinesSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLinesSink")
            .field("key", &self.lines.key)
            .field("durable", &self.lines.durable)
            .field("written", &self.written())
            .field("failed", &self.failed())
            .finish_non_exhaustive()
    }
}

impl JsonLinesSink {
    /// Lines to `out` (not durable, see [above](Self#durable-publishing)).
    pub fn new(out: impl Write + Send + 'static, key: Option<SigningKey>) -> Self {
        Self::with_output(Box::new(AnyWriter(out)), key)
    }

    /// Lines to standard output (not durable).
    pub fn stdout(key: Option<SigningKey>) -> Self {
        Self::new(io::stdout(), key)
    }

    /// Lines appended to the file at `path` (created `0600` if missing);
    /// durable. Refuses a symbolic link at `path`, or a file that is not a
    /// regular file of this user (see [`owner_only`](crate::owner_only)).
    pub fn append_to(path: impl AsRef<Path>, key: Option<SigningKey>) -> io::Result<Self> {
        Ok(Self::with_output(
            Box::new(AppendFile::open(path.as_ref())?),
            key,
        ))
    }

    /// Lines to the file at `path`, rotated once it reaches `max_bytes`
    /// (`path.1` is the newest rotated file; `keep` of them are kept);
    /// durable. Each new file is created `0600`; symbolic links and files
    /// of other users are refused, as with [`append_to`](Self::append_to).
    pub fn rotating(
        path: impl AsRef<Path>,
        max_bytes: u64,
        keep: usize,
        key: Option<SigningKey>,
    ) -> io::Result<Self> {
        Ok(Self::with_output(
            Box::new(crate::RotatingFile::open(path, max_bytes, keep)?),
            key,
        ))
    }

    fn with_output(out: Box<dyn Output>, key: Option<SigningKey>) -> Self {
        JsonLinesSink {
            lines: Arc::new(Lines {
                durable: out.durable(),
                out: Mutex::new(BufWriter::with_capacity(1 << 16, out)),
                key,
                written: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                sync_failed: AtomicBool::new(false),
                torn: AtomicBool::new(false),
            }),
        }
    }

    /// Events written (into the buffer or through it).
    pub fn written(&self) -> u64 {
        self.lines.written.load(Relaxed)
    }

    /// Events refused because writing (or, durably, syncing) failed.
    pub fn failed(&self) -> u64 {
        self.lines.failed.load(Relaxed)
    }
}

thread_local! {
    /// The line being written, reused: a typical line (over 1 KiB) is
    /// beyond glibc's per-thread cache, so a fresh one per event went to
    /// the shared arena each time (see docs/performance.md, "CPU per
    /// request").
    ///
    /// Taken out of the cell while in use, never borrowed: a writer that
    /// publishes to another sink on the same thread (a nested write) finds
    /// the cell empty and uses a fresh line, where a borrow would panic.
    static LINE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// The largest line buffer kept for reuse.
const LINE_KEPT_MAX: usize = 64 * 1024;

impl Lines {
    fn lock(&self) -> MutexGuard<'_, BufWriter<Box<dyn Output>>> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn line(&self, mut event: AuditEvent) -> Vec<u8> {
        let mut line = Vec::with_capacity(1280);
        self.seal_line(&mut event, &mut line);
        line
    }

    /// Seals `event` in place and appends it and a newline to `line`.
    fn seal_line(&self, event: &mut AuditEvent, line: &mut Vec<u8>) {
        auditlog_seal::seal_into(event, self.key.as_ref(), line);
        line.push(b'\n');
    }

    /// Writes `line` whole or reports it failed, after a newline that
    /// ends what a failed write before it left of its line.
    fn write_line(&self, out: &mut BufWriter<Box<dyn Output>>, line: &[u8]) -> io::Result<()> {
        if self.torn.load(Relaxed) {
            out.write_all(b"\n")?;
            self.torn.store(false, Relaxed);
        }
        if line.len() < out.capacity() {
            // Into the buffer whole, or not at all: `BufWriter` writes out
            // what it holds first, and fails before taking any of `line`.
            return out.write_all(line);
        }
        // Longer than the buffer: straight through, counting what got there.
        out.flush()?;
        let output = out.get_mut();
        let mut written = 0;
        while written < line.len() {
            match output.write(&line[written..]) {
                Ok(0) => return Err(self.cut_short(written, io::ErrorKind::WriteZero.into())),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.cut_short(written, e)),
            }
        }
        Ok(())
    }

    /// A line's write failed after `written` of its bytes got out.
    fn cut_short(&self, written: usize, error: io::Error) -> io::Error {
        self.torn.store(written > 0, Relaxed);
        error
    }

    fn counted(&self, result: io::Result<()>) -> Result<(), SinkError> {
        match result {
            Ok(()) => {
                self.written.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(e) => {
                self.failed.fetch_add(1, Relaxed);
                Err(SinkError::from(e))
            }
        }
    }

    /// Seals `event` in place (borrowed: the caller may reuse it) and
    /// writes its line.
    fn write(&self, event: &mut AuditEvent) -> Result<(), SinkError> {
        // `try_with`: a thread's locals may be gone when it publishes from
        // a destructor at its exit; a fresh line then.
        let mut line = LINE.try_with(Cell::take).unwrap_or_default();
        line.clear();
        self.seal_line(event, &mut line);
        let result = self.counted(self.write_line(&mut self.lock(), &line));
        // A huge event's buffer is not kept for the thread's life.
        if line.capacity() <= LINE_KEPT_MAX {
            let _ = LINE.try_with(|cell| cell.set(line));
        }
        result
    }

    /// Writes the line through to the file and syncs it; blocks.
    fn write_durably(&self, event: AuditEvent) -> Result<(), SinkError> {
        let line = self.line(event);
        let mut out = self.lock();
        if self.sync_failed.load(Relaxed) {
            self.failed.fetch_add(1, Relaxed);
            return Err(SinkError::io(
                "an earlier fdatasync failed: durability can no longer be promised",
            ));
        }
        let result = self.write_line(&mut out, &line).and_then(|()| out.flush());
        let result = result.and_then(|()| {
            out.get_mut().sync().inspect_err(|_| {
                self.sync_failed.store(true, Relaxed);
            })
        });
        self.counted(result)
    }
}

#[async_trait]
impl AuditSink for JsonLinesSink {
    async fn publish(&self, mut event: AuditEvent) -> Result<(), SinkError> {
        self.lines.write(&mut event)
    }

    /// Seals the event in place and writes its line; the event is left
    /// sealed.
    async fn publish_borrowed(&self, event: &mut AuditEvent) -> Result<(), SinkError> {
        self.lines.write(event)
    }

    /// Writes out the buffer (a local write: the timeout is not needed).
    async fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        let mut out = self.lines.lock();
        out.flush().map_err(SinkError::from)
    }

    /// Writes the event through to its file and fdatasyncs it, see
    /// [Durable publishing](JsonLinesSink#durable-publishing).
    async fn publish_durable(&self, event: AuditEvent) -> Result<(), SinkError> {
        if !self.lines.durable {
            return Err(SinkError::NotDurable);
        }
        let lines = self.lines.clone();
        let write = move || lines.write_durably(event);
        // An fsync takes milliseconds: not on the runtime's worker threads.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime.spawn_blocking(write).await.unwrap_or_else(|e| {
                self.lines.failed.fetch_add(1, Relaxed);
                Err(SinkError::io(format!("durable write did not finish: {e}")))
            }),
            Err(_) => write(),
        }
    }
}

impl Drop for Lines {
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
    async fn each_line_is_whole_whatever_the_reused_buffer_held_before() {
        let out = Shared::default();
        let key = SigningKey::new("k").unwrap();
        let sink = JsonLinesSink::new(out.clone(), Some(key.clone()));
        // Short, longer than the buffer kept (so it is let go), short again.
        let tenants = [
            "a".to_owned(),
            "x".repeat(LINE_KEPT_MAX + 1),
            "b".to_owned(),
        ];
        let mut expected = String::new();
        for tenant in &tenants {
            let event = AuditEvent::builder().tenant_id(tenant.as_str()).build();
            expected += &auditlog_seal::seal_to_json(&mut event.clone(), Some(&key));
            expected.push('\n');
            sink.publish(event).await.unwrap();
        }
        sink.flush(Duration::from_secs(1)).await.unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, expected);
    }

    #[tokio::test]
    async fn write_errors_refuse_the_event_and_are_counted() {
        let sink = JsonLinesSink::new(Broken, None);
        // A line bigger than the buffer goes straight to the writer.
        let big = "x".repeat(70_000);
        let event = AuditEvent::builder().tenant_id(big).build();
        assert!(
            matches!(sink.publish(event).await, Err(SinkError::Io(m)) if m.to_string().contains("disk full"))
        );
        assert_eq!(sink.failed(), 1);
        assert!(
            matches!(sink.flush(Duration::from_secs(1)).await, Err(SinkError::Io(m)) if m.to_string().contains("disk full"))
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

    /// A disk whose fdatasync fails (EIO after a write-back error).
    struct SyncFails(Shared);

    impl Write for SyncFails {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Output for SyncFails {
        fn durable(&self) -> bool {
            true
        }
        fn sync(&mut self) -> io::Result<()> {
            Err(io::Error::other("EIO"))
        }
    }

    fn tenant(tenant: &str) -> AuditEvent {
        AuditEvent::builder().tenant_id(tenant).build()
    }

    /// The tenants of the lines in `paths`, in order, each verified.
    fn tenants_in(paths: &[std::path::PathBuf], key: Option<&SigningKey>) -> Vec<String> {
        let mut tenants = Vec::new();
        for path in paths {
            for line in std::fs::read_to_string(path).unwrap().lines() {
                let event = auditlog_seal::verify_json(line, key).unwrap().event;
                tenants.push(event.tenantid.unwrap());
            }
        }
        tenants
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_durable_line_is_in_the_file_when_publish_durable_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let key = SigningKey::new("k").unwrap();
        let sink = JsonLinesSink::append_to(&path, Some(key.clone())).unwrap();
        sink.publish(tenant("buffered")).await.unwrap();
        assert!(tenants_in(std::slice::from_ref(&path), Some(&key)).is_empty());
        sink.publish_durable(tenant("durable")).await.unwrap();
        // Written through with what was buffered before it, in order.
        assert_eq!(
            tenants_in(std::slice::from_ref(&path), Some(&key)),
            ["buffered", "durable"]
        );
        assert_eq!((sink.written(), sink.failed()), (2, 0));
    }

    #[tokio::test]
    async fn other_writers_are_not_durable_and_get_nothing() {
        let out = Shared::default();
        let sink = JsonLinesSink::new(out.clone(), None);
        assert_eq!(
            sink.publish_durable(tenant("t")).await,
            Err(SinkError::NotDurable)
        );
        sink.flush(Duration::from_secs(1)).await.unwrap();
        assert!(out.0.lock().unwrap().is_empty());
        assert_eq!((sink.written(), sink.failed()), (0, 0));
        let stdout = JsonLinesSink::stdout(None);
        assert_eq!(
            stdout.publish_durable(tenant("t")).await,
            Err(SinkError::NotDurable)
        );
        assert_eq!(stdout.written(), 0);
    }

    #[tokio::test]
    async fn durable_lines_across_rotations_are_all_kept_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        // About three lines to a file; ten files kept: nothing deleted.
        let sink = JsonLinesSink::rotating(&path, 1000, 10, None).unwrap();
        let sent: Vec<String> = (0..12).map(|n| format!("t-{n:02}")).collect();
        for tenant_id in &sent {
            sink.publish_durable(tenant(tenant_id)).await.unwrap();
        }
        let mut files: Vec<_> = (1..=10)
            .rev()
            .map(|n| dir.path().join(format!("audit.jsonl.{n}")))
            .filter(|p| p.exists())
            .collect();
        assert!(files.len() >= 2, "rotated: {files:?}");
        files.push(path);
        assert_eq!(tenants_in(&files, None), sent);
    }

    #[tokio::test]
    async fn a_failed_sync_is_final_for_durable_publishing() {
        let out = Shared::default();
        let sink = JsonLinesSink::with_output(Box::new(SyncFails(out.clone())), None);
        assert!(
            matches!(sink.publish_durable(tenant("a")).await, Err(SinkError::Io(m)) if m.to_string().contains("EIO"))
        );
        assert!(
            matches!(sink.publish_durable(tenant("b")).await, Err(SinkError::Io(m)) if m.to_string().contains("earlier fdatasync failed"))
        );
        assert_eq!((sink.written(), sink.failed()), (0, 2));
        // The line whose sync failed reached the writer; the next did not.
        let lines = out
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        assert_eq!(lines, 1);
        sink.publish(tenant("c")).await.unwrap();
        assert_eq!(sink.written(), 1);
    }
}
