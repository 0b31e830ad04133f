//! `SqlRelay` against real databases and the embedded Kafka cluster: lines
//! byte for byte, commit order on PostgreSQL (a transaction held open holds
//! back what committed after it, and nothing is skipped), two relays on one
//! database, a produce failure left for the next round.

use std::collections::HashMap;
use std::time::Duration;

use auditlog_core::AuditEvent;
use auditlog_kafka::mock::EmbeddedKafka;
use auditlog_kafka::{LineProducer, StartAt, TopicReader};
use auditlog_seal::{ChainKey, SigningKey};
use auditlog_sql::{AnyPool, AuditRecorder, SqlRelay};
use auditlog_testkit::TestPostgres;

const SECRET: &str = "relay-secret";
const TOPIC: &str = "audit-relay";

fn recorder(stream: &str) -> AuditRecorder {
    let key = ChainKey::hmac("k1", SigningKey::new(SECRET).unwrap()).unwrap();
    AuditRecorder::new(stream, key).unwrap().checkpoint_every(4)
}

fn event(n: u64) -> AuditEvent {
    AuditEvent::builder()
        .tenant_id("acme")
        .action_name("orders.update")
        .resource_id(n.to_string())
        .build()
}

fn kafka() -> EmbeddedKafka {
    let kafka = EmbeddedKafka::start(1).unwrap();
    kafka.create_topic(TOPIC, 2).unwrap();
    kafka
}

fn relay(pool: AnyPool, kafka: &EmbeddedKafka, batch: usize) -> SqlRelay {
    let producer = LineProducer::new(kafka.bootstrap_servers(), TOPIC, &[]).unwrap();
    SqlRelay::new(pool, producer).batch_size(batch)
}

/// A message as read back: payload, key, `ce_id` header; each verified
/// strictly with the key (the test fails on any that does not verify).
struct Message {
    payload: String,
    key: Option<Vec<u8>>,
    ce_id: Option<Vec<u8>>,
    id: String,
}

/// Every message on the topic: reads until `want` came and then a quiet
/// second (so that a duplicate would show).
fn read_topic(kafka: &EmbeddedKafka, want: usize) -> Vec<Message> {
    let reader = TopicReader::new(
        kafka.bootstrap_servers(),
        TOPIC,
        &[],
        Some(SigningKey::new(SECRET).unwrap()),
        StartAt::Beginning,
        Duration::from_secs(10),
    )
    .unwrap();
    let mut messages = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let wait = if messages.len() >= want {
            Duration::from_secs(1)
        } else {
            Duration::from_millis(200)
        };
        match reader.recv_timeout(wait) {
            Some(read) => {
                let read = read.unwrap();
                let verified = read
                    .verified
                    .unwrap_or_else(|e| panic!("{} does not verify: {e}", read.payload));
                let ce_id = read
                    .headers
                    .iter()
                    .find(|(name, _)| name == "ce_id")
                    .map(|(_, value)| value.clone());
                messages.push(Message {
                    payload: read.payload,
                    key: read.key,
                    ce_id,
                    id: verified.event.id.unwrap(),
                });
            }
            None if messages.len() >= want => return messages,
            None => assert!(
                std::time::Instant::now() < deadline,
                "{} of {want} messages came",
                messages.len()
            ),
        }
    }
}

fn counts(messages: &[Message]) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for message in messages {
        *counts.entry(message.id.as_str()).or_default() += 1;
    }
    counts
}

/// Rounds until one relays nothing; the rows relayed.
async fn relay_all(relay: &SqlRelay) -> usize {
    let mut total = 0;
    loop {
        match relay.relay_batch().await.unwrap().relayed {
            0 => return total,
            n => total += n,
        }
    }
}

async fn sqlite_pool(dir: &tempfile::TempDir) -> sqlx::SqlitePool {
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("audit.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    auditlog_sql::migrate(&pool).await.unwrap();
    pool
}

async fn postgres_pool(server: &TestPostgres) -> sqlx::PgPool {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(server.url())
        .await
        .unwrap();
    auditlog_sql::migrate(&pool).await.unwrap();
    pool
}

async fn record<DB: auditlog_sql::Backend>(pool: &sqlx::Pool<DB>, stream: &str, n: u64) {
    let recorder = recorder(stream);
    for n in 1..=n {
        let mut tx = pool.begin().await.unwrap();
        recorder.record(&mut tx, event(n)).await.unwrap();
        tx.commit().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rows_go_to_the_topic_byte_for_byte_keyed_by_stream() {
    let dir = tempfile::tempdir().unwrap();
    let pool = sqlite_pool(&dir).await;
    record(&pool, "orders-api", 6).await; // 6 events, 1 checkpoint
    let kafka = kafka();
    let relay = relay(AnyPool::Sqlite(pool.clone()), &kafka, 4);

    assert_eq!(relay.backlog().await.unwrap().undelivered, 7);
    assert_eq!(relay_all(&relay).await, 7);
    let backlog = relay.backlog().await.unwrap();
    assert_eq!((backlog.undelivered, backlog.oldest), (0, None));

    let lines: HashMap<String, String> =
        sqlx::query_as("SELECT event_id, line FROM audit_events WHERE delivered_at IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(lines.len(), 7, "every row marked delivered");
    let messages = read_topic(&kafka, 7);
    assert_eq!(messages.len(), 7);
    for message in &messages {
        assert_eq!(lines[&message.id], message.payload, "byte for byte");
        assert_eq!(message.key.as_deref(), Some(&b"orders-api"[..]));
        assert_eq!(message.ce_id.as_deref(), Some(message.id.as_bytes()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_kafka_does_not_acknowledge_stays_undelivered_for_the_next_round() {
    let dir = tempfile::tempdir().unwrap();
    let pool = sqlite_pool(&dir).await;
    record(&pool, "billing", 3).await;
    let kafka = kafka();
    let producer = LineProducer::new(
        kafka.bootstrap_servers(),
        TOPIC,
        &[("message.timeout.ms".into(), "1500".into())],
    )
    .unwrap();
    let relay = SqlRelay::new(AnyPool::Sqlite(pool.clone()), producer);

    kafka.broker_down(1).unwrap();
    let error = relay.relay_batch().await.unwrap_err();
    assert!(
        matches!(
            error,
            auditlog_sql::Error::NotDelivered {
                delivered: 0,
                failed: 3,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(relay.backlog().await.unwrap().undelivered, 3);

    kafka.broker_up(1).unwrap();
    assert_eq!(relay_all(&relay).await, 3);
    assert_eq!(relay.backlog().await.unwrap().undelivered, 0);
    let messages = read_topic(&kafka, 3);
    assert!(counts(&messages).values().all(|&n| n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_held_open_holds_back_later_commits_and_nothing_is_skipped() {
    let server = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap();
    let pool = postgres_pool(&server).await;
    record(&pool, "before", 1).await;

    // Takes a txid with its row, then stays open while later ones commit.
    let mut held = pool.begin().await.unwrap();
    let early = recorder("early").record(&mut held, event(1)).await.unwrap();
    record(&pool, "late", 3).await;

    let kafka = kafka();
    let relay = relay(AnyPool::Postgres(pool.clone()), &kafka, 100);
    // Only what committed before the held transaction began: the later rows
    // have higher txids, and a relay that sent them now and remembered them
    // as a high-water mark would skip the held row for good.
    assert_eq!(relay_all(&relay).await, 1);
    assert_eq!(relay.backlog().await.unwrap().undelivered, 3);

    held.commit().await.unwrap();
    assert_eq!(relay_all(&relay).await, 4);
    assert_eq!(relay.backlog().await.unwrap().undelivered, 0);

    let messages = read_topic(&kafka, 5);
    let counts = counts(&messages);
    assert_eq!(counts.len(), 5);
    assert_eq!(counts.get(early.event_id.as_str()), Some(&1));
    assert!(counts.values().all(|&n| n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_seq_with_an_earlier_txid_waits_for_its_stream() {
    let server = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap();
    let pool = postgres_pool(&server).await;
    let txid = "SELECT pg_current_xact_id()::text";
    // A takes its txid first (a business write, say), then records.
    let mut early = pool.begin().await.unwrap();
    sqlx::query(txid).execute(&mut *early).await.unwrap();
    // An unrelated transaction holds the horizon just above A's txid.
    let mut horizon = pool.begin().await.unwrap();
    sqlx::query(txid).execute(&mut *horizon).await.unwrap();
    // B records seq 1 (a txid above both) while A waits for the stream lock.
    let mut first = pool.begin().await.unwrap();
    let seq_1 = recorder("s").record(&mut first, event(1)).await.unwrap();
    let waiting = tokio::spawn(async move {
        let seq_2 = recorder("s").record(&mut early, event(2)).await.unwrap();
        early.commit().await.unwrap();
        seq_2
    });
    first.commit().await.unwrap();
    let seq_2 = waiting.await.unwrap();
    assert_eq!((seq_1.seq, seq_2.seq), (1, 2));

    // Seq 2 is below the horizon, seq 1 is not: neither goes yet.
    let kafka = kafka();
    let relay = relay(AnyPool::Postgres(pool.clone()), &kafka, 100);
    assert_eq!(relay_all(&relay).await, 0);
    horizon.rollback().await.unwrap();
    assert_eq!(relay_all(&relay).await, 2);

    let messages = read_topic(&kafka, 2);
    let order: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(order, [seq_1.event_id.as_str(), seq_2.event_id.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_database_send_every_row_once() {
    let server = tokio::task::spawn_blocking(TestPostgres::start)
        .await
        .unwrap();
    let pool = postgres_pool(&server).await;
    let writers: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|stream| {
            let pool = pool.clone();
            tokio::spawn(async move { record(&pool, stream, 80).await })
        })
        .collect();
    let kafka = kafka();
    // The relays start while the writers still commit.
    let relays: Vec<_> = (0..2)
        .map(|_| {
            let relay = relay(AnyPool::Postgres(pool.clone()), &kafka, 16);
            tokio::spawn(async move {
                let mut relayed = 0;
                let mut idle = 0;
                while idle < 20 {
                    match relay.relay_batch().await.unwrap().relayed {
                        0 => {
                            idle += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        n => {
                            idle = 0;
                            relayed += n;
                        }
                    }
                }
                relayed
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let mut per_relay = Vec::new();
    for relay in relays {
        per_relay.push(relay.await.unwrap());
    }
    let total = 3 * (80 + 20); // events and a checkpoint every 4
    assert_eq!(per_relay.iter().sum::<usize>(), total, "{per_relay:?}");

    let messages = read_topic(&kafka, total);
    let counts = counts(&messages);
    assert_eq!(counts.len(), total);
    let twice: Vec<_> = counts.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_relay_per_sqlite_file_the_second_waits_for_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let pool = sqlite_pool(&dir).await;
    record(&pool, "billing", 2).await;
    let kafka = kafka();
    let first = relay(AnyPool::Sqlite(pool.clone()), &kafka, 10);
    let second = relay(AnyPool::Sqlite(pool.clone()), &kafka, 10);
    assert_eq!(relay_all(&first).await, 2);

    record(&pool, "billing", 1).await;
    let error = second.relay_batch().await.unwrap_err();
    assert!(
        error.to_string().contains("another relay holds")
            && error.to_string().contains("audit.db.relay-lock"),
        "{error}"
    );
    drop(first); // releases the lock, as a relay process that ends does
    assert_eq!(relay_all(&second).await, 1);
    let messages = read_topic(&kafka, 3);
    assert_eq!(counts(&messages).len(), 3);
    assert!(counts(&messages).values().all(|&n| n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_do_not_wait_for_a_round_waiting_on_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let pool = sqlite_pool(&dir).await;
    record(&pool, "billing", 2).await;
    let kafka = kafka();
    let producer = LineProducer::new(
        kafka.bootstrap_servers(),
        TOPIC,
        &[("message.timeout.ms".into(), "10000".into())],
    )
    .unwrap();
    let relay = SqlRelay::new(AnyPool::Sqlite(pool.clone()), producer);
    kafka.broker_down(1).unwrap();
    let round = tokio::spawn(async move { (relay.relay_batch().await, relay) });
    // Until the round has claimed its rows and waits on the broker.
    while !dir.path().join("audit.db.relay-lock").exists() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A writer that would fail at once on a held write lock.
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
    let impatient = sqlx::SqlitePool::connect_with(options.busy_timeout(Duration::ZERO))
        .await
        .unwrap();
    let mut tx = impatient.begin().await.unwrap();
    recorder("billing").record(&mut tx, event(3)).await.unwrap();
    tx.commit().await.unwrap();
    assert!(!round.is_finished(), "the round still waits on the broker");

    let (result, relay) = round.await.unwrap();
    assert!(matches!(
        result,
        Err(auditlog_sql::Error::NotDelivered { failed: 2, .. })
    ));
    kafka.broker_up(1).unwrap();
    assert_eq!(relay_all(&relay).await, 3);
}
