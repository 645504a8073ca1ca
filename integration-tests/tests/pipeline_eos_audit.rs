//! The exactly-once auditor (`python/eos_audit.py`) itself, on a topic
//! with a deliberately aborted transaction: it must drop the aborted
//! records, where Confluent's client with `isolation.level=read_committed`
//! on tansu 0.6 still shows them (the broker sends no aborted-transaction
//! ranges). The pipeline tests that involve aborts rely on it.

mod pipeline_common;

use kbridge_integration_tests::{kafka_bootstrap, unique};
use pipeline_common::{audit, python, unhex};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auditor_drops_aborted_transactions_that_tansu_shows() {
    let topic = unique("audit");
    let t = topic.clone();
    let (confluent, (records, summary)) = tokio::task::spawn_blocking(move || {
        let bootstrap = kafka_bootstrap();
        python("pipeline_io.py", &["make-aborted", &bootstrap, &t]);
        let confluent = python(
            "pipeline_io.py",
            &[
                "consume-raw",
                &bootstrap,
                &t,
                "13",
                "--isolation",
                "read_committed",
            ],
        );
        (confluent, audit(&t))
    })
    .await
    .unwrap();

    let committed: BTreeSet<String> = (0..5)
        .map(|i| format!("c1-{i}"))
        .chain((0..3).map(|i| format!("c2-{i}")))
        .chain(["plain".to_owned()])
        .collect();
    let aborted: BTreeSet<String> = (0..4).map(|i| format!("a-{i}")).collect();

    // Confluent's read_committed consumer on tansu: the aborted records too
    let seen: BTreeSet<String> = confluent["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        aborted.is_subset(&seen),
        "tansu now hides aborted records from read_committed consumers: \
         the auditor may no longer be needed ({seen:?})"
    );
    assert!(committed.is_subset(&seen));

    // the auditor: exactly what a real Kafka broker would deliver
    let keys: Vec<String> = records.iter().map(|r| unhex(&r["key"])).collect();
    let unique_keys: BTreeSet<String> = keys.iter().cloned().collect();
    assert_eq!(keys.len(), committed.len(), "no duplicate: {keys:?}");
    assert_eq!(unique_keys, committed);
    assert_eq!(summary["committed"], 8);
    assert_eq!(summary["plain"], 1);
    assert_eq!(summary["aborted"], 4);
    assert_eq!(summary["open"], 0);
    assert_eq!(summary["partitions"], 2);
}
