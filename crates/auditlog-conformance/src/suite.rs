//! A conformance run as a value: which checks, on what, with which key.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use auditlog_seal::SigningKey;

use crate::events::EventChecks;
use crate::fixtures::run_fixtures;
use crate::schema::Schema;
use crate::{Error, Route, Verdict};

/// The variable the signing key is read from unless
/// [`Suite::key_env`] names another: the one the publisher reads.
pub use auditlog_seal::DEFAULT_KEY_ENV;

/// What to check: the library's fixtures, a service's captured events, the
/// routes the service states. Build it, then [`run`](Self::run) it (or
/// [`main`](Self::main) it from an xtask).
///
/// ```no_run
/// use auditlog_conformance::{Route, Suite};
///
/// let code = Suite::new()
///     .fixtures()                                  // the wire format, as the library sees it
///     .events("target/audit-capture")              // what the service's tests captured
///     .route(Route::new("POST", "/orders").tenant_id().user_id())
///     .route(Route::new("GET", "/orders/{id}"))
///     .main();                                     // prints FAIL lines and the counts
/// # drop(code);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Suite {
    fixtures: bool,
    events: Vec<PathBuf>,
    key: KeySource,
    routes: Vec<Route>,
}

/// Where the key that checks captured signatures comes from.
#[derive(Debug, Clone)]
enum KeySource {
    /// The environment variable of this name, read when the suite runs.
    Env(String),
    /// This key.
    Given(SigningKey),
}

impl Default for Suite {
    fn default() -> Self {
        Self::new()
    }
}

impl Suite {
    /// A suite that checks nothing yet.
    pub fn new() -> Self {
        Suite {
            fixtures: false,
            events: Vec::new(),
            key: KeySource::Env(DEFAULT_KEY_ENV.to_owned()),
            routes: Vec::new(),
        }
    }

    /// Also run the embedded wire-format fixtures through core, seal and
    /// the schema: proof that the auditlog build the service links reads,
    /// canonicalizes, hashes and signs as the reference does.
    pub fn fixtures(mut self) -> Self {
        self.fixtures = true;
        self
    }

    /// Also check the captured events at `path`: a file of JSON lines
    /// (cases named `line N`), or a directory whose `*.jsonl` files are
    /// each read (cases named `FILE line N`). Each event must fit the
    /// schema, be exactly its published form and verify: its hash, and its
    /// signature when the [key variable](Self::key_env) is set.
    pub fn events(mut self, path: impl Into<PathBuf>) -> Self {
        self.events.push(path.into());
        self
    }

    /// The environment variable holding the signing key for captured events
    /// (default [`DEFAULT_KEY_ENV`]). Unset or empty, only hashes are
    /// checked, and the verdict notes it.
    pub fn key_env(mut self, name: impl Into<String>) -> Self {
        self.key = KeySource::Env(name.into());
        self
    }

    /// Checks captured signatures with `key` itself, for an xtask that
    /// holds the key its tests signed with (instead of
    /// [`key_env`](Self::key_env)).
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.key = KeySource::Given(key);
        self
    }

    /// A route of the service whose events the captured ones must keep
    /// promises about (see [`Route`]). Once any route is stated, every
    /// captured event must be of a stated route.
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// Several [routes](Self::route) at once.
    pub fn routes(mut self, routes: impl IntoIterator<Item = Route>) -> Self {
        self.routes.extend(routes);
        self
    }

    /// Runs the checks. `Err` when a check could not run at all (a capture
    /// missing or empty, the key unreadable); failed checks are in the
    /// [`Verdict`].
    pub fn run(&self) -> Result<Verdict, Error> {
        let schema = Schema::new()?;
        let mut verdict = match self.fixtures {
            true => run_fixtures(&schema)?,
            false => Verdict::default(),
        };
        if self.events.is_empty() {
            return Ok(verdict);
        }
        let key = match &self.key {
            KeySource::Given(key) => Some(key.clone()),
            KeySource::Env(name) => {
                let key = SigningKey::from_env(name).map_err(|source| Error::Key { source })?;
                if key.is_none() {
                    verdict.notes.push(format!(
                        "${name} is not set: checking hashes only, not signatures"
                    ));
                }
                key
            }
        };
        let mut checks = EventChecks::new(&schema, key.as_ref(), &self.routes);
        for path in &self.events {
            let mut events = 0;
            for (file, prefix) in capture_files(path)? {
                let text = fs::read(&file).map_err(|source| Error::Io {
                    path: file.clone(),
                    source,
                })?;
                events += checks.check_lines(&text, &prefix, &mut verdict);
            }
            if events == 0 {
                return Err(Error::NoEvents { path: path.clone() });
            }
        }
        checks.record_coverage(&mut verdict);
        Ok(verdict)
    }

    /// [`run`](Self::run) as an xtask's `main` wants it: prints the verdict
    /// (or the error and its causes) and returns the exit code.
    pub fn main(&self) -> ExitCode {
        match self.run() {
            Ok(verdict) => verdict.print(),
            Err(error) => {
                eprintln!("conformance: {}", error.with_causes());
                ExitCode::FAILURE
            }
        }
    }
}

/// The files of a capture, each with the prefix of its case names: the file
/// itself, or the `*.jsonl` files of a directory, by name.
fn capture_files(path: &Path) -> Result<Vec<(PathBuf, String)>, Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    if !fs::metadata(path).map_err(io)?.is_dir() {
        return Ok(vec![(path.to_owned(), String::new())]);
    }
    let mut files = Vec::new();
    for entry in fs::read_dir(path).map_err(io)? {
        let file = entry.map_err(io)?.path();
        if file.extension().is_some_and(|e| e == "jsonl") && file.is_file() {
            let name = file.file_name().unwrap_or_default().to_string_lossy();
            let prefix = format!("{name} ");
            files.push((file, prefix));
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use auditlog_core::AuditEvent;
    use auditlog_seal::seal;

    use super::*;

    fn sealed_line(tenant: &str) -> String {
        let mut event = AuditEvent::builder()
            .tenant_id(tenant)
            .method("GET")
            .action_name("/orders")
            .status("SUCCESS")
            .build();
        seal(&mut event, None);
        event.published_json() + "\n"
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "auditlog-conformance-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_directory_of_captures_is_read_file_by_file() {
        let dir = temp_dir("dir");
        fs::write(dir.join("b.jsonl"), sealed_line("t-1")).unwrap();
        fs::write(dir.join("a.jsonl"), format!("{}{{}}\n", sealed_line("t-2"))).unwrap();
        fs::write(dir.join("notes.txt"), "not a capture").unwrap();
        let verdict = Suite::new()
            .events(&dir)
            .key_env("AUDITLOG_CONFORMANCE_TEST_UNSET_KEY")
            .route(Route::new("GET", "/orders").tenant_id())
            .run()
            .unwrap();
        assert_eq!((verdict.passed, verdict.failed), (3, 1), "{verdict:?}");
        assert!(
            verdict.failures[0].starts_with("FAIL a.jsonl line 2: "),
            "{verdict:?}"
        );
        assert_eq!(
            verdict.notes,
            ["$AUDITLOG_CONFORMANCE_TEST_UNSET_KEY is not set: checking hashes only, not signatures"]
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_given_key_checks_signatures() {
        let dir = temp_dir("key");
        let capture = dir.join("capture.jsonl");
        fs::write(&capture, sealed_line("t-1")).unwrap();
        let key = SigningKey::new("service-key").unwrap();
        let verdict = Suite::new()
            .events(&capture)
            .signing_key(key)
            .run()
            .unwrap();
        assert_eq!(verdict.failed, 1);
        assert!(
            verdict.failures[0].starts_with("FAIL line 1: no signature"),
            "{verdict:?}"
        );
        assert!(verdict.notes.is_empty());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_empty_or_missing_capture_is_an_error_not_a_pass() {
        let dir = temp_dir("empty");
        fs::write(dir.join("empty.jsonl"), "\n\n").unwrap();
        let error = Suite::new().events(&dir).run().unwrap_err();
        assert!(matches!(error, Error::NoEvents { .. }), "{error:?}");
        let error = Suite::new()
            .events(dir.join("empty.jsonl"))
            .run()
            .unwrap_err();
        assert!(matches!(error, Error::NoEvents { .. }), "{error:?}");
        let error = Suite::new()
            .events(dir.join("missing.jsonl"))
            .run()
            .unwrap_err();
        assert!(
            error
                .with_causes()
                .contains("missing.jsonl: cannot read it: "),
            "{error}"
        );
        assert!(std::error::Error::source(&error).is_some());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn nothing_is_checked_by_default() {
        assert_eq!(Suite::new().run().unwrap(), Verdict::default());
    }
}
