//! `auditlog relay` as a real process between a real database and the
//! embedded Kafka cluster: `--once` and its summary, clear errors, SIGKILL
//! mid-run and a restart, SIGTERM, and PostgreSQL going away and coming back.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use auditlog_core::AuditEvent;
use auditlog_kafka::mock::EmbeddedKafka;
use auditlog_kafka::{StartAt, TopicReader};
use auditlog_seal::{ChainKey, SigningKey};
use auditlog_sql::AuditRecorder;
use auditlog_testkit::TestPostgres;

use crate::support::{auditlog, command, exit_within, text};

/// Bound on any wait: reached only when something hangs.
const PATIENCE: Duration = Duration::from_secs(120);
const KEY: &str = "relay-test-key";
const TOPIC: &str = "audit";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn kafka() -> EmbeddedKafka {
    let kafka = EmbeddedKafka::start(1).unwrap();
    kafka.create_topic(TOPIC, 3).unwrap();
    kafka
}

/// Records events `from..to` in `stream`, up to 100 a transaction, with a
/// checkpoint every 10.
async fn record<DB: auditlog_sql::Backend>(
    pool: &sqlx::Pool<DB>,
    stream: &str,
    events: std::ops::Range<u64>,
) {
    let key = ChainKey::hmac("k1", SigningKey::new(KEY).unwrap()).unwrap();
    let recorder = AuditRecorder::new(stream, key)
        .unwrap()
        .checkpoint_every(10);
    let numbers: Vec<u64> = events.collect();
    for chunk in numbers.chunks(100) {
        let mut tx = pool.begin().await.unwrap();
        for n in chunk {
            let event = AuditEvent::builder()
                .tenant_id(format!("t{}", n % 5))
                .action_name("orders.update")
                .resource_id(n.to_string())
                .build();
            recorder.record(&mut tx, event).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}

/// A SQLite file with `events` events recorded (and their checkpoints).
fn sqlite_database(events: u64) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    runtime().block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        auditlog_sql::migrate(&pool).await.unwrap();
        record(&pool, "orders-api", 0..events).await;
        pool.close().await;
    });
    (dir, url)
}

/// Event id to published line, of the rows `sql` selects (id, line).
fn lines(url: &str, sql: &str) -> HashMap<String, String> {
    runtime().block_on(async {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let rows: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows.into_iter().collect()
    })
}

/// The topic as read so far, every message verified strictly with the key.
struct Topic {
    reader: TopicReader,
    /// Event id and payload of each message, in the order read.
    messages: Vec<(String, String)>,
}

impl Topic {
    fn new(kafka: &EmbeddedKafka) -> Topic {
        let reader = TopicReader::new(
            kafka.bootstrap_servers(),
            TOPIC,
            &[],
            Some(SigningKey::new(KEY).unwrap()),
            StartAt::Beginning,
            Duration::from_secs(10),
        )
        .unwrap();
        Topic {
            reader,
            messages: Vec::new(),
        }
    }

    /// Reads for up to `wait`; false when nothing came.
    fn read_some(&mut self, wait: Duration) -> bool {
        let Some(read) = self.reader.recv_timeout(wait) else {
            return false;
        };
        let read = read.unwrap();
        let verified = read
            .verified
            .unwrap_or_else(|e| panic!("{} does not verify: {e}", read.payload));
        self.messages
            .push((verified.event.id.unwrap(), read.payload));
        true
    }

    /// Reads until `count` distinct events came, then until a quiet second
    /// (so that duplicates show).
    fn read_distinct(&mut self, count: usize) {
        let started = Instant::now();
        while self.distinct().len() < count {
            assert!(
                started.elapsed() < PATIENCE,
                "{} of {count} events on the topic",
                self.distinct().len()
            );
            self.read_some(Duration::from_millis(200));
        }
        while self.read_some(Duration::from_secs(1)) {}
    }

    fn distinct(&self) -> HashSet<&str> {
        self.messages.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Every message is its row's line byte for byte (a duplicate, too).
    fn assert_lines_match(&self, rows: &HashMap<String, String>) {
        for (id, payload) in &self.messages {
            assert_eq!(rows.get(id), Some(payload), "message {id} is not its row");
        }
    }
}

/// An `auditlog relay` process and its stderr, read by a thread.
struct Relaying {
    child: Child,
    stderr: JoinHandle<String>,
}

impl Relaying {
    fn start(url: &str, brokers: &str, more: &[&str]) -> Relaying {
        let args = [
            &["relay", "--db", url, "--brokers", brokers, "--topic", TOPIC],
            more,
        ]
        .concat();
        let mut child = command(&args)
            .stdin(Stdio::null())
            .spawn()
            .expect("auditlog runs");
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).unwrap();
            text
        });
        Relaying { child, stderr }
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the end (killing it past `PATIENCE`): status and stderr.
    fn finish(mut self) -> (ExitStatus, String) {
        let status = exit_within(&mut self.child, PATIENCE)
            .unwrap_or_else(|| panic!("auditlog relay hung: killed after {PATIENCE:?}"));
        let stderr = self.stderr.join().unwrap();
        eprintln!("--- auditlog relay stderr ---\n{stderr}---");
        (status, stderr)
    }
}

const ALL_ROWS: &str = "SELECT event_id, line FROM audit_events";
const DELIVERED_ROWS: &str =
    "SELECT event_id, line FROM audit_events WHERE delivered_at IS NOT NULL";

#[test]
fn relay_once_delivers_every_row_once_and_prints_a_summary() {
    let (_dir, url) = sqlite_database(50); // and 5 checkpoints
    let kafka = kafka();
    let (status, stderr) =
        Relaying::start(&url, kafka.bootstrap_servers(), &["--once", "--batch", "7"]).finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("relayed 55 rows in 8 batches to topic audit (0 failed rounds)"),
        "{stderr}"
    );
    let rows = lines(&url, ALL_ROWS);
    assert_eq!(lines(&url, DELIVERED_ROWS).len(), 55, "all marked");
    let mut topic = Topic::new(&kafka);
    topic.read_distinct(55);
    assert_eq!(topic.messages.len(), 55, "none twice");
    topic.assert_lines_match(&rows);
}

#[test]
fn relay_errors_name_the_url_the_table_and_the_brokers() {
    let kafka = kafka();
    let brokers = kafka.bootstrap_servers();
    let output = auditlog(
        &["relay", "--db", "mysql://x/y", "--brokers", brokers],
        &[],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("unknown scheme \"mysql\""));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::File::create(&path).unwrap();
    let url = format!("sqlite://{}", path.display());
    let output = auditlog(&["relay", "--db", &url, "--brokers", brokers], &[], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("table audit_events does not exist: run the audit migrations"),
        "{stderr}"
    );

    let (_dir, url) = sqlite_database(1);
    let output = auditlog(
        &[
            "relay",
            "--db",
            &url,
            "--brokers",
            "127.0.0.1:1",
            "--timeout",
            "2",
            "--once",
        ],
        &[],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no Kafka broker reachable at 127.0.0.1:1"),
        "{stderr}"
    );
}

#[test]
fn relay_sigkilled_mid_run_then_restarted_delivers_every_row_duplicates_same_id() {
    let (_dir, url) = sqlite_database(3_000); // and 300 checkpoints
    let kafka = kafka();
    let mut topic = Topic::new(&kafka);
    let relaying = Relaying::start(&url, kafka.bootstrap_servers(), &["--batch", "50"]);
    while topic.messages.len() < 300 {
        topic.read_some(Duration::from_millis(100));
    }
    let mut relaying = relaying;
    relaying.child.kill().unwrap(); // SIGKILL
    let (status, _) = relaying.finish();
    assert_eq!(status.signal(), Some(9), "killed, not finished");
    let delivered_at_kill = lines(&url, DELIVERED_ROWS).len();
    assert!(delivered_at_kill < 3_300, "killed before the end");

    let (status, stderr) = Relaying::start(
        &url,
        kafka.bootstrap_servers(),
        &["--once", "--batch", "50"],
    )
    .finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let rows = lines(&url, ALL_ROWS);
    assert_eq!(lines(&url, DELIVERED_ROWS).len(), rows.len());
    topic.read_distinct(rows.len());
    // Every committed row reached the topic; whatever came twice is the
    // same line under the same id.
    assert_eq!(topic.distinct().len(), 3_300);
    topic.assert_lines_match(&rows);
    eprintln!(
        "figures: relay sigkill: {delivered_at_kill} rows marked at the kill, {} messages for 3300 rows after the restart",
        topic.messages.len()
    );
}

#[test]
fn relay_sigterm_finishes_its_batch_and_exits_0() {
    let (_dir, url) = sqlite_database(5_000); // and 500 checkpoints
    let kafka = kafka();
    let mut topic = Topic::new(&kafka);
    let relaying = Relaying::start(&url, kafka.bootstrap_servers(), &["--batch", "100"]);
    while topic.messages.len() < 200 {
        topic.read_some(Duration::from_millis(100));
    }
    relaying.signal("TERM");
    let (status, stderr) = relaying.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("relayed "), "a summary: {stderr}");
    // The batch in hand was finished: what reached the topic is exactly
    // what is marked delivered, nothing sent and left unmarked.
    let delivered = lines(&url, DELIVERED_ROWS);
    assert!(delivered.len() < 5_500, "stopped before the end");
    topic.read_distinct(delivered.len());
    assert_eq!(
        topic.distinct(),
        delivered.keys().map(String::as_str).collect::<HashSet<_>>()
    );
    assert_eq!(topic.messages.len(), delivered.len(), "none twice");
}

#[test]
fn relay_keeps_trying_while_postgres_is_away_and_delivers_everything_after() {
    let mut server = TestPostgres::start_cluster();
    let url = server.url().to_owned();
    let runtime = runtime();
    let pool = runtime.block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        auditlog_sql::migrate(&pool).await.unwrap();
        record(&pool, "orders-api", 0..20).await;
        pool
    });
    let kafka = kafka();
    let mut topic = Topic::new(&kafka);
    let relaying = Relaying::start(&url, kafka.bootstrap_servers(), &["--poll", "50"]);
    topic.read_distinct(22);

    server.stop_server();
    // Longer than the pool waits for a connection (10 s): rounds fail and
    // are reported.
    std::thread::sleep(Duration::from_secs(12));
    server.start_server();
    runtime.block_on(record(&pool, "orders-api", 20..40));
    topic.read_distinct(44);

    relaying.signal("TERM");
    let (status, stderr) = relaying.finish();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("trying again"), "{stderr}");
    let undelivered: i64 = runtime.block_on(async {
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE delivered_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap()
    });
    assert_eq!(undelivered, 0);
    assert_eq!(topic.distinct().len(), 44);
}
