//! `--db URL`: audit tables in a SQL database, read through `auditlog-sql`.

use std::process::ExitCode;

use auditlog_seal::StreamVerifier;
use auditlog_sql::AnyPool;

/// Verifies the audit table at `url` with `verifier`; prints the report.
pub(crate) fn verify_table(url: &str, verifier: StreamVerifier<'_>) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let report = runtime
        .block_on(async {
            let pool = AnyPool::connect(url).await?;
            pool.verify_table(verifier).await
        })
        .map_err(|e| e.to_string())?;
    print!("{report}");
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
