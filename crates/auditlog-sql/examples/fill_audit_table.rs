//! Records N typical events into the audit table at a URL (migrating it
//! first), 1000 to a transaction: the table `scripts/bench-relay.sh` relays.
//!
//! `cargo run --release -p auditlog-sql --example fill_audit_table -- URL N EVENT.json`
//! (the key from `$AUDITLOG_SIGNING_KEY`).

use auditlog_core::AuditEvent;
use auditlog_seal::{ChainKey, SigningKey};
use auditlog_sql::{AnyPool, AuditRecorder};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(count), Some(sample)) = (args.next(), args.next(), args.next()) else {
        return Err("usage: fill_audit_table URL N EVENT.json".into());
    };
    let count: u64 = count.parse()?;
    let template = AuditEvent::parse(&std::fs::read_to_string(sample)?)?.event;
    let secret = std::env::var("AUDITLOG_SIGNING_KEY")?;
    let key = ChainKey::hmac("bench", SigningKey::new(secret).ok_or("an empty key")?)?;
    let recorder = AuditRecorder::new("bench", key)?;
    let pool = AnyPool::connect(&url).await?;
    pool.migrate().await?;
    let AnyPool::Sqlite(pool) = pool else {
        return Err("this example fills SQLite files".into());
    };
    let mut n = 0;
    while n < count {
        let mut tx = pool.begin().await?;
        for _ in 0..1000.min(count - n) {
            let mut event = template.clone();
            event.id = Some(uuid::Uuid::new_v4().to_string());
            recorder.record(&mut tx, event).await?;
            n += 1;
        }
        tx.commit().await?;
    }
    Ok(())
}
