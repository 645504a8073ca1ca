//! `/metrics` scraped while `kbridge run` runs: after the pipeline has
//! handled a known input (Avro records, some filtered by a configured
//! transform, some corrupt or with an unknown schema id), every counter
//! moved by exactly the right amount; `/readyz` answers ready meanwhile.

mod pipeline_common;

use kbridge_integration_tests::{kafka_bootstrap, unique};
use kbridge_registry_server::{StoreConfig, spawn};
use pipeline_common::{
    create_topics, end_offsets, free_port, http_get, metric, python, sigterm, spawn_kbridge_run,
    wait_with_timeout, write_config,
};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_run_exactly() {
    let server = spawn("127.0.0.1:0", &StoreConfig::Memory).await.unwrap();
    let url = server.url();
    let input = unique("met-in");
    let output = unique("met-out");
    let dlq = format!("{input}.dlq");
    let group = unique("met-g");
    create_topics(&[(&input, 2), (&output, 1), (&dlq, 1)]).await;
    let (bootstrap, u, inp) = (kafka_bootstrap(), url.clone(), input.clone());
    let produced = tokio::task::spawn_blocking(move || {
        python(
            "pipeline_io.py",
            &[
                "produce",
                &bootstrap,
                &u,
                &inp,
                "200",
                "--negative-every",
                "10",
                "--corrupt",
                "2",
                "--unknown-id",
                "3",
            ],
        )
    })
    .await
    .unwrap();
    let ends = end_offsets(&produced);

    let port = free_port();
    let dir = std::env::temp_dir().join(unique("met"));
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
[schema_registry]
url = "{url}"
[source]
topics = ["{input}"]
[codec.key]
format = "string"
[sink]
topic = "{output}"
delivery_guarantee = "exactly_once"
[dead_letter]
enabled = true
tolerance = "all"
[metrics]
enabled = true
listen = "127.0.0.1:{port}"

[[transforms]]
type = "filter"
drop = "value.value < 0.0"

[[transforms]]
type = "insert_field"
field = "processed_by"
value = "kbridge"
"#,
            bootstrap = kafka_bootstrap()
        ),
    );
    let child = spawn_kbridge_run(&config, &["--instance", &unique("met")]);
    let inp = input.clone();
    let (text, ready, child) = tokio::task::spawn_blocking(move || {
        // scrape until every input record is in and its offsets committed
        let deadline = Instant::now() + Duration::from_secs(90);
        let done = |t: &str| {
            metric(
                t,
                "kbridge_records_in_total",
                &[&format!("topic=\"{inp}\"")],
            ) == Some(205.0)
                && ends.iter().all(|(p, o)| {
                    metric(
                        t,
                        "kbridge_consumer_committed_offset",
                        &[&format!("topic=\"{inp}\""), &format!("partition=\"{p}\"")],
                    ) == Some(*o as f64)
                })
        };
        let text = loop {
            assert!(Instant::now() < deadline, "the run did not finish in 90 s");
            if let Some(t) = http_get(port, "/metrics")
                && done(&t)
            {
                break t;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        // the in-flight gauge is exported every 100 ms
        std::thread::sleep(Duration::from_millis(300));
        let text2 = http_get(port, "/metrics").unwrap_or_default();
        let ready = http_get(port, "/readyz").unwrap_or_default();
        (format!("{text}\n#---\n{text2}"), ready, child)
    })
    .await
    .unwrap();
    let (first, later) = text.split_once("\n#---\n").unwrap();
    let m = |name: &str, labels: &[&str]| metric(first, name, labels);
    let t_in = format!("topic=\"{input}\"");
    let t_out = format!("topic=\"{output}\"");
    let t_dlq = format!("topic=\"{dlq}\"");

    assert_eq!(m("kbridge_records_in_total", &[&t_in]), Some(205.0));
    assert!(m("kbridge_consumed_bytes_total", &[&t_in]).unwrap_or(0.0) > 205.0 * 5.0);
    assert_eq!(m("kbridge_records_filtered_total", &[&t_in]), Some(20.0));
    assert_eq!(m("kbridge_records_out_total", &[&t_out]), Some(180.0));
    assert!(m("kbridge_produced_bytes_total", &[&t_out]).unwrap_or(0.0) > 180.0 * 10.0);
    assert_eq!(m("kbridge_records_out_total", &[&t_dlq]), Some(5.0));
    assert_eq!(
        m(
            "kbridge_records_dead_lettered_total",
            &[&t_in, "stage=\"decode\"", "class=\"UnknownSchema\""]
        ),
        Some(3.0)
    );
    assert_eq!(
        m(
            "kbridge_records_dead_lettered_total",
            &[&t_in, "stage=\"decode\"", "class=\"UnknownMagicByte\""]
        ),
        Some(2.0)
    );
    assert_eq!(
        m(
            "kbridge_errors_total",
            &["stage=\"decode\"", "class=\"UnknownSchema\""]
        ),
        Some(3.0)
    );
    assert_eq!(
        m("kbridge_end_to_end_latency_seconds_count", &[&t_out]),
        Some(180.0)
    );
    assert!(m("kbridge_transactions_committed_total", &[]).unwrap_or(0.0) >= 1.0);
    assert_eq!(m("kbridge_transactions_aborted_total", &[]), Some(0.0));
    assert!(
        m(
            "kbridge_transaction_duration_seconds_count",
            &["outcome=\"committed\""]
        )
        .unwrap_or(0.0)
            >= 1.0
    );
    // 200 good records, the first of which had to fetch its schema
    assert_eq!(m("kbridge_registry_cache_hits_total", &[]), Some(199.0));
    assert!(m("kbridge_registry_cache_misses_total", &[]).unwrap_or(0.0) >= 2.0);
    // the producer's records are timestamped now: the watermark is recent
    let wm = m("kbridge_watermark_seconds", &[]).unwrap_or(0.0);
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(wm > now - 600.0 && wm <= now, "watermark {wm}, now {now}");
    assert_eq!(metric(later, "kbridge_records_in_flight", &[]), Some(0.0));
    assert!(ready.contains("\"status\":\"ready\""), "{ready}");

    sigterm(&child);
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || wait_with_timeout(child, Duration::from_secs(60)))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    server.shutdown().await.unwrap();
}
