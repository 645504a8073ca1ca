//! `examples/pipeline.toml` works as committed: `kbridge run` with it
//! (only the endpoints and names overridden with `--set`) filters the
//! sensor-error readings, stamps the others and writes them exactly once,
//! readable by Confluent's AvroDeserializer.

mod pipeline_common;

use kbridge_integration_tests::{kafka_bootstrap, unique, workspace_root};
use kbridge_registry_server::{StoreConfig, spawn};
use pipeline_common::{
    create_topics, free_port, http_get, metric, python, sigterm, spawn_kbridge_run,
    wait_with_timeout,
};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const COUNT: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_pipeline_runs_as_committed() {
    let server = spawn("127.0.0.1:0", &StoreConfig::Memory).await.unwrap();
    let url = server.url();
    let input = unique("ex-in");
    let output = unique("ex-out");
    create_topics(&[(&input, 2), (&output, 2), (&format!("{input}.dlq"), 1)]).await;
    let (bootstrap, u, inp) = (kafka_bootstrap(), url.clone(), input.clone());
    let produced = tokio::task::spawn_blocking(move || {
        python(
            "pipeline_io.py",
            &[
                "produce-health",
                &bootstrap,
                &u,
                &inp,
                &COUNT.to_string(),
                "--negative-every",
                "6",
            ],
        )
    })
    .await
    .unwrap();
    let negative: BTreeSet<String> = produced["negative"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(negative.len(), COUNT / 6);

    let port = free_port();
    let sets = [
        format!("kafka.brokers={}", kafka_bootstrap()),
        format!("schema_registry.url={url}"),
        format!("source.topics={input}"),
        format!("sink.topic={output}"),
        format!("consumer.group_id={}", unique("ex-g")),
        format!("sink.transactional_id_prefix={}", unique("ex")),
        format!("metrics.listen=127.0.0.1:{port}"),
    ];
    let mut args: Vec<&str> = Vec::new();
    for s in &sets {
        args.push("--set");
        args.push(s);
    }
    let child = spawn_kbridge_run(&workspace_root().join("examples/pipeline.toml"), &args);
    let inp = input.clone();
    let child = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let done = http_get(port, "/metrics").is_some_and(|t| {
                metric(
                    &t,
                    "kbridge_records_in_total",
                    &[&format!("topic=\"{inp}\"")],
                ) == Some(COUNT as f64)
                    && metric(&t, "kbridge_transactions_committed_total", &[]).unwrap_or(0.0) >= 1.0
            });
            if done {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the example did not get through its input"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        child
    })
    .await
    .unwrap();
    sigterm(&child);
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || wait_with_timeout(child, Duration::from_secs(60)))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("| in "), "the summary table: {stdout}");

    let want = COUNT - negative.len();
    let (bootstrap, u, out) = (kafka_bootstrap(), url.clone(), output.clone());
    let read = tokio::task::spawn_blocking(move || {
        python(
            "pipeline_io.py",
            &["consume", &bootstrap, &u, &out, &want.to_string()],
        )
    })
    .await
    .unwrap();
    let records = read["records"].as_array().unwrap();
    assert_eq!(records.len(), want);
    let keys: BTreeSet<String> = records
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = (0..COUNT)
        .map(|i| format!("u{i}"))
        .filter(|k| !negative.contains(k))
        .collect();
    assert_eq!(keys, expected);
    for r in records {
        let v = &r["value"];
        assert!(v["value"].as_f64().unwrap() >= 60.0, "{r}");
        assert!(
            v["processed_at"].is_string() || v["processed_at"].is_number(),
            "the stamped field is there: {r}"
        );
    }
    server.shutdown().await.unwrap();
}
