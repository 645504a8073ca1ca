//! The embedded registry's Kafka store keeps every subject, version, id,
//! config and mode across a restart.

use kbridge_integration_tests::{kafka_bootstrap, unique};
use kbridge_registry::compat::CompatibilityLevel;
use kbridge_registry::{Mode, RegistryClient, SchemaDefinition, VersionSelector};
use kbridge_registry_server::{KafkaStoreConfig, StoreConfig, spawn};

fn record(name: &str, extra_field: bool) -> String {
    let extra = if extra_field {
        r#",{"name":"note","type":"string","default":""}"#
    } else {
        ""
    };
    format!(
        r#"{{"type":"record","name":"{name}","fields":[{{"name":"id","type":"long"}}{extra}]}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_subjects_versions_and_ids() {
    let topic = unique("schemas");
    let store = StoreConfig::Kafka(KafkaStoreConfig::new(kafka_bootstrap()).topic(topic.clone()));

    let first = spawn("127.0.0.1:0", &store)
        .await
        .expect("start registry on kafka store");
    let c = RegistryClient::builder([first.url()]).build().unwrap();
    let a1 = c
        .register(
            "orders-value",
            &SchemaDefinition::avro(record("Order", false)),
            false,
        )
        .await
        .unwrap();
    let a2 = c
        .register(
            "orders-value",
            &SchemaDefinition::avro(record("Order", true)),
            false,
        )
        .await
        .unwrap();
    let b1 = c
        .register(
            "users/v:1",
            &SchemaDefinition::avro(record("User", false)),
            false,
        )
        .await
        .unwrap();
    let shared = c
        .register(
            "copy",
            &SchemaDefinition::avro(record("Order", false)),
            false,
        )
        .await
        .unwrap();
    assert_eq!(shared, a1);
    c.register("gone", &SchemaDefinition::avro(r#""string""#), false)
        .await
        .unwrap();
    c.delete_subject("gone", false).await.unwrap();
    c.delete_subject("gone", true).await.unwrap();
    c.register("soft", &SchemaDefinition::avro(r#""int""#), false)
        .await
        .unwrap();
    c.delete_version("soft", VersionSelector::Number(1), false)
        .await
        .unwrap();
    c.set_config(Some("orders-value"), CompatibilityLevel::FullTransitive)
        .await
        .unwrap();
    c.set_mode(Some("users/v:1"), Mode::Readonly, false)
        .await
        .unwrap();
    first.shutdown().await.unwrap();

    let second = spawn("127.0.0.1:0", &store)
        .await
        .expect("restart registry on kafka store");
    let c = RegistryClient::builder([second.url()]).build().unwrap();
    let mut subjects = c.subjects(false).await.unwrap();
    subjects.sort();
    assert_eq!(subjects, ["copy", "orders-value", "users/v:1"]);
    assert_eq!(c.versions("orders-value", false).await.unwrap(), [1, 2]);
    assert_eq!(
        c.version("orders-value", VersionSelector::Number(1), false)
            .await
            .unwrap()
            .id,
        a1
    );
    assert_eq!(
        c.version("orders-value", VersionSelector::Number(2), false)
            .await
            .unwrap()
            .id,
        a2
    );
    assert_eq!(
        c.version("users/v:1", VersionSelector::Latest, false)
            .await
            .unwrap()
            .id,
        b1
    );
    assert_eq!(
        c.schema_by_id(a2, None).await.unwrap().schema,
        record("Order", true)
    );
    assert_eq!(c.versions("soft", true).await.unwrap(), [1]);
    assert!(c.versions("soft", false).await.is_err());
    assert!(c.versions("gone", true).await.is_err());
    assert_eq!(
        c.config(Some("orders-value"), false).await.unwrap(),
        CompatibilityLevel::FullTransitive
    );
    assert_eq!(c.mode(Some("users/v:1")).await.unwrap(), Mode::Readonly);
    // Re-registering is idempotent and new schemas get fresh ids.
    assert_eq!(
        c.register(
            "orders-value",
            &SchemaDefinition::avro(record("Order", true)),
            false
        )
        .await
        .unwrap(),
        a2
    );
    let fresh = c
        .register("new", &SchemaDefinition::avro(r#""bytes""#), false)
        .await
        .unwrap();
    assert!(
        fresh > a2.max(b1),
        "fresh id {fresh} must not reuse an earlier id"
    );
    second.shutdown().await.unwrap();
}
