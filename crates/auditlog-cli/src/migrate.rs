//! `auditlog migrate --db URL`: creates or updates the audit tables (the
//! embedded migrations), for a database no service has migrated yet.

use std::process::ExitCode;

use crate::db::{block_on, connect, fail};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The database (sqlite://PATH or postgres://...). A SQLite file is
    /// created when missing.
    #[arg(long, value_name = "URL")]
    db: String,
}

pub(crate) fn run(args: Args) -> ExitCode {
    if let Err(message) = create_sqlite_file(&args.db) {
        return fail(&message);
    }
    let migrated = block_on(async {
        let pool = connect(&args.db).await?;
        pool.migrate().await.map_err(|e| e.to_string())
    });
    match migrated.and_then(|done| done) {
        Ok(()) => {
            println!("audit tables up to date");
            ExitCode::SUCCESS
        }
        Err(message) => fail(&message),
    }
}

/// Creates the (empty) file a `sqlite://PATH` URL names, if missing: the
/// other subcommands refuse a missing file, so that a typo never reads as
/// an empty table.
fn create_sqlite_file(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return Ok(());
    };
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() {
        return Ok(()); // connect names the problem
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
        .map_err(|e| format!("cannot create {path}: {e}"))
}
