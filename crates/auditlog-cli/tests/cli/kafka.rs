//! `auditlog publish` and `auditlog tail` against a Kafka cluster in this
//! process (librdkafka's mock cluster), or librdkafka's own mock cluster
//! made with `-X test.mock.num.brokers=1`.

use crate::support::{auditlog, text};

use auditlog_kafka::mock::EmbeddedKafka;

fn lines(count: usize) -> String {
    (0..count)
        .map(|n| {
            format!(
                "{{\"id\":\"event-{n}\",\"tenantid\":\"t{}\",\"action\":{{\"name\":\"a\"}}}}\n",
                n % 3
            )
        })
        .collect()
}

#[test]
fn publish_to_librdkafkas_own_mock_cluster_reports_bad_lines_and_a_summary() {
    let input = format!("{}not json\n{{\"tenantid\":5}}\n{}", lines(2), lines(1));
    let output = auditlog(&["publish", "-X", "test.mock.num.brokers=1"], &[], &input);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("line 3: event: malformed JSON"), "{stderr}");
    assert!(
        stderr.contains("line 4: tenantid: expected a string"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 accepted, 3 delivered, 0 failed (2 bad lines)"),
        "{stderr}"
    );
    // Bad lines make the run fail, though every good one was delivered.
    assert_eq!(output.status.code(), Some(1));

    let output = auditlog(
        &["publish", "-X", "test.mock.num.brokers=1"],
        &[],
        &lines(5),
    );
    assert!(text(&output.stderr).contains("5 accepted, 5 delivered, 0 failed"));
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn published_events_are_tailed_back_verified() {
    let cluster = EmbeddedKafka::start(1).unwrap();
    cluster.create_topic("audit", 2).unwrap();
    let brokers = cluster.bootstrap_servers();
    let key = [("AUDITLOG_SIGNING_KEY", "secret")];
    let output = auditlog(
        &["publish", "--brokers", brokers, "--topic", "audit"],
        &key,
        &lines(20),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    let tail = [
        "tail",
        "--brokers",
        brokers,
        "--topic",
        "audit",
        "--from-beginning",
        "--max",
        "20",
        "--timeout",
        "30",
    ];
    let output = auditlog(&tail, &key, "");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    let mut ids: Vec<String> = stdout
        .lines()
        .map(|line| {
            let verified = auditlog_seal::verify_json(
                line,
                Some(&auditlog_seal::SigningKey::new("secret").unwrap()),
            )
            .unwrap();
            verified.event.id.unwrap()
        })
        .collect();
    ids.sort();
    let mut want: Vec<String> = (0..20).map(|n| format!("event-{n}")).collect();
    want.sort();
    assert_eq!(ids, want);

    // No key: refused before reading; hash only: said so.
    let output = auditlog(&tail, &[], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no key"));
    let mut hash_only = tail.to_vec();
    hash_only.push("--hash-only");
    let output = auditlog(&hash_only, &[], "");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("20 verified (hash only — not authenticated), 0 failed"));

    // With another key every signature fails: reported, exit 1.
    let output = auditlog(&tail, &[("AUDITLOG_SIGNING_KEY", "other")], "");
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("0 verified, 20 failed"), "{stderr}");
    assert!(stderr.contains("offset"), "{stderr}");
    assert!(text(&output.stdout).is_empty());
}

#[test]
fn unreachable_brokers_and_unknown_topics_are_clear_errors() {
    let output = auditlog(
        &["publish", "--brokers", "127.0.0.1:1", "--timeout", "2"],
        &[],
        &lines(1),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("no Kafka broker reachable at 127.0.0.1:1"),
        "{}",
        text(&output.stderr)
    );

    let cluster = EmbeddedKafka::start(1).unwrap();
    let tail = [
        "tail",
        "--brokers",
        cluster.bootstrap_servers(),
        "--topic",
        "missing",
        "--timeout",
        "2",
    ];
    let output = auditlog(&tail, &[("AUDITLOG_SIGNING_KEY", "k")], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("topic missing does not exist"),
        "{}",
        text(&output.stderr)
    );
}

/// Secrets such as `sasl.password` need not be on the command line: `-X
/// @FILE` and `AUDITLOG_KAFKA_PROPERTY_*` carry librdkafka properties.
#[test]
fn properties_come_from_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kafka.properties");
    std::fs::write(
        &file,
        "# librdkafka's own mock cluster\n\n  test.mock.num.brokers=1\n",
    )
    .unwrap();
    let at_file = format!("@{}", file.display());
    let output = auditlog(&["publish", "-X", &at_file], &[], &lines(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("2 accepted, 2 delivered, 0 failed"),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(0));

    let env = [("AUDITLOG_KAFKA_PROPERTY_TEST_MOCK_NUM_BROKERS", "1")];
    let output = auditlog(&["publish"], &env, &lines(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("2 accepted, 2 delivered, 0 failed"),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(0));

    let missing = format!("@{}", dir.path().join("missing").display());
    let output = auditlog(&["publish", "-X", &missing], &[], &lines(1));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("cannot read the properties file") && stderr.contains("missing"),
        "{stderr}"
    );

    // A bad line is named by number; its text (maybe a password) is not shown.
    std::fs::write(&file, "test.mock.num.brokers=1\nhunter2\n").unwrap();
    let output = auditlog(&["publish", "-X", &at_file], &[], &lines(1));
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("kafka.properties line 2: expected KEY=VALUE"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
