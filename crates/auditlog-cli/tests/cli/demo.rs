//! `auditlog demo` end to end: the scripted tour and `--listen` with a
//! graceful SIGTERM, both against the embedded Kafka, checking the events
//! they read back and wrote with `--events-out`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use auditlog_core::AuditEvent;
use auditlog_seal::SigningKey;

const KEY: &str = "demo-test-key";

fn events_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("auditlog-demo-{}-{name}.jsonl", std::process::id()))
}

/// Every line of `path`, verified with the key.
fn read_events(path: &PathBuf) -> Vec<AuditEvent> {
    let key = SigningKey::new(KEY).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            auditlog_seal::verify_json(line, Some(&key))
                .unwrap_or_else(|e| panic!("{e}: {line}"))
                .event
        })
        .collect()
}

/// `(method, name, resource/id, severity, status)` of an event.
fn summary(event: &AuditEvent) -> (String, String, String, String, String) {
    let action = event.action.clone().unwrap_or_default();
    let objectref = event.objectref.clone().unwrap_or_default();
    let resource = match objectref.resourceid {
        Some(id) => format!("{}/{id}", objectref.resource.unwrap_or_default()),
        None => objectref.resource.unwrap_or_default(),
    };
    (
        action.method.unwrap_or_default(),
        action.name.unwrap_or_default(),
        resource,
        action.severity.unwrap_or_default(),
        action.status.unwrap_or_default(),
    )
}

#[test]
fn the_tour_publishes_reads_back_and_verifies_every_event() {
    let path = events_file("tour");
    let output = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["demo", "--capture-payloads", "--events-out"])
        .arg(&path)
        .env("AUDITLOG_SIGNING_KEY", KEY)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("11 events published, 11 read back, 11 verified"),
        "{stdout}"
    );
    assert!(
        !stderr.contains("panicked at"),
        "the deliberate panic is quiet: {stderr}"
    );

    let events = read_events(&path);
    std::fs::remove_file(&path).unwrap();
    let got: Vec<_> = events.iter().map(summary).collect();
    let row = |m: &str, n: &str, r: &str, sev: &str, st: &str| {
        (m.into(), n.into(), r.into(), sev.into(), st.into())
    };
    assert_eq!(
        got,
        vec![
            row("GET", "/orders/{id}", "orders/1", "INFO", "SUCCESS"),
            row("POST", "/orders", "orders/2", "INFO", "SUCCESS"),
            row("GET", "/orders/{id}", "orders/2", "INFO", "SUCCESS"),
            row("GET", "/orders/{id}", "orders/99", "WARNING", "FAILURE"),
            row("POST", "/orders", "orders", "WARNING", "FAILURE"),
            row("DELETE", "/orders/{id}", "orders/2", "INFO", "SUCCESS"),
            row("GET", "/orders/{id}", "orders/2", "WARNING", "FAILURE"),
            row("GET", "/boom", "boom", "ERROR", "FAILURE"),
            row("GET", "/stream", "stream", "INFO", "SUCCESS"),
            row("GET", "/orders/{id}", "orders/1", "INFO", "SUCCESS"),
            row("DELETE", "/orders/{id}", "orders/1", "INFO", "SUCCESS"),
        ]
    );

    // Identity from the headers, the client address, captured payloads.
    let created = &events[1];
    assert_eq!(created.tenantid.as_deref(), Some("acme"));
    assert_eq!(created.transactionid.as_deref(), Some("checkout-7f3a"));
    let subject = created.subject.as_ref().unwrap();
    assert_eq!(
        (subject.userid.as_deref(), subject.user_type.as_deref()),
        (Some("bob"), Some("USER"))
    );
    let network = created.network.as_ref().unwrap();
    assert_eq!(network.sourceip.as_deref(), Some("127.0.0.1"));
    assert_eq!(network.useragent.as_deref(), Some("auditlog-demo-tour/1.0"));
    let data = created.eventdata.as_ref().unwrap();
    let request = data.requestpayload.clone();
    let payment = request["payment"].as_object().unwrap();
    assert_eq!(payment["token"].as_str(), Some("[REDACTED]"));
    assert_eq!(payment["card"].as_str(), Some("[REDACTED]"));
    assert_eq!(request["item"].as_str(), Some("coffee beans"));
    assert_eq!(data.responsepayload["id"].to_json(), "2");
    // Text that is not JSON is described, not stored.
    let rejected = &events[4].eventdata.as_ref().unwrap().requestpayload;
    let omitted = rejected["_omitted"].as_object().unwrap();
    assert_eq!(omitted["reason"].as_str(), Some("unparseable"));
    assert!(!events[4].published_json().contains("espresso"));
    // A trusted proxy's X-Forwarded-For; a W3C traceparent.
    let proxied = events[9].network.as_ref().unwrap();
    assert_eq!(proxied.sourceip.as_deref(), Some("203.0.113.7"));
    // Identity from the app's authentication: carol's token, not the
    // tenantId header her request also carried (noted as ignored).
    assert_eq!(events[9].tenantid.as_deref(), Some("globex"));
    let noted = &events[9].eventdata.as_ref().unwrap().requestpayload;
    assert_eq!(noted["_identity"].to_json(), r#"{"ignored":["tenantId"]}"#);
    assert_eq!(
        events[10].traceid.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(
        events[10].subject.as_ref().unwrap().user_type.as_deref(),
        Some("SERVICE")
    );
    // Events are distinct.
    let mut ids: Vec<_> = events.iter().map(|e| e.id.clone().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 11);
}

#[test]
fn with_a_spool_and_write_ahead_every_response_waits_for_its_event() {
    let spool = tempfile::tempdir().unwrap();
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_auditlog"))
            .args(["demo", "--write-ahead", "--spool"])
            .arg(spool.path())
            .env("AUDITLOG_SIGNING_KEY", KEY)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{stdout}");
        stdout
    };
    let stdout = run();
    assert!(
        stdout.contains(
            "11 events published, 11 read back, 11 verified, \
             11 responses sent after their event was fsynced (0 write-ahead failures)"
        ),
        "{stdout}"
    );
    // Everything was delivered: the next run on the spool finds nothing left.
    let stdout = run();
    assert!(
        stdout.contains("0 undelivered events from an earlier run"),
        "{stdout}"
    );
}

/// One HTTP/1.1 request on its own connection; returns the status line.
fn http(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    // A failure, not a hang, if the server never answers.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.lines().next().unwrap_or_default().to_owned()
}

#[test]
#[cfg(unix)]
fn listen_serves_until_sigterm_then_drains_and_exits_zero() {
    let path = events_file("listen");
    let mut child = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["demo", "--listen", "127.0.0.1:0", "--events-out"])
        .arg(&path)
        .env("AUDITLOG_SIGNING_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "no address printed"
        );
        addr = line
            .trim()
            .strip_prefix("serving   http://")
            .map(str::to_owned);
    }
    let addr = addr.unwrap();
    let order = r#"{"item":"tea"}"#;
    // A client claiming a tenant of its own: the token's tenant is recorded.
    let close = "Connection: close\r\nHost: demo\r\nAuthorization: Bearer carol-token\r\ntenantId: t-listen\r\n";
    let statuses = [
        http(&addr, &format!("GET /orders/1 HTTP/1.1\r\n{close}\r\n")),
        http(&addr, &format!("GET /health HTTP/1.1\r\n{close}\r\n")),
        http(
            &addr,
            &format!(
                "POST /orders HTTP/1.1\r\n{close}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{order}",
                order.len()
            ),
        ),
        http(&addr, &format!("GET /boom HTTP/1.1\r\n{close}\r\n")),
    ];
    assert_eq!(
        statuses.map(|s| s.split(' ').nth(1).unwrap_or_default().to_owned()),
        ["200", "200", "201", "500"]
    );
    let rest = stop(child, stdout);
    assert!(
        rest.contains("3 events published, 3 read back, 3 verified"),
        "{rest}"
    );
    // Each event read back is printed with its verdict.
    assert_eq!(rest.matches("signed ok").count(), 3, "{rest}");

    let events = read_events(&path);
    std::fs::remove_file(&path).unwrap();
    let got: Vec<_> = events.iter().map(summary).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].2, "orders/1");
    assert_eq!((got[1].0.as_str(), got[1].2.as_str()), ("POST", "orders/2"));
    assert_eq!((got[2].1.as_str(), got[2].3.as_str()), ("/boom", "ERROR"));
    assert!(events
        .iter()
        .all(|e| e.tenantid.as_deref() == Some("globex")));
}

/// Starts `auditlog demo --listen 127.0.0.1:0 ARGS...`; returns the child,
/// its stdout so far, the rest of its stdout and the address it serves.
#[cfg(unix)]
fn start_listening(
    args: &[&str],
) -> (
    std::process::Child,
    String,
    BufReader<std::process::ChildStdout>,
    String,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["demo", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("AUDITLOG_SIGNING_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    let addr = loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            let status = child.wait().unwrap();
            panic!("no address printed ({status}): {banner}");
        }
        banner.push_str(&line);
        if let Some(addr) = line.trim().strip_prefix("serving   http://") {
            break addr.to_owned();
        }
    };
    (child, banner, stdout, addr)
}

/// SIGTERM, then everything the demo printed after its banner; asserts it
/// exited 0.
#[cfg(unix)]
fn stop(
    mut child: std::process::Child,
    mut stdout: BufReader<std::process::ChildStdout>,
) -> String {
    // The shell's builtin `kill`: no procps needed.
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {rest}\n{stderr}");
    rest
}

#[test]
#[cfg(unix)]
fn without_readback_the_demo_publishes_to_a_broker_elsewhere_and_reads_nothing() {
    // The broker in this (the test's) process, as a benchmark runs it in
    // a process of its own.
    let cluster = auditlog_kafka::mock::EmbeddedKafka::start(1).unwrap();
    cluster.create_topic("outside", 1).unwrap();
    let brokers = cluster.bootstrap_servers();
    let args = ["--brokers", brokers, "--topic", "outside", "--no-readback"];
    let (child, banner, stdout, addr) = start_listening(&args);
    assert!(
        banner.contains(&format!("kafka     {brokers}, topic outside")),
        "{banner}"
    );
    let close = "Connection: close\r\nHost: demo\r\nAuthorization: Bearer carol-token\r\n";
    for id in [1, 1, 99] {
        http(&addr, &format!("GET /orders/{id} HTTP/1.1\r\n{close}\r\n"));
    }
    let rest = stop(child, stdout);
    assert!(rest.contains("not read back (--no-readback)"), "{rest}");
    // No event was read back and printed (the reader prints a verdict,
    // `signed ok` or `FAILED`, per event).
    assert!(
        !rest.contains("signed ok") && !rest.contains("FAILED"),
        "{rest}"
    );
    assert!(
        rest.contains("3 events published, 3 acknowledged by the broker"),
        "{rest}"
    );

    // What the broker holds: the three events, sealed under the key.
    let tail = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["tail", "--brokers", brokers, "--topic", "outside"])
        .args(["--from-beginning", "--max", "3", "--timeout", "30"])
        .env("AUDITLOG_SIGNING_KEY", KEY)
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&tail.stdout).into_owned();
    assert!(
        tail.status.success(),
        "{}",
        String::from_utf8_lossy(&tail.stderr)
    );
    let key = SigningKey::new(KEY).unwrap();
    let resources: Vec<String> = lines
        .lines()
        .map(|line| {
            let event = auditlog_seal::verify_json(line, Some(&key)).unwrap().event;
            summary(&event).2
        })
        .collect();
    assert_eq!(resources, ["orders/1", "orders/1", "orders/99"]);

    // Only a listening demo can leave its events unread: the tour reports on them.
    let refused = Command::new(env!("CARGO_BIN_EXE_auditlog"))
        .args(["demo", "--no-readback"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}
