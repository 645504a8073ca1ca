//! `kbridge topics list|describe|create|delete|alter-config` against the
//! real broker: presets and flags that override them, leaders/replicas/ISR,
//! configs (set and removed one key at a time), exit codes for existing and
//! missing topics.

mod ops_common;

use kbridge_integration_tests::{kafka_bootstrap, unique};
use ops_common::kbridge_async;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn broker_count() -> usize {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()
        .unwrap();
    c.fetch_metadata(None, Duration::from_secs(10))
        .unwrap()
        .brokers()
        .len()
}

fn config_value(describe: &Value, name: &str) -> Option<String> {
    describe["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["value"].as_str().map(str::to_string))
}

async fn listed(topic: &str) -> Option<Value> {
    let run = kbridge_async(&["topics", "list", "--json"], None, None).await;
    run.assert_ok();
    run.json()
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == topic)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_describe_list_and_delete_a_topic() {
    let topic = unique("ops-topics");
    let run = kbridge_async(
        &[
            "topics",
            "create",
            &topic,
            "--partitions",
            "3",
            "--preset",
            "dev",
            "--config",
            "retention.ms=3600000",
            "--config",
            "cleanup.policy=delete",
            "--json",
        ],
        None,
        None,
    )
    .await;
    run.assert_ok();
    assert_eq!(
        run.json(),
        json!({
            "topic": {
                "name": topic,
                "partitions": 3,
                "replication_factor": 1,
                // the flag overrides the dev preset's one day
                "configs": {"cleanup.policy": "delete", "retention.ms": "3600000"},
            },
            "outcome": "created",
        })
    );

    kbridge_async(&["topics", "create", &topic], None, None)
        .await
        .assert_fails_with("Topic already exists");
    let run = kbridge_async(
        &["topics", "create", &topic, "--if-not-exists", "--json"],
        None,
        None,
    )
    .await;
    run.assert_ok();
    assert_eq!(run.json()["outcome"], "already_exists");

    assert_eq!(
        listed(&topic).await,
        Some(json!({"name": topic, "partitions": 3, "replication_factor": 1, "internal": false}))
    );

    let run = kbridge_async(&["topics", "describe", &topic, "--json"], None, None).await;
    run.assert_ok();
    let d = run.json();
    assert_eq!(d["name"], topic.as_str());
    assert_eq!(d["replication_factor"], 1);
    let parts = d["partitions"].as_array().unwrap();
    assert_eq!(
        parts
            .iter()
            .map(|p| p["partition"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 2]
    );
    for p in parts {
        let leader = p["leader"].as_i64().unwrap();
        assert!(leader >= 0, "{p}");
        assert_eq!(p["replicas"], json!([leader]), "{p}");
        assert_eq!(p["isr"], json!([leader]), "{p}");
    }
    assert_eq!(config_value(&d, "retention.ms").as_deref(), Some("3600000"));
    assert_eq!(
        config_value(&d, "cleanup.policy").as_deref(),
        Some("delete")
    );

    let run = kbridge_async(&["topics", "describe", &topic], None, None).await;
    run.assert_ok();
    assert!(
        run.stdout.starts_with(&format!(
            "topic {topic}: 3 partition(s), replication factor 1\n"
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("retention.ms"), "{}", run.stdout);

    let run = kbridge_async(&["topics", "delete", &topic], None, None).await;
    run.assert_ok();
    assert_eq!(run.stdout, format!("deleted topic {topic}\n"));
    let deadline = Instant::now() + Duration::from_secs(15);
    while listed(&topic).await.is_some() {
        assert!(Instant::now() < deadline, "{topic} is still listed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    kbridge_async(&["topics", "delete", &topic], None, None)
        .await
        .assert_fails_with(&format!("topic '{topic}' does not exist"));
    kbridge_async(&["topics", "delete", &topic, "--if-exists"], None, None)
        .await
        .assert_ok();
    kbridge_async(&["topics", "describe", &topic], None, None)
        .await
        .assert_fails_with(&format!("error: topic '{topic}' does not exist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_production_preset_needs_three_brokers() {
    let topic = unique("ops-prod");
    let brokers = broker_count();
    let run = kbridge_async(
        &[
            "topics",
            "create",
            &topic,
            "--preset",
            "production",
            "--json",
        ],
        None,
        None,
    )
    .await;
    if brokers < 3 {
        run.assert_fails_with(&format!(
            "create topic '{topic}': replication factor 3 is more than the {brokers} broker(s) in the cluster"
        ));
        assert!(listed(&topic).await.is_none());
        // a flag overrides the preset's replication factor
        let run = kbridge_async(
            &[
                "topics",
                "create",
                &topic,
                "--preset",
                "production",
                "--replication-factor",
                "1",
                "--json",
            ],
            None,
            None,
        )
        .await;
        run.assert_ok();
        assert_eq!(
            run.json()["topic"],
            json!({
                "name": topic,
                "partitions": 1,
                "replication_factor": 1,
                "configs": {
                    "compression.type": "lz4",
                    "max.message.bytes": "1048576",
                    "min.insync.replicas": "2",
                    "retention.ms": "2592000000",
                    "unclean.leader.election.enable": "false",
                },
            })
        );
    } else {
        run.assert_ok();
        assert_eq!(run.json()["topic"]["replication_factor"], 3);
    }
    let d = kbridge_async(&["topics", "describe", &topic, "--json"], None, None).await;
    d.assert_ok();
    let d = d.json();
    assert_eq!(config_value(&d, "compression.type").as_deref(), Some("lz4"));
    assert_eq!(
        config_value(&d, "retention.ms").as_deref(),
        Some("2592000000")
    );
    kbridge_async(&["topics", "delete", &topic], None, None)
        .await
        .assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_config_sets_and_removes_one_key_and_keeps_the_others() {
    let topic = unique("ops-alter");
    kbridge_async(
        &[
            "topics",
            "create",
            &topic,
            "--config",
            "retention.ms=3600000",
            "--config",
            "cleanup.policy=delete",
        ],
        None,
        None,
    )
    .await
    .assert_ok();
    kbridge_async(
        &[
            "topics",
            "alter-config",
            &topic,
            "--config",
            "retention.ms=7200000",
            "--json",
        ],
        None,
        None,
    )
    .await
    .assert_ok();
    let d = kbridge_async(&["topics", "describe", &topic, "--json"], None, None).await;
    let d = d.json();
    assert_eq!(config_value(&d, "retention.ms").as_deref(), Some("7200000"));
    assert_eq!(
        config_value(&d, "cleanup.policy").as_deref(),
        Some("delete"),
        "an incremental alter leaves the other keys alone"
    );
    kbridge_async(
        &[
            "topics",
            "alter-config",
            &topic,
            "--delete-config",
            "cleanup.policy",
        ],
        None,
        None,
    )
    .await
    .assert_ok();
    let d = kbridge_async(&["topics", "describe", &topic, "--json"], None, None).await;
    let d = d.json();
    assert_eq!(config_value(&d, "retention.ms").as_deref(), Some("7200000"));
    // gone from the topic (Kafka still lists the broker default)
    let entry = d["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "cleanup.policy");
    assert!(
        entry.is_none_or(|c| c["source"] != "topic"),
        "cleanup.policy still set on the topic: {d}"
    );
    kbridge_async(&["topics", "alter-config", &topic], None, None)
        .await
        .assert_fails_with("nothing to change");
    kbridge_async(
        &[
            "topics",
            "alter-config",
            &format!("{topic}-missing"),
            "--topic-config",
            "a=b",
        ],
        None,
        None,
    )
    .await
    .assert_fails_with("does not exist");
    kbridge_async(&["topics", "delete", &topic], None, None)
        .await
        .assert_ok();
}
