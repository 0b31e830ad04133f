//! What recording an audit event costs a transaction: the same business
//! transaction (update an order row, commit) with and without
//! `AuditRecorder::record` of its event, alternating, on one connection.
//! Prints the median wall time and this process's CPU per transaction.
//!
//! ```sh
//! cargo run --release -p auditlog-sql --example record_cost -- URL [TRANSACTIONS] [RUNS]
//! ```
//!
//! `URL` is `sqlite://PATH` (created; WAL journal, synchronous FULL) or
//! `postgres://...` (`scripts/bench-sql-record.sh` starts a throwaway
//! server with fsync on). The database's audit tables are migrated and an
//! `orders` table is created if missing.

use std::error::Error;
use std::str::FromStr;
use std::time::{Duration, Instant};

use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, SigningKey};
use auditlog_sql::{AuditRecorder, Backend};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Executor, IntoArguments, Pool};

type BoxError = Box<dyn Error>;

/// One run's figures for one mode, per transaction.
#[derive(Clone, Copy)]
struct PerTransaction {
    wall: Duration,
    cpu: Duration,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: record_cost URL [TRANSACTIONS] [RUNS]")?;
    let transactions: u32 = args.next().map_or(Ok(2000), |n| n.parse())?;
    let runs: usize = args.next().map_or(Ok(5), |n| n.parse())?;
    let (bare, audited) = if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        measure(&pool, "?1", "?2", transactions, runs).await?
    } else {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await?;
        measure(&pool, "$1", "$2", transactions, runs).await?
    };
    let (bare_wall, bare_cpu) = medians(&bare);
    let (audited_wall, audited_cpu) = medians(&audited);
    println!("database: {}", url.split(':').next().unwrap_or("?"));
    println!("transactions per run: {transactions}, runs: {runs} (medians)");
    println!("mode       wall/tx    client CPU/tx");
    println!(
        "bare       {:>8.1} µs {:>8.1} µs",
        us(bare_wall),
        us(bare_cpu)
    );
    println!(
        "audited    {:>8.1} µs {:>8.1} µs",
        us(audited_wall),
        us(audited_cpu)
    );
    println!(
        "audit row  {:>+8.1} µs {:>+8.1} µs   (wall x{:.2})",
        us(audited_wall) - us(bare_wall),
        us(audited_cpu) - us(bare_cpu),
        us(audited_wall) / us(bare_wall)
    );
    Ok(())
}

/// Runs the bare and the audited transaction `runs` times each,
/// alternating which goes first.
async fn measure<DB>(
    pool: &Pool<DB>,
    first: &str,
    second: &str,
    transactions: u32,
    runs: usize,
) -> Result<(Vec<PerTransaction>, Vec<PerTransaction>), BoxError>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    auditlog_sql::migrate(pool).await?;
    pool.execute(
        "CREATE TABLE IF NOT EXISTS orders \
         (id BIGINT PRIMARY KEY, status TEXT NOT NULL, version BIGINT NOT NULL)",
    )
    .await?;
    pool.execute(
        "INSERT INTO orders (id, status, version) VALUES (1, 'open', 0) ON CONFLICT DO NOTHING",
    )
    .await?;
    let update =
        format!("UPDATE orders SET status = {first}, version = version + 1 WHERE id = {second}");
    let key = ChainKey::hmac("bench", SigningKey::new("bench-secret").ok_or("empty key")?)?;
    let recorder = AuditRecorder::new("orders-bench", key)?;
    let mut bare = Vec::new();
    let mut audited = Vec::new();
    for run in 0..runs {
        for audit in [run % 2 == 1, run % 2 == 0] {
            let started = (Instant::now(), process_cpu()?);
            for i in 0..transactions {
                let mut tx = pool.begin().await?;
                let status = format!("status-{i}");
                sqlx::query(&update)
                    .bind(status.clone())
                    .bind(1_i64)
                    .execute(&mut *tx)
                    .await?;
                if audit {
                    recorder.record(&mut tx, order_event(&status)).await?;
                }
                tx.commit().await?;
            }
            let figures = PerTransaction {
                wall: started.0.elapsed() / transactions,
                cpu: (process_cpu()? - started.1) / transactions,
            };
            if audit { &mut audited } else { &mut bare }.push(figures);
        }
    }
    Ok((bare, audited))
}

/// The event a service records for the update: a typical size.
fn order_event(status: &str) -> AuditEvent {
    let mut event = AuditEvent::builder()
        .tenant_id("acme")
        .user_id("alice")
        .action_name("orders.update")
        .resource("order")
        .resource_id("1")
        .build();
    let data = event.eventdata.get_or_insert_with(Default::default);
    data.requestpayload.insert("before".into(), "open".into());
    data.responsepayload.insert("after".into(), status.into());
    event
}

/// This process's user + system CPU time, from `/proc/self/stat`.
fn process_cpu() -> Result<Duration, BoxError> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces): utime is the
    // 14th field of the line, stime the 15th.
    let after_name = stat.rsplit_once(')').ok_or("bad /proc/self/stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(Duration::from_secs_f64(
        ticks as f64 / CLOCK_TICKS_PER_SECOND,
    ))
}

/// `getconf CLK_TCK`: 100 on Linux (the kernel's USER_HZ).
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

fn medians(figures: &[PerTransaction]) -> (Duration, Duration) {
    let median = |mut values: Vec<Duration>| {
        values.sort();
        values[values.len() / 2]
    };
    (
        median(figures.iter().map(|f| f.wall).collect()),
        median(figures.iter().map(|f| f.cpu).collect()),
    )
}

fn us(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
