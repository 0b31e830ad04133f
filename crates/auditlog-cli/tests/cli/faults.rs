//! Fault tests: `auditlog publish` with a durable spool, as real processes
//! against a Kafka cluster in this process (librdkafka's mock cluster, which
//! outlives the publishers): killed with SIGKILL, cut off from the broker,
//! out of spool room, handed a corrupted segment. Each prints a `figures:`
//! line; docs/reliability.md quotes them.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use auditlog_kafka::mock::EmbeddedKafka;
use auditlog_kafka::{StartAt, TopicReader};
use auditlog_seal::SigningKey;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::support;

/// Bound on any wait: reached only when something hangs.
const PATIENCE: Duration = Duration::from_secs(180);
const KEY: &str = "fault-test-key";
const TOPIC: &str = "audit";

/// Event `n` of one of 16 tenants (message keys) as a JSON line, with
/// `padding` bytes of request payload.
fn line(n: u64, padding: usize) -> String {
    format!(
        "{{\"id\":\"event-{n}\",\"tenantid\":\"t{}\",\"action\":{{\"name\":\"orders.create\"}},\
         \"eventdata\":{{\"requestpayload\":{{\"note\":\"{}\"}}}}}}\n",
        n % 16,
        "x".repeat(padding)
    )
}

/// An `auditlog publish` process, its stdin fed by a thread of its own.
struct Publishing {
    child: Child,
    /// Lines written whole into the pipe so far.
    fed: Arc<AtomicU64>,
    feeder: JoinHandle<()>,
    stderr: JoinHandle<String>,
}

impl Publishing {
    /// Starts `auditlog publish ARGS`; `feed` writes its stdin (closed when
    /// `feed` returns), counting each line in the counter it is given.
    fn start(
        args: &[&str],
        feed: impl FnOnce(&mut ChildStdin, &AtomicU64) -> std::io::Result<()> + Send + 'static,
    ) -> Publishing {
        let mut child = support::command(&[&["publish"], args].concat())
            .stdout(Stdio::null())
            .env("AUDITLOG_SIGNING_KEY", KEY)
            .spawn()
            .expect("auditlog runs");
        let mut stdin = child.stdin.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let fed = Arc::new(AtomicU64::new(0));
        let counter = fed.clone();
        let feeder = std::thread::spawn(move || {
            // A killed process breaks the pipe: that ends the feed.
            let _ = feed(&mut stdin, &counter);
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).unwrap();
            text
        });
        Publishing {
            child,
            fed,
            feeder,
            stderr,
        }
    }

    /// Waits for the process to end (killing it past `PATIENCE`): its exit
    /// status, the lines fed, its stderr.
    fn finish(mut self) -> (ExitStatus, u64, String) {
        let status = support::exit_within(&mut self.child, PATIENCE)
            .unwrap_or_else(|| panic!("auditlog publish hung: killed after {PATIENCE:?}"));
        self.feeder.join().unwrap();
        let stderr = self.stderr.join().unwrap();
        eprintln!("--- auditlog publish stderr ---\n{stderr}---");
        (status, self.fed.load(Relaxed), stderr)
    }
}

/// Feeds lines `0..count` as they fit in the pipe.
fn feed_all(
    count: u64,
    padding: usize,
) -> impl FnOnce(&mut ChildStdin, &AtomicU64) -> std::io::Result<()> {
    move |stdin, fed| {
        for n in 0..count {
            stdin.write_all(line(n, padding).as_bytes())?;
            fed.store(n + 1, Relaxed);
        }
        Ok(())
    }
}

/// A Kafka cluster in this process, with `TOPIC` of `partitions` partitions.
fn cluster_with_topic(partitions: i32) -> EmbeddedKafka {
    let cluster = EmbeddedKafka::start(1).unwrap();
    cluster.create_topic(TOPIC, partitions).unwrap();
    cluster
}

/// Runs `auditlog publish ARGS` on empty stdin to its end.
fn publish_nothing(args: &[&str]) -> (ExitStatus, String) {
    let (status, _, stderr) = Publishing::start(args, |_, _| Ok(())).finish();
    (status, stderr)
}

/// Reads the topic as events arrive, verifying each with the key.
struct Reader {
    ids: Vec<String>,
    reader: TopicReader,
}

impl Reader {
    fn new(brokers: &str) -> Reader {
        let reader = TopicReader::new(
            brokers,
            TOPIC,
            &[],
            Some(SigningKey::new(KEY).unwrap()),
            StartAt::Beginning,
            Duration::from_secs(30),
        )
        .unwrap();
        Reader {
            ids: Vec::new(),
            reader,
        }
    }

    /// Reads for at most `wait`, or until `until` holds for what was read.
    fn read(&mut self, wait: Duration, until: impl Fn(&[String]) -> bool) {
        let started = Instant::now();
        while started.elapsed() < wait && !until(&self.ids) {
            if let Some(read) = self.reader.recv_timeout(Duration::from_millis(100)) {
                let read = read.expect("consumer");
                let verified = read.verified.unwrap_or_else(|e| {
                    panic!("event at offset {} does not verify: {e}", read.offset)
                });
                self.ids.push(verified.event.id.unwrap());
            }
        }
    }

    /// Everything until `want` ids came, then a quiet moment in which a
    /// duplicate would show.
    fn read_all(&mut self, want: usize) -> &[String] {
        self.read(PATIENCE, |ids| ids.len() >= want);
        let quiet = Duration::from_secs(2);
        let mut seen = self.ids.len();
        loop {
            self.read(quiet, |ids| ids.len() > seen);
            if self.ids.len() == seen {
                return &self.ids;
            }
            seen = self.ids.len();
        }
    }
}

/// How often each event number was read.
fn counts(ids: &[String]) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for id in ids {
        let n: u64 = id.strip_prefix("event-").unwrap().parse().unwrap();
        *counts.entry(n).or_insert(0) += 1;
    }
    counts
}

/// The number in "N undelivered events from an earlier run".
fn recovered(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            l.split(": ")
                .nth(2)?
                .strip_suffix(" undelivered events from an earlier run to send")
        })
        .map_or(0, |n| n.parse().unwrap())
}

/// The number before `what` in the summary line, e.g. "12 accepted".
fn summary(stderr: &str, what: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains(" accepted") && l.contains(" delivered"))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    let words: Vec<&str> = line.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    let at = words
        .iter()
        .position(|w| *w == what)
        .unwrap_or_else(|| panic!("no {what:?} in {line:?}"));
    words[at - 1].parse().unwrap()
}

fn bytes_in(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap().len())
        .sum()
}

#[test]
fn killed_mid_stream_then_restarted_delivers_every_accepted_event() {
    let cluster = cluster_with_topic(3);
    let brokers = cluster.bootstrap_servers();
    let spool = tempfile::tempdir().unwrap();
    let dir = spool.path().to_str().unwrap();
    let args = [
        "--brokers",
        brokers,
        "--topic",
        TOPIC,
        "--spool",
        dir,
        "--fsync",
        "always",
    ];

    let run = Publishing::start(&args, feed_all(1_000_000, 200));
    let mut reader = Reader::new(brokers);
    reader.read(PATIENCE, |ids| ids.len() >= 2_000);
    let delivered_before_kill = reader.ids.len();
    assert!(delivered_before_kill >= 2_000, "nothing came through");
    let mut run = run;
    run.child.kill().unwrap(); // SIGKILL
    let (status, fed, _) = run.finish();
    assert_eq!(status.signal(), Some(9), "killed mid-stream, not finished");
    assert!(fed < 1_000_000);

    let (status, stderr) = publish_nothing(&args);
    assert!(status.success(), "the restart drains the spool: {stderr}");
    let recovered = recovered(&stderr);
    assert!(
        recovered > 0,
        "records unconfirmed at the kill are replayed"
    );
    assert_eq!(summary(&stderr, "delivered"), recovered);

    // Every event the first run accepted: events-0..k, no gap, each at least
    // once; duplicates only among the replayed records.
    let ids = reader.read_all(delivered_before_kill + recovered as usize);
    let counts = counts(ids);
    let accepted = counts.len() as u64;
    assert!(
        (0..accepted).all(|n| counts.contains_key(&n)),
        "a gap: an accepted event was lost"
    );
    assert!(accepted >= delivered_before_kill as u64 && accepted <= fed);
    let duplicates = ids.len() as u64 - accepted;
    assert!(
        duplicates <= recovered,
        "{duplicates} duplicates, {recovered} replayed"
    );
    assert!(
        bytes_in(spool.path()) < 4096,
        "the drained spool keeps no segment"
    );
    println!(
        "figures: sigkill (fsync always): {fed} lines fed, {delivered_before_kill} delivered before the kill, \
         {accepted} accepted, {recovered} replayed by the restart, {accepted} delivered, \
         {duplicates} duplicated (same id, dedupable), 0 lost"
    );
}

/// The ids of every event on the topic, read until `want` came and then a
/// quiet moment; not verified (a debug build verifies big events slowly).
fn ids_on_topic(brokers: &str, partitions: i32, want: usize) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "fault-tests")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(TOPIC, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let started = Instant::now();
    let mut ids = Vec::new();
    let mut quiet_since = Instant::now();
    while started.elapsed() < PATIENCE {
        match consumer.poll(Duration::from_millis(100)) {
            Some(message) => {
                let payload = std::str::from_utf8(message.expect("consumer").payload().unwrap())
                    .unwrap()
                    .to_owned();
                let start = payload.find("\"id\":\"event-").expect("an id") + 6;
                let len = payload[start..].find('"').unwrap();
                ids.push(payload[start..start + len].to_owned());
                quiet_since = Instant::now();
            }
            None if ids.len() >= want && quiet_since.elapsed() > Duration::from_secs(2) => break,
            None => {}
        }
    }
    ids
}

/// Peak resident memory of process `pid` (`VmHWM`, kB), if it still runs.
fn peak_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn broker_down_mid_stream_under_steady_load_loses_nothing_in_bounded_memory() {
    const RATE: u64 = 2_000; // events per second
    const SECONDS: u64 = 20;
    const PADDING: usize = 6_000;
    // The mock cluster keeps 5 MB a partition: enough partitions keep all.
    const PARTITIONS: i32 = 12;
    let cluster = cluster_with_topic(PARTITIONS);
    let brokers = cluster.bootstrap_servers();
    let spool = tempfile::tempdir().unwrap();
    let args = [
        "--brokers",
        brokers,
        "--topic",
        TOPIC,
        "--spool",
        spool.path().to_str().unwrap(),
        "--capacity",
        "500",
    ];
    let total = RATE * SECONDS;
    let started = Instant::now();
    let run = Publishing::start(&args, move |stdin, fed| {
        for n in 0..total {
            // Steady: event n is due at n / RATE seconds.
            let due = Duration::from_micros(n * 1_000_000 / RATE);
            if let Some(early) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(early);
            }
            stdin.write_all(line(n, PADDING).as_bytes())?;
            fed.store(n + 1, Relaxed);
        }
        Ok(())
    });
    let pid = run.child.id();
    let sampling = Arc::new(AtomicBool::new(true));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (sampling, peak) = (sampling.clone(), peak.clone());
        std::thread::spawn(move || {
            while sampling.load(Relaxed) {
                if let Some(kb) = peak_kb(pid) {
                    peak.fetch_max(kb, Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    std::thread::sleep(Duration::from_secs(5).saturating_sub(started.elapsed()));
    let fed_at_down = run.fed.load(Relaxed);
    let peak_at_down = peak.load(Relaxed);
    cluster.broker_down(1).unwrap();
    // Down for 10 s, longer if a loaded machine fed less than 80 MB by
    // then (the debug binary may read slower than RATE): the point is an
    // outage that holds far more than the queue's capacity.
    let down_at = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    while (run.fed.load(Relaxed) - fed_at_down) * line(0, PADDING).len() as u64 / 1024 <= 80_000
        && run.fed.load(Relaxed) < total
        && down_at.elapsed() < Duration::from_secs(40)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let fed_at_up = run.fed.load(Relaxed);
    let outage = down_at.elapsed();
    cluster.broker_up(1).unwrap();
    let (status, fed, stderr) = run.finish();
    sampling.store(false, Relaxed);
    sampler.join().unwrap();
    assert!(status.success(), "{stderr}");
    assert_eq!(fed, total);
    assert_eq!(summary(&stderr, "accepted"), total);
    assert_eq!(summary(&stderr, "delivered"), total);

    let ids = ids_on_topic(brokers, PARTITIONS, total as usize);
    let counts = counts(&ids);
    let missing: Vec<u64> = (0..total).filter(|n| !counts.contains_key(n)).collect();
    let repeated: Vec<u64> = (0..total).filter(|n| counts.get(n) > Some(&1)).collect();
    assert!(
        missing.is_empty() && repeated.is_empty(),
        "{} read, {} missing (first {:?}), {} repeated (first {:?})",
        ids.len(),
        missing.len(),
        &missing[..missing.len().min(10)],
        repeated.len(),
        &repeated[..repeated.len().min(10)],
    );
    let duplicates = ids.len() as u64 - total;
    assert_eq!(duplicates, 0, "idempotent delivery: no duplicates");

    // What arrived during the outage would take this much memory if it
    // were held there; the spool keeps it on disk, so memory grows by the
    // queue's capacity at most.
    let held_kb = (fed_at_up - fed_at_down) * line(0, PADDING).len() as u64 / 1024;
    let peak_kb = peak.load(Relaxed);
    let growth_kb = peak_kb.saturating_sub(peak_at_down);
    assert!(held_kb > 80_000, "the outage held {held_kb} kB");
    assert!(peak_at_down > 0, "memory was sampled");
    assert!(
        growth_kb < held_kb / 3,
        "memory grew by {growth_kb} kB in the outage: not bounded ({held_kb} kB arrived)"
    );
    println!(
        "figures: broker down {:.1} s at {RATE} events/s: {total} sent, {} during the outage \
         ({held_kb} kB), {total} delivered, 0 lost, {duplicates} duplicated; \
         peak RSS {peak_at_down} kB before the outage, {peak_kb} kB after it",
        outage.as_secs_f64(),
        fed_at_up - fed_at_down
    );
}

/// Arguments of a run whose broker never answers, spooling to `dir`.
fn broker_away<'a>(dir: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--brokers",
        "127.0.0.1:1",
        "--topic",
        TOPIC,
        "--timeout",
        "1",
        "--spool",
        dir,
    ];
    args.extend_from_slice(more);
    args
}

/// A new cluster, and a run on empty stdin that sends it what `dir` kept.
fn drain_to_a_new_cluster(dir: &str) -> (EmbeddedKafka, ExitStatus, String) {
    let cluster = cluster_with_topic(3);
    let brokers = cluster.bootstrap_servers();
    let (status, stderr) =
        publish_nothing(&["--brokers", brokers, "--topic", TOPIC, "--spool", dir]);
    (cluster, status, stderr)
}

#[test]
fn a_full_spool_with_the_broker_away_is_a_clear_error_and_keeps_what_it_accepted() {
    const MAX_BYTES: u64 = 512 * 1024;
    let spool = tempfile::tempdir().unwrap();
    let dir = spool.path().to_str().unwrap();
    let max_bytes = MAX_BYTES.to_string();
    let unreachable = broker_away(dir, &["--spool-max-bytes", &max_bytes, "--deadline", "5"]);
    let (status, fed, stderr) = Publishing::start(&unreachable, feed_all(2_000, 1_000)).finish();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let accepted = summary(&stderr, "accepted");
    assert!(accepted > 0 && accepted < fed, "{accepted} of {fed}");
    assert_eq!(
        summary(&stderr, "kept"),
        accepted,
        "all kept for the next run"
    );
    let stop = format!(
        "line {}: not published: --deadline passed while the spool was full",
        accepted + 1
    );
    assert!(stderr.contains(&stop), "{stderr}");
    let used = bytes_in(spool.path());
    assert!(
        used <= MAX_BYTES,
        "{used} bytes in a spool bound to {MAX_BYTES}"
    );

    // The next run, with the broker there, sends what was kept.
    let (cluster, status, stderr) = drain_to_a_new_cluster(dir);
    let brokers = cluster.bootstrap_servers();
    assert!(status.success(), "{stderr}");
    assert_eq!(recovered(&stderr), accepted);
    let mut reader = Reader::new(brokers);
    let counts = counts(reader.read_all(accepted as usize));
    assert!(
        (0..accepted).all(|n| counts.get(&n) == Some(&1)) && counts.len() as u64 == accepted,
        "events 0..{accepted} once each"
    );
    println!(
        "figures: spool full ({MAX_BYTES} bytes, broker away): {fed} lines fed, {accepted} accepted \
         and kept ({used} bytes), line {} refused at the deadline, {accepted} delivered by the next run, 0 lost",
        accepted + 1
    );
}

#[test]
fn a_corrupted_segment_is_reported_and_the_rest_delivered() {
    const EVENTS: u64 = 200;
    let spool = tempfile::tempdir().unwrap();
    let dir = spool.path().to_str().unwrap();
    let unreachable = broker_away(dir, &["--deadline", "3"]);
    let (status, _, stderr) = Publishing::start(&unreachable, feed_all(EVENTS, 100)).finish();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(summary(&stderr, "kept"), EVENTS);

    // One byte flipped in the middle of the segment, as a bad disk does.
    let segment = std::fs::read_dir(spool.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "wal"))
        .expect("a segment");
    let mut bytes = std::fs::read(&segment).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&segment, &bytes).unwrap();

    let (cluster, status, stderr) = drain_to_a_new_cluster(dir);
    let brokers = cluster.bootstrap_servers();
    assert_eq!(
        status.code(),
        Some(1),
        "a lost record fails the run: {stderr}"
    );
    let report = BufReader::new(stderr.as_bytes())
        .lines()
        .map(Result::unwrap)
        .find(|l| l.contains("corrupt record skipped at byte"))
        .unwrap_or_else(|| panic!("no corruption report: {stderr}"));
    assert!(report.contains(segment.to_str().unwrap()), "{report}");
    let at: usize = report
        .split("at byte ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        at <= middle,
        "the bad record starts at or before the flipped byte"
    );
    assert_eq!(recovered(&stderr), EVENTS - 1);

    let mut reader = Reader::new(brokers);
    let counts = counts(reader.read_all(EVENTS as usize - 1));
    assert_eq!(counts.len() as u64, EVENTS - 1, "all but the corrupt one");
    assert!(counts.values().all(|&n| n == 1), "each once");
    let lost: Vec<u64> = (0..EVENTS).filter(|n| !counts.contains_key(n)).collect();
    println!(
        "figures: corrupted segment: {EVENTS} spooled, 1 corrupt record reported ({} at byte {at}), \
         {} delivered once each, event {lost:?} lost with the bad bytes",
        segment.file_name().unwrap().to_str().unwrap(),
        EVENTS - 1
    );
}
