//! Finding Debian's PostgreSQL programs and running them as the `postgres`
//! user when the tests run as root: the server refuses to start as root.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where Debian's `postgresql-NN` packages put their programs, one folder per
/// major version; they are not on `PATH`.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The unprivileged account Debian's package creates.
const SERVER_USER: &str = "postgres";

/// The programs of the newest PostgreSQL installed, and how to run them.
#[derive(Debug, Clone)]
pub(super) struct Binaries {
    dir: PathBuf,
    as_server_user: bool,
}

impl Binaries {
    /// The newest `/usr/lib/postgresql/*/bin` holding `initdb` and `pg_ctl`.
    ///
    /// # Panics
    ///
    /// When there is none, saying which package to install.
    pub(super) fn find() -> Self {
        let dir = newest_bin_dir().unwrap_or_else(|| {
            panic!(
                "no PostgreSQL server programs: {DEBIAN_ROOT}/*/bin/initdb and pg_ctl \
                 are missing; install Debian's postgresql package \
                 (apt-get install postgresql); .ci/run does. Or set \
                 AUDITLOG_TEST_POSTGRES to the URL of a server to use"
            )
        });
        Self {
            dir,
            as_server_user: running_as_root(),
        }
    }

    /// The full path of `program` in this installation.
    pub(super) fn path(&self, program: &str) -> PathBuf {
        self.dir.join(program)
    }

    /// Whether server programs run as the `postgres` user (we are root).
    pub(super) fn as_server_user(&self) -> bool {
        self.as_server_user
    }

    /// A command running `program` from this installation, as `postgres`
    /// when we are root, in `cwd` (the server user may not be allowed into
    /// the directory the tests run from).
    pub(super) fn server_command(&self, program: &str, cwd: &Path) -> Command {
        let mut command = if self.as_server_user {
            let mut runuser = Command::new("runuser");
            runuser
                .args(["-u", SERVER_USER, "--"])
                .arg(self.path(program));
            runuser
        } else {
            Command::new(self.path(program))
        };
        command.current_dir(cwd);
        command
    }

    /// Hands `dir` (and what is in it) to the server user, when there is one.
    pub(super) fn give_to_server_user(&self, dir: &Path) {
        if !self.as_server_user {
            return;
        }
        let output = Command::new("chown")
            .arg("-R")
            .arg(format!("{SERVER_USER}:"))
            .arg(dir)
            .output();
        expect_success(
            output,
            &format!("chown -R {SERVER_USER}: {}", dir.display()),
        );
    }
}

/// `psql` from Debian's newest installation, else whichever is on `PATH`:
/// a client is all a test needs against a server it did not start.
pub(super) fn psql() -> PathBuf {
    newest_bin_dir().map_or_else(|| PathBuf::from("psql"), |dir| dir.join("psql"))
}

/// Panics naming `what` unless the program ran and exited 0; returns its
/// standard output.
pub(super) fn expect_success(output: std::io::Result<Output>, what: &str) -> String {
    let output = output.unwrap_or_else(|error| panic!("{what}: could not run it: {error}"));
    assert!(
        output.status.success(),
        "{what}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn newest_bin_dir() -> Option<PathBuf> {
    let versions = std::fs::read_dir(DEBIAN_ROOT).ok()?;
    versions
        .filter_map(|entry| {
            let entry = entry.ok()?;
            // "15", "16", or "9.6" on old releases: compare as numbers.
            let name = entry.file_name().to_string_lossy().into_owned();
            let (major, minor) = name.split_once('.').unwrap_or((&name, "0"));
            let version = (major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?);
            let bin = entry.path().join("bin");
            let complete = bin.join("initdb").is_file() && bin.join("pg_ctl").is_file();
            complete.then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// Linux shows the effective user as the owner of `/proc/self`; std has no
/// `geteuid`, and this crate stays dependency-light.
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}
