//! Confluent's own Python `SchemaRegistryClient` and Avro serializers
//! against the embedded registry (started in-process on a random port).

use kbridge_integration_tests::{unique, workspace_root};
use kbridge_registry_server::{StoreConfig, spawn};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confluent_python_client_interoperates() {
    let server = spawn("127.0.0.1:0", &StoreConfig::Memory).await.unwrap();
    let url = server.url();
    let script = workspace_root().join("integration-tests/python/registry_interop.py");
    let prefix = unique("interop");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .arg(url)
            .arg(prefix)
            .output()
            .expect("run python3 (needs confluent-kafka[avro,schemaregistry])")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("json summary line");
    assert_eq!(summary["ok"], true, "{summary}");
    assert_eq!(summary["id"], 1);
    assert_eq!(summary["v2_id"], 2);
    assert_eq!(summary["incompatible_error_code"], 40901);
    server.shutdown().await.unwrap();
}
