//! The service on a real TCP listener, a minimal HTTP/1.1 client, and the
//! events it captured.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use auditlog_axum::AuditLayer;
use auditlog_core::AuditEvent;
use auditlog_seal::{verify_json, SigningKey};
use auditlog_sink::JsonLinesSink;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The order service, audited into its own capture file.
pub(crate) struct Service {
    addr: SocketAddr,
    audit: AuditLayer,
    capture: PathBuf,
    key: Option<SigningKey>,
}

/// Where the events of the tests go: the xtask names the directory, plain
/// `cargo test` uses one under `target/`.
fn capture_dir() -> PathBuf {
    std::env::var_os("AUDIT_CAPTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("audit-capture"))
}

impl Service {
    /// Starts the service on a free port, its events going to
    /// `<capture dir>/<test>.jsonl` (replaced), signed with the key in
    /// `$AUDITLOG_SIGNING_KEY` when set.
    pub(crate) async fn start(test: &str) -> Service {
        let dir = capture_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let capture = dir.join(format!("{test}.jsonl"));
        let _ = std::fs::remove_file(&capture);
        let key = SigningKey::from_env("AUDITLOG_SIGNING_KEY").unwrap();
        let sink = JsonLinesSink::append_to(&capture, key.clone()).unwrap();
        let audit = AuditLayer::new(sink).compliance_category("SOX");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = order_service::app(audit.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Service {
            addr,
            audit,
            capture,
            key,
        }
    }

    /// Sends one request (`Connection: close`) and returns the status and
    /// the body.
    pub(crate) async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let mut request = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.addr);
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            request.push_str("content-type: application/json\r\n");
        }
        request.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ));
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// Waits for every event to be written, then reads the capture back,
    /// each line verified as published.
    pub(crate) async fn events(&self) -> Vec<AuditEvent> {
        self.audit.flush(Duration::from_secs(5)).await.unwrap();
        std::fs::read_to_string(&self.capture)
            .unwrap()
            .lines()
            .map(|line| verify_json(line, self.key.as_ref()).unwrap().event)
            .collect()
    }
}

/// The one event of `method` on `route`, or a panic that lists them all.
pub(crate) fn event<'a>(events: &'a [AuditEvent], method: &str, route: &str) -> &'a AuditEvent {
    let mut found = events.iter().filter(|event| {
        let action = event.action.as_ref().unwrap();
        action.method.as_deref() == Some(method) && action.name.as_deref() == Some(route)
    });
    match (found.next(), found.next()) {
        (Some(event), None) => event,
        _ => panic!("not exactly one event of {method} {route} in {events:#?}"),
    }
}
