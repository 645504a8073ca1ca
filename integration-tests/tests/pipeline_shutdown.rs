//! Graceful shutdown: SIGTERM in the middle of a stream makes `kbridge run`
//! stop reading, finish its open transaction (exactly-once) or wait for its
//! outstanding deliveries (at-least-once), commit what is durable and exit
//! 0. The committed offsets then match what was durably written, and a
//! restart finishes the job with no loss (and, exactly-once, no duplicate,
//! checked with the marker-aware auditor).

mod pipeline_common;

use kbridge_integration_tests::{kafka_bootstrap, unique};
use pipeline_common::{
    audit, committed, create_topics, produce, read_raw, sigterm, spawn_kbridge_run, unhex,
    wait_with_timeout, write_config,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

const N: i64 = 150_000;
const PARTITIONS: i32 = 3;

fn key(i: i64) -> String {
    format!("k{i}")
}

/// The keys of input records below `offsets` (record i is at offset
/// i / PARTITIONS of partition i % PARTITIONS).
fn keys_below(offsets: &BTreeMap<i32, i64>) -> BTreeSet<String> {
    (0..N)
        .filter(|i| {
            let p = (i % i64::from(PARTITIONS)) as i32;
            i / i64::from(PARTITIONS) < offsets.get(&p).copied().unwrap_or(0)
        })
        .map(key)
        .collect()
}

/// The pipeline file; the first run is bounded in speed (`max_in_flight`
/// records in flight) so that the signal lands mid-stream on any machine.
fn config(
    dir: &Path,
    input: &str,
    output: &str,
    group: &str,
    guarantee: &str,
    bounded: bool,
    max_in_flight: u64,
) {
    let per_partition = N / i64::from(PARTITIONS);
    let stop = if bounded {
        format!(
            "stop_offsets = {{ offsets = {{ \"{input}\" = {{ 0 = {per_partition}, 1 = {per_partition}, 2 = {per_partition} }} }} }}"
        )
    } else {
        String::new()
    };
    write_config(
        dir,
        &format!(
            r#"
shutdown_timeout = "20s"
[kafka]
brokers = ["{bootstrap}"]
[consumer]
group_id = "{group}"
session_timeout = "6s"
heartbeat_interval = "1s"
[source]
topics = ["{input}"]
{stop}
[codec.key]
format = "bytes"
[codec.value]
format = "bytes"
[sink]
topic = "{output}"
delivery_guarantee = "{guarantee}"
transaction_max_records = 2000
max_in_flight_records = {max_in_flight}
[metrics]
enabled = false
"#,
            bootstrap = kafka_bootstrap()
        ),
    );
}

async fn shutdown_mid_stream_then_restart(guarantee: &str) {
    let input = unique("sd-in");
    let output = unique("sd-out");
    let group = unique("sd-g");
    create_topics(&[(&input, PARTITIONS), (&output, 2)]).await;
    let inp = input.clone();
    tokio::task::spawn_blocking(move || {
        produce(
            &inp,
            (0..N).map(|i| {
                (
                    (i % i64::from(PARTITIONS)) as i32,
                    key(i),
                    format!("value-{i}").into_bytes(),
                )
            }),
        )
    })
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(unique("sd"));
    std::fs::create_dir_all(&dir).unwrap();
    let instance = unique("sd");

    // run 1: unbounded; SIGTERM once something is committed
    config(&dir, &input, &output, &group, guarantee, false, 50);
    let child = spawn_kbridge_run(&dir.join("pipeline.toml"), &["--instance", &instance]);
    let (g, inp) = (group.clone(), input.clone());
    let (code, stdout, stderr, at_signal) = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(90);
        let at_signal = loop {
            let c: i64 = committed(&g, &inp, PARTITIONS).values().sum();
            if c > 0 {
                break c;
            }
            assert!(Instant::now() < deadline, "nothing committed in 90 s");
            std::thread::sleep(Duration::from_millis(100));
        };
        sigterm(&child);
        let (code, stdout, stderr) = wait_with_timeout(child, Duration::from_secs(60));
        (code, stdout, stderr, at_signal)
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("ended by shutdown"), "{stdout}");

    let (g, inp, out) = (group.clone(), input.clone(), output.clone());
    let eos = guarantee == "exactly_once";
    let first = tokio::task::spawn_blocking(move || {
        let offsets = committed(&g, &inp, PARTITIONS);
        let written: Vec<String> = if eos {
            audit(&out).0.iter().map(|r| unhex(&r["key"])).collect()
        } else {
            read_raw(&out, N as usize, Duration::from_secs(20))
                .iter()
                .map(|r| r.key_text())
                .collect()
        };
        (offsets, written)
    })
    .await
    .unwrap();
    let (offsets, written) = first;
    let total: i64 = offsets.values().sum();
    assert!(total >= at_signal, "{offsets:?}");
    assert!(total < N, "stopped mid-stream, not at the end: {offsets:?}");
    let durable = keys_below(&offsets);
    let written_set: BTreeSet<String> = written.iter().cloned().collect();
    if eos {
        // committed offsets = exactly the records durably written, once each
        assert_eq!(written.len(), durable.len(), "no duplicate in the output");
        assert_eq!(written_set, durable);
    } else {
        // every record below the committed offsets is durably written
        assert!(durable.is_subset(&written_set));
    }

    // run 2: the same group, bounded by the end of the input
    config(&dir, &input, &output, &group, guarantee, true, 100_000);
    let child = spawn_kbridge_run(&dir.join("pipeline.toml"), &["--instance", &instance]);
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || wait_with_timeout(child, Duration::from_secs(180)))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("ended by finished"), "{stdout}");
    let (g, inp, out) = (group.clone(), input.clone(), output.clone());
    let (offsets, written) = tokio::task::spawn_blocking(move || {
        let offsets = committed(&g, &inp, PARTITIONS);
        let written: Vec<String> = if eos {
            audit(&out).0.iter().map(|r| unhex(&r["key"])).collect()
        } else {
            read_raw(&out, N as usize, Duration::from_secs(30))
                .iter()
                .map(|r| r.key_text())
                .collect()
        };
        (offsets, written)
    })
    .await
    .unwrap();
    let per_partition = N / i64::from(PARTITIONS);
    assert_eq!(
        offsets,
        (0..PARTITIONS).map(|p| (p, per_partition)).collect(),
        "everything committed"
    );
    let all: BTreeSet<String> = (0..N).map(key).collect();
    let written_set: BTreeSet<String> = written.iter().cloned().collect();
    assert_eq!(written_set, all, "no loss");
    if eos {
        assert_eq!(written.len(), N as usize, "no duplicate");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_sigterm_commits_what_is_durable_and_a_restart_finishes_exactly() {
    shutdown_mid_stream_then_restart("exactly_once").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_sigterm_commits_what_is_durable_and_a_restart_loses_nothing() {
    shutdown_mid_stream_then_restart("at_least_once").await;
}
