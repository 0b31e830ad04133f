//! The throwaway PostgreSQL cluster, against a real server: it accepts
//! connections and SQL, two run side by side, it survives a stop and start,
//! and dropping it leaves nothing behind.

use std::net::{SocketAddr, TcpStream};

use auditlog_testkit::postgres::SERVER_URL_ENV;
use auditlog_testkit::TestPostgres;

/// The `127.0.0.1:PORT` of our own cluster's URL.
fn address(postgres: &TestPostgres) -> SocketAddr {
    let url = postgres.url();
    let host_and_port = url
        .split_once('@')
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(authority, _)| authority)
        .unwrap_or_else(|| panic!("no host:port in {url}"));
    host_and_port
        .parse()
        .unwrap_or_else(|error| panic!("{host_and_port}: {error}"))
}

fn accepts_tcp(address: SocketAddr) -> bool {
    TcpStream::connect(address).is_ok()
}

#[test]
fn an_own_cluster_serves_sql_over_tcp_and_is_gone_after_drop() {
    let postgres = TestPostgres::start_cluster();
    let url = postgres.url().to_owned();
    assert!(
        url.starts_with("postgres://postgres@127.0.0.1:") && url.ends_with("/postgres"),
        "{url}"
    );
    let address = address(&postgres);
    assert!(accepts_tcp(address), "nothing listens on {address}");
    assert_eq!(postgres.psql("SELECT 1 + 1"), "2");
    let data_dir = postgres
        .data_dir()
        .expect("our own cluster has a data directory");
    assert!(
        data_dir.join("PG_VERSION").is_file(),
        "{}",
        data_dir.display()
    );

    drop(postgres);

    assert!(!data_dir.exists(), "{} is still there", data_dir.display());
    let root = data_dir
        .parent()
        .expect("the cluster's temporary directory");
    assert!(!root.exists(), "{} is still there", root.display());
    assert!(!accepts_tcp(address), "the server on {address} still runs");
}

#[test]
fn two_clusters_run_side_by_side_without_sharing_anything() {
    let first = TestPostgres::start_cluster();
    let second = TestPostgres::start_cluster();
    assert_ne!(address(&first), address(&second));
    assert_ne!(first.data_dir(), second.data_dir());

    first.psql("CREATE TABLE only_in_first (id int)");

    assert_eq!(
        first.psql("SELECT to_regclass('only_in_first') IS NOT NULL"),
        "t"
    );
    assert_eq!(
        second.psql("SELECT to_regclass('only_in_first') IS NOT NULL"),
        "f"
    );
    assert!(accepts_tcp(address(&first)) && accepts_tcp(address(&second)));
}

#[test]
fn a_stopped_server_comes_back_with_its_committed_data_on_the_same_url() {
    let mut postgres = TestPostgres::start_cluster();
    postgres.psql("CREATE TABLE orders (id int PRIMARY KEY, state text)");
    postgres.psql("INSERT INTO orders VALUES (7, 'shipped')");
    let address = address(&postgres);

    postgres.stop_server();
    assert!(!postgres.is_running());
    assert!(!accepts_tcp(address), "the server on {address} still runs");

    postgres.start_server();
    assert!(postgres.is_running());
    assert_eq!(
        postgres.psql("SELECT state FROM orders WHERE id = 7"),
        "shipped"
    );
}

#[test]
fn start_uses_the_named_server_when_there_is_one_else_an_own_cluster() {
    let postgres = TestPostgres::start();
    let named = std::env::var(SERVER_URL_ENV).is_ok_and(|url| !url.is_empty());
    // A fresh database on the named server; our own cluster otherwise.
    assert_eq!(postgres.data_dir().is_none(), named, "{}", postgres.url());
    assert_eq!(
        postgres.psql("SELECT current_database() LIKE 'auditlog_test_%'"),
        if named { "t" } else { "f" }
    );
}
