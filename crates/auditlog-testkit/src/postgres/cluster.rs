//! A throwaway PostgreSQL cluster of our own: `initdb` in a temporary
//! directory, a server on a free port of 127.0.0.1, stopped and removed on
//! drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::binaries::{expect_success, Binaries};

/// How often to try another port when the free one we picked was taken
/// before the server bound it (another test, another process).
const PORT_ATTEMPTS: usize = 5;

/// A running (or deliberately stopped) cluster and the directory it lives
/// in: `data/` for the cluster, the Unix socket and `server.log` beside it.
#[derive(Debug)]
pub(super) struct LocalCluster {
    binaries: Binaries,
    // Dropped after `Drop::drop` has stopped the server, removing it all.
    root: TempDir,
    port: u16,
    url: String,
    running: bool,
}

impl LocalCluster {
    /// Creates the cluster and starts its server.
    ///
    /// # Panics
    ///
    /// When the programs are missing, or `initdb` or the server fail (with
    /// their output and the server log).
    pub(super) fn start() -> Self {
        let binaries = Binaries::find();
        let root = tempfile::Builder::new()
            .prefix("auditlog-pg-")
            .tempdir()
            .expect("a temporary directory for a PostgreSQL cluster");
        binaries.give_to_server_user(root.path());
        let mut cluster = Self {
            binaries,
            root,
            port: 0,
            url: String::new(),
            running: false,
        };
        cluster.init_data_dir();
        for _ in 0..PORT_ATTEMPTS {
            cluster.port = free_port();
            if cluster.try_start() {
                cluster.url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
                return cluster;
            }
        }
        panic!(
            "the PostgreSQL server did not start in {} ({PORT_ATTEMPTS} ports tried); \
             server log:\n{}",
            cluster.root.path().display(),
            cluster.server_log()
        );
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`: the superuser, no
    /// password (trust), the default database.
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// The cluster's data directory, gone once this is dropped.
    pub(super) fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// Whether the server is up (as far as we started and stopped it).
    pub(super) fn is_running(&self) -> bool {
        self.running
    }

    /// Stops the server at once, as a crash would (`-m immediate`: no
    /// checkpoint, clients cut off). The data stays for [`Self::start_again`].
    pub(super) fn stop(&mut self) {
        if !self.running {
            return;
        }
        let output = self
            .pg_ctl()
            .args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(self.data_dir())
            .output();
        expect_success(output, "pg_ctl stop");
        self.running = false;
    }

    /// Starts the stopped server again on the same port with the same data,
    /// so a client's URL works again.
    ///
    /// # Panics
    ///
    /// When it does not start (say, the port was taken in the meantime).
    pub(super) fn start_again(&mut self) {
        if self.running {
            return;
        }
        assert!(
            self.try_start(),
            "the PostgreSQL server did not start again on port {}; server log:\n{}",
            self.port,
            self.server_log()
        );
    }

    fn init_data_dir(&self) {
        let output = self
            .binaries
            .server_command("initdb", self.root.path())
            .arg("-D")
            .arg(self.data_dir())
            // Trust: tests connect as `postgres` with no password, and only
            // over 127.0.0.1 and a socket in our own directory.
            .args(["--auth=trust", "--username=postgres", "--encoding=UTF8"])
            // C locale: containers often have no other, and sorting stays
            // the same everywhere. No sync: a test cluster need not survive
            // a power cut.
            .args(["--locale=C", "--no-sync"])
            .output();
        let what = if self.binaries.as_server_user() {
            // The usual cause: a TMPDIR under /root, closed to that user.
            format!(
                "initdb as the postgres user in {} (it must be able to reach that \
                 directory; set TMPDIR to one it can, such as /tmp)",
                self.root.path().display()
            )
        } else {
            format!("initdb in {}", self.root.path().display())
        };
        expect_success(output, &what);
    }

    /// Starts the server and waits until it accepts connections; false when
    /// it exited instead (the port taken, most likely).
    fn try_start(&mut self) -> bool {
        let socket_dir = self.root.path().display().to_string();
        // -F: no fsync, a test cluster need not survive a power cut.
        let options = format!("-k '{socket_dir}' -p {} -h 127.0.0.1 -F", self.port);
        let status = self
            .pg_ctl()
            .args(["start", "-w", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .arg("-o")
            .arg(options)
            .output()
            .expect("run pg_ctl start")
            .status;
        self.running = status.success();
        self.running
    }

    fn pg_ctl(&self) -> std::process::Command {
        self.binaries.server_command("pg_ctl", self.root.path())
    }

    fn log_path(&self) -> PathBuf {
        self.root.path().join("server.log")
    }

    fn server_log(&self) -> String {
        read_or_say_why(&self.log_path())
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        // Not `stop`: a panic here, while a failing test unwinds, would abort
        // the test binary and hide the real failure.
        let _stopped = self
            .pg_ctl()
            .args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(self.data_dir())
            .output();
    }
}

/// A port nobody listens on right now. The server binds it a moment later,
/// so another process may take it first: the caller retries.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    listener
        .local_addr()
        .expect("the address of a bound port")
        .port()
}

fn read_or_say_why(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| format!("(no log at {}: {error})", path.display()))
}
