//! The signing key comes from the environment, never from the command line.

use auditlog_seal::SigningKey;

/// The default variable holding the signing key.
pub const DEFAULT_KEY_ENV: &str = "AUDITLOG_SIGNING_KEY";

/// Loads the key from `$variable`; `None` (with a note on stderr) when unset
/// or empty. A value that is not UTF-8 is an error.
pub fn load(variable: &str, without_key: &str) -> Result<Option<SigningKey>, String> {
    let key = SigningKey::from_env(variable).map_err(|e| e.to_string())?;
    if key.is_none() {
        eprintln!("auditlog: ${variable} is not set: {without_key}");
    }
    Ok(key)
}
