//! What the `--db` subcommands share: a runtime, a connection, the chain
//! key from the environment.

use auditlog_seal::{ChainKey, Keyring, SigningKey};
use auditlog_sql::AnyPool;

use crate::key::KeyEnv;

/// Runs `work` on a single-threaded runtime.
pub(crate) fn block_on<T>(work: impl std::future::Future<Output = T>) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    Ok(runtime.block_on(work))
}

/// Connects to `url` (`sqlite://PATH`, `postgres://...`).
pub(crate) async fn connect(url: &str) -> Result<AnyPool, String> {
    AnyPool::connect(url).await.map_err(|e| e.to_string())
}

/// The HMAC key of `--key-env` as the chain key `kid`, and a keyring that
/// checks links made with it under any key id.
pub(crate) fn chain_key(key_env: &KeyEnv, kid: &str) -> Result<(ChainKey, Keyring), String> {
    let variable = key_env.variable();
    let key = SigningKey::from_env(variable)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no key: ${variable} is not set (or empty); chains need one"))?;
    let ring = Keyring::any_kid_hmac(key.clone());
    let key = ChainKey::hmac(kid, key).map_err(|e| e.to_string())?;
    Ok((key, ring))
}

/// Prints `auditlog: MESSAGE` and picks exit code 2 (could not run).
pub(crate) fn fail(message: &str) -> std::process::ExitCode {
    eprintln!("auditlog: {message}");
    std::process::ExitCode::from(2)
}
