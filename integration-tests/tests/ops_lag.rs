//! `kbridge lag` against the real broker: committed offsets exactly, lag
//! consistent with the log end the broker reports (tansu under-reports its
//! high watermark, so exact lag values are not asserted), unknown groups
//! and topics, and `--watch`.

mod ops_common;

use kbridge_integration_tests::unique;
use ops_common::{Rec, commit, create_topic, kbridge_async, produce};
use serde_json::Value;

/// Each row: lag = max(0, end − max(committed or start, start)), lag ≥ 0.
fn assert_consistent(report: &Value) {
    let mut total = 0;
    for p in report["partitions"].as_array().unwrap() {
        let start = p["log_start"].as_i64().unwrap();
        let end = p["log_end"].as_i64().unwrap();
        let lag = p["lag"].as_i64().unwrap();
        let from = p["committed"].as_i64().unwrap_or(start).max(start);
        assert!(lag >= 0, "{p}");
        assert_eq!(lag, (end - from).max(0), "{p}");
        total += lag;
    }
    assert_eq!(report["total_lag"].as_i64().unwrap(), total, "{report}");
}

fn committed(report: &Value) -> Vec<(String, i64, Option<i64>)> {
    report["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["topic"].as_str().unwrap().to_string(),
                p["partition"].as_i64().unwrap(),
                p["committed"].as_i64(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_shows_committed_offsets_and_a_consistent_lag() {
    let topic = unique("ops-lag");
    let group = unique("ops-lag-group");
    create_topic(&topic, 3).await;
    let mut records = Vec::new();
    for (partition, n) in [(0, 5), (1, 3), (2, 2)] {
        for i in 0..n {
            records.push(Rec::new(partition, &format!("k{i}"), b"v"));
        }
    }
    produce(&topic, &records);
    commit(&group, &topic, &[(0, 3), (1, 1)]);

    let run = kbridge_async(
        &["lag", "--group", &group, "--topic", &topic, "--json"],
        None,
        None,
    )
    .await;
    run.assert_ok();
    let report = run.json();
    assert_eq!(report["group"], group.as_str());
    assert_eq!(report["members"], 0);
    assert_eq!(
        committed(&report),
        [
            (topic.clone(), 0, Some(3)),
            (topic.clone(), 1, Some(1)),
            (topic.clone(), 2, None),
        ]
    );
    assert_consistent(&report);
    for p in report["partitions"].as_array().unwrap() {
        assert_eq!(p["log_start"], 0, "{p}");
    }

    // without --topic: every partition of the topics the group committed on
    let run = kbridge_async(&["lag", "--group", &group, "--json"], None, None).await;
    run.assert_ok();
    let all = run.json();
    assert_eq!(committed(&all), committed(&report));
    assert_consistent(&all);

    let run = kbridge_async(&["lag", "--group", &group, "--topic", &topic], None, None).await;
    run.assert_ok();
    let last = run.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("group {group} (")) && last.contains("over 3 partition(s)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("COMMITTED"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_groups_and_topics_fail() {
    let topic = unique("ops-lag-missing");
    create_topic(&topic, 1).await;
    let group = unique("ops-lag-nobody");
    kbridge_async(&["lag", "--group", &group], None, None)
        .await
        .assert_fails_with(&format!(
            "error: consumer group '{group}' not found: it has no members and no committed offsets"
        ));
    kbridge_async(&["lag", "--group", &group, "--topic", &topic], None, None)
        .await
        .assert_fails_with(&format!("consumer group '{group}' not found"));
    let known = unique("ops-lag-known");
    commit(&known, &topic, &[(0, 0)]);
    kbridge_async(
        &[
            "lag",
            "--group",
            &known,
            "--topic",
            &format!("{topic}-nope"),
        ],
        None,
        None,
    )
    .await
    .assert_fails_with(&format!("error: topic '{topic}-nope' does not exist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_refreshes_until_the_count() {
    let topic = unique("ops-lag-watch");
    let group = unique("ops-lag-watch-group");
    create_topic(&topic, 1).await;
    produce(&topic, &[Rec::new(0, "a", b"1"), Rec::new(0, "b", b"2")]);
    commit(&group, &topic, &[(0, 1)]);
    let run = kbridge_async(
        &[
            "lag",
            "--group",
            &group,
            "--topic",
            &topic,
            "--watch",
            "--interval",
            "200ms",
            "--refreshes",
            "3",
            "--json",
        ],
        None,
        None,
    )
    .await;
    run.assert_ok();
    let snapshots = run.json_lines();
    assert_eq!(snapshots.len(), 3, "{run:#?}");
    for s in &snapshots {
        assert_eq!(committed(s), [(topic.clone(), 0, Some(1))]);
        assert_consistent(s);
    }
}
