//! `kbridge check` against the real broker and an embedded registry: a
//! ready configuration passes every check; missing topics and subjects fail
//! with hints; an unreachable broker fails within the configured timeout.

mod ops_common;

use kbridge_integration_tests::unique;
use kbridge_registry::{RegistryClient, SchemaDefinition};
use ops_common::{closed_port, create_topic, kbridge_async, registry};
use serde_json::Value;
use std::time::Duration;

const SCHEMA: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}"#;

fn write_config(name: &str, body: &str) -> String {
    let dir = std::env::temp_dir().join(unique("ops-check"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_configuration_passes_every_check() {
    let server = registry().await;
    let (source, sink) = (unique("chk-src"), unique("chk-out"));
    create_topic(&source, 2).await;
    create_topic(&sink, 1).await;
    create_topic(&format!("{source}.dlq"), 1).await;
    let client = RegistryClient::builder([server.url()]).build().unwrap();
    let id = client
        .register(
            &format!("{sink}-value"),
            &SchemaDefinition::avro(SCHEMA),
            false,
        )
        .await
        .unwrap();
    let group = unique("chk-group");
    let prefix = unique("chk-tx");
    let config = write_config(
        "ready.toml",
        &format!(
            r#"
[source]
topics = ["{source}"]
[sink]
topic = "{sink}"
delivery_guarantee = "exactly_once"
transactional_id_prefix = "{prefix}"
[consumer]
group_id = "{group}"
[dead_letter]
enabled = true
"#
        ),
    );
    let run = kbridge_async(
        &["check", "-c", &config, "--json"],
        Some(&server.url()),
        None,
    )
    .await;
    run.assert_ok();
    let report = run.json();
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(
        statuses(&report),
        [
            ("broker connectivity", "ok"),
            ("cluster", "ok"),
            (format!("source topic '{source}'").as_str(), "ok"),
            (format!("sink topic '{sink}'").as_str(), "ok"),
            (format!("dead-letter topic '{source}.dlq'").as_str(), "ok"),
            (
                format!("consumer group '{group}-kbridge-check'").as_str(),
                "ok"
            ),
            ("schema registry", "ok"),
            (format!("value subject '{sink}-value'").as_str(), "ok"),
            (format!("transactional id prefix '{prefix}'").as_str(), "ok"),
        ]
        .map(|(n, s)| (n.to_string(), s.to_string()))
    );
    let detail = |i: usize| report["checks"][i]["detail"].as_str().unwrap().to_string();
    assert_eq!(detail(2), "exists, 2 partition(s)");
    assert!(
        detail(5).starts_with("joined and got 2 partition(s)"),
        "{}",
        detail(5)
    );
    assert_eq!(detail(7), format!("version 1 (schema id {id})"));
    assert!(detail(8).starts_with(&format!(
        "init_transactions succeeded as '{prefix}-kbridge-check-"
    )));

    // the same as text: one ✓ line per check, exit 0
    let run = kbridge_async(
        &["check", "-c", &config, "--no-group-join"],
        Some(&server.url()),
        None,
    )
    .await;
    run.assert_ok();
    assert!(
        run.stdout.contains(&format!(
            "✓ source topic '{source}': exists, 2 partition(s)\n"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("- consumer group: not requested\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains('✗'), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_topics_and_subjects_fail_with_hints() {
    let server = registry().await;
    let source = unique("chk-src");
    let sink = unique("chk-missing");
    create_topic(&source, 1).await;
    let config = write_config(
        "missing.toml",
        &format!(
            r#"
[source]
topics = ["{source}", "{sink}-also-missing"]
[sink]
topic = "{sink}"
[codec.value]
auto_register = false
"#
        ),
    );
    let run = kbridge_async(
        &["check", "-c", &config, "--no-group-join"],
        Some(&server.url()),
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    let out = &run.stdout;
    for line in [
        format!("✓ source topic '{source}': exists, 1 partition(s)"),
        format!("✗ source topic '{sink}-also-missing': does not exist"),
        format!(
            "    hint: create it (kbridge topics create {sink}-also-missing --partitions N) or fix source.topics"
        ),
        format!("✗ sink topic '{sink}': does not exist"),
        format!(
            "    hint: create it (kbridge topics create {sink} --partitions N) or fix sink.topic"
        ),
        "- dead-letter topic: dead_letter.enabled is false".to_string(),
        format!("✗ value subject '{sink}-value': version latest not found"),
        format!(
            "    hint: register it (kbridge schema register {sink}-value FILE.avsc) or enable codec.value.auto_register"
        ),
        "- transactional id: sink.delivery_guarantee is at_least_once".to_string(),
        "3 check(s) failed".to_string(),
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing line {line:?} in:\n{out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_fails_within_the_timeout() {
    let broker = format!("127.0.0.1:{}", closed_port());
    let registry = format!("http://127.0.0.1:{}", closed_port());
    let run = kbridge_async(
        &[
            "check",
            "--timeout",
            "3s",
            "--json",
            "--set",
            &format!("kafka.brokers={broker}"),
            "--set",
            &format!("schema_registry.url={registry}"),
        ],
        None,
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    // the configured socket timeouts are 30-60 s: the 3 s limit is what ended it
    assert!(
        run.elapsed < Duration::from_secs(3 + 5),
        "took {:?}",
        run.elapsed
    );
    let report = run.json();
    assert_eq!(report["ok"], false);
    let first = &report["checks"][0];
    assert_eq!(first["name"], "broker connectivity");
    assert_eq!(first["status"], "failed");
    assert!(
        first["detail"].as_str().unwrap().starts_with(&format!(
            "no answer within 3s: fetch cluster metadata from {broker}"
        )),
        "{first}"
    );
    assert!(
        first["hint"].as_str().unwrap().starts_with(&format!(
            "is a broker running at {broker}? check kafka.brokers"
        )),
        "{first}"
    );
    let rest = statuses(&report);
    assert_eq!(rest[1], ("topics".to_string(), "skipped".to_string()));
    assert_eq!(
        rest[2],
        ("consumer group".to_string(), "skipped".to_string())
    );
    let reg = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "schema registry")
        .unwrap();
    assert_eq!(reg["status"], "failed", "{reg}");
    assert!(reg["detail"].as_str().unwrap().contains(&registry), "{reg}");
}
