//! The JSON-lines sink seals each line into a buffer reused per thread:
//! attacks on that reuse. A huge line before small ones, many threads at
//! once, a write error in the middle, and a writer that itself publishes
//! to another sink while the line is being written.

use std::future::Future;
use std::io::{self, Write};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_seal::{seal_to_json, verify_json, SigningKey};
use auditlog_sink::{AuditSink, JsonLinesSink};

/// `publish` on this sink never waits: it is polled once, off any runtime,
/// as a synchronous caller (or a writer inside another sink) would.
fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the JSON-lines sink waited"),
    }
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("lines are ASCII")
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn key() -> SigningKey {
    SigningKey::new("line-buffer-key").unwrap()
}

fn event(tenant: &str, n: usize) -> AuditEvent {
    AuditEvent::builder()
        .tenant_id(tenant)
        .transaction_id(format!("tx-{n:06}"))
        .build()
}

fn sealed(event: &AuditEvent) -> String {
    seal_to_json(&mut event.clone(), Some(&key()))
}

#[test]
fn small_lines_after_a_huge_one_carry_no_stale_bytes() {
    let out = Shared::default();
    let sink = JsonLinesSink::new(out.clone(), Some(key()));
    // Around the buffer kept (64 KiB), and a line longer than the sink's
    // own 64 KiB write buffer (written through), each followed by short
    // ones that would show any tail left behind.
    let sizes = [1, 300_000, 1, 65_000, 2, 70_000, 0, 5, 40_000, 1];
    let mut expected = String::new();
    for (n, size) in sizes.into_iter().enumerate() {
        let event = event(&"x".repeat(size), n);
        expected += &sealed(&event);
        expected.push('\n');
        now(sink.publish(event)).unwrap();
    }
    now(sink.flush(Duration::from_secs(1))).unwrap();
    let text = out.text();
    assert_eq!(text, expected);
    for line in text.lines() {
        verify_json(line, Some(&key())).expect("every line verifies");
    }
}

#[test]
fn lines_from_many_threads_never_interleave() {
    const THREADS: usize = 8;
    const EACH: usize = 150;
    let out = Shared::default();
    let sink = Arc::new(JsonLinesSink::new(out.clone(), Some(key())));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let sink = sink.clone();
            std::thread::spawn(move || {
                for n in 0..EACH {
                    // Sizes vary per thread and per event, some beyond the
                    // buffer kept, so buffers grow and are let go.
                    let size = match (t + n) % 7 {
                        0 => 70_000,
                        1 => 3_000,
                        _ => n % 50,
                    };
                    let tenant = format!("t{t}-{}", "y".repeat(size));
                    now(sink.publish(event(&tenant, n))).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    now(sink.flush(Duration::from_secs(1))).unwrap();
    assert_eq!(sink.written(), (THREADS * EACH) as u64);
    let text = out.text();
    let mut seen = vec![0usize; THREADS];
    for line in text.lines() {
        let verified = verify_json(line, Some(&key())).expect("every line is whole");
        let tenant = verified.event.tenantid.clone().unwrap();
        let thread: usize = tenant[1..tenant.find('-').unwrap()].parse().unwrap();
        // Each thread's events arrive in its own order.
        let n: usize = verified.event.transactionid.as_deref().unwrap()[3..]
            .parse()
            .unwrap();
        assert_eq!(n, seen[thread], "thread {thread}");
        seen[thread] += 1;
    }
    assert_eq!(seen, vec![EACH; THREADS]);
}

/// Fails every write while `failing` is set, writing nothing.
#[derive(Clone, Default)]
struct Flaky {
    out: Shared,
    failing: Arc<AtomicUsize>,
}

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failing.load(SeqCst) != 0 {
            return Err(io::Error::other("disk on fire"));
        }
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_write_error_in_the_middle_refuses_that_event_and_leaves_the_rest_whole() {
    let flaky = Flaky::default();
    let sink = JsonLinesSink::new(flaky.clone(), Some(key()));
    let mut expected = String::new();
    let mut refused = 0;
    for n in 0..40 {
        // Lines beyond the sink's 64 KiB buffer go through to the writer at
        // once, so the error reaches the event that hit it.
        let event = event(&"z".repeat(70_000 + n), n);
        flaky
            .failing
            .store(usize::from((10..13).contains(&n)), SeqCst);
        match now(sink.publish(event.clone())) {
            Ok(()) => {
                expected += &sealed(&event);
                expected.push('\n');
            }
            Err(_) => refused += 1,
        }
    }
    now(sink.flush(Duration::from_secs(1))).unwrap();
    assert_eq!(refused, 3);
    assert_eq!((sink.written(), sink.failed()), (37, 3));
    assert_eq!(flaky.out.text(), expected);
}

#[test]
fn a_write_error_while_the_buffer_is_written_out_loses_no_line_and_splits_none() {
    let flaky = Flaky::default();
    let sink = JsonLinesSink::new(flaky.clone(), Some(key()));
    let mut expected = String::new();
    let mut refused = 0;
    for n in 0..300 {
        // About 1 KiB each: the sink's 64 KiB buffer is written out every
        // sixty-odd events, and fails while the writer is failing.
        let event = event(&"s".repeat(900 + n % 17), n);
        flaky
            .failing
            .store(usize::from((60..140).contains(&n)), SeqCst);
        match now(sink.publish(event.clone())) {
            Ok(()) => {
                expected += &sealed(&event);
                expected.push('\n');
            }
            Err(_) => refused += 1,
        }
    }
    now(sink.flush(Duration::from_secs(1))).unwrap();
    assert!(refused > 0, "no write failed");
    assert_eq!((sink.written(), sink.failed()), (300 - refused, refused));
    assert_eq!(flaky.out.text(), expected);
}

/// A writer that reports each write as an audit event of its own, to
/// another sink, synchronously: on the same thread, while the first
/// sink's line is being written.
struct Reporting {
    out: Shared,
    report: Arc<JsonLinesSink>,
}

impl Write for Reporting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let report = AuditEvent::builder()
            .tenant_id(format!("wrote {} bytes", buf.len()))
            .build();
        now(self.report.publish(report)).map_err(io::Error::other)?;
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_writer_may_publish_to_another_sink_while_its_line_is_written() {
    let (out, reports) = (Shared::default(), Shared::default());
    let report = Arc::new(JsonLinesSink::new(reports.clone(), None));
    let sink = JsonLinesSink::new(
        Reporting {
            out: out.clone(),
            report: report.clone(),
        },
        Some(key()),
    );
    // Beyond the 64 KiB buffer: written through to `Reporting` at once.
    let huge = event(&"h".repeat(100_000), 0);
    now(sink.publish(huge.clone())).unwrap();
    let small = event("after", 1);
    now(sink.publish(small.clone())).unwrap();
    now(sink.flush(Duration::from_secs(1))).unwrap();
    now(report.flush(Duration::from_secs(1))).unwrap();
    assert_eq!(
        out.text(),
        format!("{}\n{}\n", sealed(&huge), sealed(&small))
    );
    let reports = reports.text();
    assert!(!reports.is_empty(), "the writer reported nothing");
    for line in reports.lines() {
        verify_json(line, None).expect("every report is whole");
    }
    assert_eq!(report.written(), reports.lines().count() as u64);
}

/// Takes `room` bytes, then fails each write until `room` is given again.
#[derive(Clone, Default)]
struct Cramped {
    out: Shared,
    room: Arc<AtomicUsize>,
}

impl Write for Cramped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.room.load(SeqCst);
        if room == 0 {
            return Err(io::Error::other("disk full"));
        }
        let n = buf.len().min(room);
        self.room.store(room - n, SeqCst);
        self.out.write(&buf[..n])
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_line_cut_short_by_a_failed_write_does_not_swallow_the_next_one() {
    let out = Cramped::default();
    let sink = JsonLinesSink::new(out.clone(), Some(key()));
    // A line longer than the sink's 64 KiB buffer is written through; the
    // disk takes 1,000 bytes of it and fails.
    out.room.store(1_000, SeqCst);
    let huge = event(&"x".repeat(100_000), 0);
    assert!(now(sink.publish(huge)).is_err());
    // Room again: the next event must still be a line of its own.
    out.room.store(usize::MAX, SeqCst);
    let small = event("acme", 1);
    now(sink.publish(small.clone())).unwrap();
    now(sink.flush(Duration::from_secs(1))).unwrap();
    let text = out.out.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{:?}", &text[..text.len().min(200)]);
    assert_eq!(lines[0].len(), 1_000, "the part the disk took");
    assert_eq!(lines[1], sealed(&small));
    assert!(verify_json(lines[1], Some(&key())).is_ok());
    assert_eq!((sink.written(), sink.failed()), (1, 1));
}
