//! `dead_letter.tolerance = "none"`: `kbridge run` stops at the first bad
//! record with exit code 3 and a message naming its topic, partition and
//! offset; exactly what came before it is committed (output and offsets),
//! the record itself is not, and nothing reaches the dead-letter topic.

mod pipeline_common;

use kbridge_integration_tests::{kafka_bootstrap, unique};
use pipeline_common::{
    audit, committed, create_topics, produce, read_raw, spawn_kbridge_run, unhex,
    wait_with_timeout, write_config,
};
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerance_none_stops_at_the_first_bad_record_naming_it() {
    let input = unique("tol-in");
    let output = unique("tol-out");
    let group = unique("tol-g");
    let dlq = format!("{input}.dlq");
    create_topics(&[(&input, 2), (&output, 1), (&dlq, 1)]).await;
    // 40 JSON records, alternating partitions; record 21 (partition 1,
    // offset 10) is not JSON
    let records: Vec<(i32, String, Vec<u8>)> = (0..40)
        .map(|i| {
            let value = if i == 21 {
                b"not json {".to_vec()
            } else {
                format!("{{\"n\":{i}}}").into_bytes()
            };
            (i % 2, format!("k{i}"), value)
        })
        .collect();
    let inp = input.clone();
    tokio::task::spawn_blocking(move || produce(&inp, records))
        .await
        .unwrap();

    let dir = std::env::temp_dir().join(unique("tol"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = write_config(
        &dir,
        &format!(
            r#"
[kafka]
brokers = ["{bootstrap}"]
[consumer]
group_id = "{group}"
session_timeout = "6s"
heartbeat_interval = "1s"
[source]
topics = ["{input}"]
stop_offsets = {{ offsets = {{ "{input}" = {{ 0 = 20, 1 = 20 }} }} }}
[codec.key]
format = "string"
[codec.value]
format = "json"
[sink]
topic = "{output}"
delivery_guarantee = "exactly_once"
[dead_letter]
enabled = true
tolerance = "none"
[metrics]
enabled = false
"#,
            bootstrap = kafka_bootstrap()
        ),
    );
    let child = spawn_kbridge_run(&config, &["--instance", &unique("tol")]);
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || wait_with_timeout(child, Duration::from_secs(90)))
            .await
            .unwrap();
    assert_eq!(code, Some(3), "stdout: {stdout}\nstderr: {stderr}");
    let message =
        format!("error: record {input}[1]@10 failed in stage decode (InvalidJson): decode json: ");
    assert!(stderr.contains(&message), "{message}\nin:\n{stderr}");
    assert!(
        stderr.contains("stopped because dead_letter.tolerance is none"),
        "{stderr}"
    );

    let (g, inp, out, dl) = (group.clone(), input.clone(), output.clone(), dlq.clone());
    let (offsets, (records, summary), dead) = tokio::task::spawn_blocking(move || {
        (
            committed(&g, &inp, 2),
            audit(&out),
            read_raw(&dl, 1, Duration::from_secs(3)),
        )
    })
    .await
    .unwrap();
    assert_eq!(offsets.get(&1), Some(&10), "{offsets:?}");
    let p0 = offsets.get(&0).copied().unwrap_or(0);
    assert!((0..=20).contains(&p0), "{offsets:?}");
    // the output holds exactly the records before the committed offsets
    let want: BTreeSet<String> = (0..40)
        .filter(|i| (i % 2 == 1 && i / 2 < 10) || (i % 2 == 0 && i / 2 < p0))
        .map(|i| format!("k{i}"))
        .collect();
    let keys: Vec<String> = records.iter().map(|r| unhex(&r["key"])).collect();
    assert_eq!(keys.len(), want.len(), "{summary}");
    assert_eq!(keys.into_iter().collect::<BTreeSet<_>>(), want);
    assert!(dead.is_empty(), "nothing dead-lettered: {dead:?}");
}
