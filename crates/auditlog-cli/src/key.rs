//! The signing key comes from the environment, never from the command line;
//! a keyring file must be its owner's alone.

use std::path::Path;

use auditlog_seal::{Keyring, SigningKey};

/// The default variable holding the signing key.
pub(crate) use auditlog_seal::DEFAULT_KEY_ENV;

/// `--key-env NAME`: where the key is. A variable named on the command line
/// must be set: a typo never silently turns signing or checking off.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct KeyEnv {
    /// Environment variable holding the HMAC key [default: AUDITLOG_SIGNING_KEY].
    /// When named here it must be set.
    #[arg(id = "key_env", long = "key-env", value_name = "NAME")]
    name: Option<String>,
}

impl KeyEnv {
    /// The variable read.
    pub(crate) fn variable(&self) -> &str {
        self.name.as_deref().unwrap_or(DEFAULT_KEY_ENV)
    }

    /// The key, or `None` (with a note on stderr saying `without_key`) when
    /// the default variable is unset or empty. A variable named with
    /// `--key-env` that is unset, or a value that is not UTF-8, is an error.
    pub(crate) fn load(&self, without_key: &str) -> Result<Option<SigningKey>, String> {
        let variable = self.variable();
        match self.read()? {
            Some(key) => Ok(Some(key)),
            None if self.name.is_some() => Err(format!(
                "--key-env {variable}: ${variable} is not set (or empty)"
            )),
            None => {
                eprintln!("auditlog: ${variable} is not set: {without_key}");
                Ok(None)
            }
        }
    }

    /// The key to verify with: required, unless `hash_only`, where no key is
    /// read and nothing will be authenticated.
    pub(crate) fn for_verifying(&self, hash_only: bool) -> Result<Option<SigningKey>, String> {
        if hash_only {
            eprintln!("auditlog: --hash-only: hashes are checked, signatures are not: nothing is authenticated");
            return Ok(None);
        }
        let variable = self.variable();
        self.read()?.map(Some).ok_or_else(|| {
            format!(
                "no key: ${variable} is not set (or empty). Without the signing key anyone \
                 could have made these events; give the key, or --hash-only to check hashes \
                 alone (which authenticates nothing)"
            )
        })
    }

    fn read(&self) -> Result<Option<SigningKey>, String> {
        SigningKey::from_env(self.variable()).map_err(|e| e.to_string())
    }
}

/// Reads a keyring file, refused when group or others can read or write it:
/// it may hold secret keys (to read), and whoever can write it chooses the
/// keys a chain is verified with. A ring of public keys alone is refused
/// too: one rule, no guess about the content (`--public-key` takes a single
/// public key from any file).
///
/// The checks and the read go through one handle opened without following
/// a symbolic link, and the file must be its owner's (the effective user):
/// a file planted or swapped in by another user is never read.
pub(crate) fn keyring(path: &Path) -> Result<Keyring, String> {
    use std::io::Read as _;
    let mut options = auditlog_sink::owner_only::options();
    options.read(true);
    let mut file = auditlog_sink::owner_only::open(&options, path).map_err(|e| e.to_string())?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    refuse_shared_mode(&metadata, path, "a keyring holds secret keys")?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Keyring::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// An error when group or others may read or write `path` (Unix), naming
/// its mode and `why` that matters. `auditlog_sink::owner_only` does not
/// fit: it creates files `0600` and refuses links and other owners, while
/// this judges by mode a file the user wrote, to refuse it or warn.
pub(crate) fn check_owner_only_mode(path: &Path, why: &str) -> Result<(), String> {
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    refuse_shared_mode(&metadata, path, why)
}

/// An error when `metadata`'s mode lets group or others read or write.
fn refuse_shared_mode(metadata: &std::fs::Metadata, path: &Path, why: &str) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o066 != 0 {
            return Err(format!(
                "{}: readable or writable by group or others (mode {mode:04o}); {why}: `chmod 600` it",
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (metadata, path, why);
    Ok(())
}
