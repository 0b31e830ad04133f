//! The signing key comes from the environment, never from the command line;
//! a keyring file must be its owner's alone.

use std::path::Path;

use auditlog_seal::{Keyring, SigningKey};

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

/// Reads a keyring file, refused when group or others can read or write it:
/// it may hold secret keys (to read), and whoever can write it chooses the
/// keys a chain is verified with. A ring of public keys alone is refused
/// too: one rule, no guess about the content (`--public-key` takes a single
/// public key from any file).
pub fn keyring(path: &Path) -> Result<Keyring, String> {
    owner_only(path, "a keyring holds secret keys")?;
    Keyring::from_file(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// An error when group or others may read or write `path` (Unix).
pub fn owner_only(path: &Path, why: &str) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta =
            std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o066 != 0 {
            return Err(format!(
                "{}: readable or writable by group or others (mode {mode:04o}); {why}: `chmod 600` it",
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, why);
    Ok(())
}
