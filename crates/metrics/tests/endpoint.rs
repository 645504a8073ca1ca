//! The HTTP endpoint as an operator sees it: record through the public API,
//! scrape `/metrics` over HTTP, probe `/healthz` and `/readyz`.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::Scrape;
use kbridge_metrics::events::{
    DeadLettered, ErrorAction, ErrorRecorded, TransactionAborted, TransactionCommitted,
};
use kbridge_metrics::{Metrics, MetricsServer, PROMETHEUS_CONTENT_TYPE, ReadinessCheck, catalogue};

async fn start(metrics: &Metrics) -> (MetricsServer, String) {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = MetricsServer::bind(addr, metrics.clone()).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    (server, base)
}

async fn scrape(base: &str) -> Scrape {
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        PROMETHEUS_CONTENT_TYPE
    );
    Scrape::parse(&response.text().await.unwrap())
}

#[derive(Debug, thiserror::Error)]
#[error("unknown schema id {0}")]
struct UnknownSchemaId(u32);

#[derive(Debug, thiserror::Error)]
#[error("produce to {topic} failed")]
struct Produce {
    topic: String,
    #[source]
    source: std::io::Error,
}

#[tokio::test]
async fn metrics_endpoint_serves_exact_counters_and_label_sets() {
    let metrics = Metrics::new().unwrap();
    let (server, base) = start(&metrics).await;

    // source: 3 single records and a batch of 2 on "orders", 1 on "payments"
    let orders = metrics.source_topic("orders");
    for _ in 0..3 {
        orders.consumed(100);
    }
    orders.consumed_batch(2, 50);
    metrics.source_topic("payments").consumed(7);
    orders.filtered(2);

    // sink: 2 acknowledgements of 90 bytes, 5 ms after the source
    // timestamp: one recorded alone, one counted in a batch
    let out = metrics.sink_topic("orders.avro");
    out.delivered_after(90, Duration::from_millis(5));
    out.delivered_batch(1, 90);
    out.latency(Duration::from_millis(5));

    let in_flight = metrics.in_flight();
    in_flight.add(5);
    in_flight.sub(2);

    // failures
    let reason = UnknownSchemaId(7);
    for offset in [10, 11] {
        metrics.emit(DeadLettered {
            topic: "orders",
            partition: 0,
            offset,
            stage: "decode",
            class: "UnknownSchemaId",
            subject: None,
            schema_id: None,
            reason: &reason,
        });
    }
    let produce = Produce {
        topic: "orders.avro".into(),
        source: std::io::Error::other("broker transport failure"),
    };
    metrics.emit(ErrorRecorded {
        stage: "sink",
        class: "Produce",
        action: ErrorAction::Retry,
        topic: Some("orders.avro"),
        partition: None,
        offset: None,
        error: &produce,
    });

    // transactions: 2 commits of 20 ms, 1 abort of 400 ms
    for _ in 0..2 {
        metrics.emit(TransactionCommitted {
            duration: Duration::from_millis(20),
            records: 3,
        });
    }
    metrics.emit(TransactionAborted {
        duration: Duration::from_millis(400),
        records: 3,
        reason: &produce,
    });

    // registry: miss, request, then two hits; one failed request
    let registry = metrics.registry();
    registry.cache_miss();
    registry.request(Duration::from_millis(3), true);
    registry.cache_hit();
    registry.cache_hit();
    registry.request(Duration::from_millis(30), false);

    let s = scrape(&base).await;

    assert_eq!(
        s.series_of("kbridge_records_in_total"),
        [
            r#"kbridge_records_in_total{topic="orders"}"#,
            r#"kbridge_records_in_total{topic="payments"}"#
        ]
    );
    assert_eq!(s.value(r#"kbridge_records_in_total{topic="orders"}"#), 5.0);
    assert_eq!(
        s.value(r#"kbridge_records_in_total{topic="payments"}"#),
        1.0
    );
    assert_eq!(
        s.value(r#"kbridge_consumed_bytes_total{topic="orders"}"#),
        350.0
    );
    assert_eq!(
        s.value(r#"kbridge_consumed_bytes_total{topic="payments"}"#),
        7.0
    );
    assert_eq!(
        s.value(r#"kbridge_records_filtered_total{topic="orders"}"#),
        2.0
    );
    // bound when the handle was created, so visible at zero
    assert_eq!(
        s.value(r#"kbridge_records_filtered_total{topic="payments"}"#),
        0.0
    );

    assert_eq!(
        s.series_of("kbridge_records_out_total"),
        [r#"kbridge_records_out_total{topic="orders.avro"}"#]
    );
    assert_eq!(
        s.value(r#"kbridge_records_out_total{topic="orders.avro"}"#),
        2.0
    );
    assert_eq!(
        s.value(r#"kbridge_produced_bytes_total{topic="orders.avro"}"#),
        180.0
    );
    assert_eq!(
        s.type_of("kbridge_end_to_end_latency_seconds"),
        Some("histogram")
    );
    assert_eq!(
        s.value(r#"kbridge_end_to_end_latency_seconds_count{topic="orders.avro"}"#),
        2.0
    );
    let sum = s.value(r#"kbridge_end_to_end_latency_seconds_sum{topic="orders.avro"}"#);
    assert!((sum - 0.010).abs() < 1e-9, "sum {sum}");
    assert_eq!(
        s.value(r#"kbridge_end_to_end_latency_seconds_bucket{topic="orders.avro",le="0.0025"}"#),
        0.0
    );
    assert_eq!(
        s.value(r#"kbridge_end_to_end_latency_seconds_bucket{topic="orders.avro",le="0.005"}"#),
        2.0
    );

    assert_eq!(s.type_of("kbridge_records_in_flight"), Some("gauge"));
    assert_eq!(s.value("kbridge_records_in_flight"), 3.0);

    assert_eq!(
        s.series_of("kbridge_records_dead_lettered_total"),
        [
            r#"kbridge_records_dead_lettered_total{class="UnknownSchemaId",stage="decode",topic="orders"}"#
        ]
    );
    assert_eq!(
        s.value(r#"kbridge_records_dead_lettered_total{class="UnknownSchemaId",stage="decode",topic="orders"}"#),
        2.0
    );
    assert_eq!(
        s.series_of("kbridge_errors_total"),
        [
            r#"kbridge_errors_total{class="Produce",stage="sink"}"#,
            r#"kbridge_errors_total{class="UnknownSchemaId",stage="decode"}"#,
        ]
    );
    assert_eq!(
        s.value(r#"kbridge_errors_total{class="Produce",stage="sink"}"#),
        1.0
    );
    assert_eq!(
        s.value(r#"kbridge_errors_total{class="UnknownSchemaId",stage="decode"}"#),
        2.0
    );

    assert_eq!(s.value("kbridge_transactions_committed_total"), 2.0);
    assert_eq!(s.value("kbridge_transactions_aborted_total"), 1.0);
    assert_eq!(
        s.value(r#"kbridge_transaction_duration_seconds_count{outcome="committed"}"#),
        2.0
    );
    assert_eq!(
        s.value(r#"kbridge_transaction_duration_seconds_count{outcome="aborted"}"#),
        1.0
    );
    assert_eq!(
        s.value(r#"kbridge_transaction_duration_seconds_bucket{outcome="aborted",le="0.25"}"#),
        0.0
    );
    assert_eq!(
        s.value(r#"kbridge_transaction_duration_seconds_bucket{outcome="aborted",le="0.5"}"#),
        1.0
    );

    assert_eq!(s.value("kbridge_registry_cache_hits_total"), 2.0);
    assert_eq!(s.value("kbridge_registry_cache_misses_total"), 1.0);
    assert_eq!(
        s.value(r#"kbridge_registry_requests_total{outcome="success"}"#),
        1.0
    );
    assert_eq!(
        s.value(r#"kbridge_registry_requests_total{outcome="error"}"#),
        1.0
    );
    assert_eq!(
        s.value("kbridge_registry_request_duration_seconds_count"),
        2.0
    );

    // a second scrape sees counters move by exactly what was recorded since
    orders.consumed(10);
    let s2 = scrape(&base).await;
    assert_eq!(s2.value(r#"kbridge_records_in_total{topic="orders"}"#), 6.0);
    assert_eq!(
        s2.value(r#"kbridge_consumed_bytes_total{topic="orders"}"#),
        360.0
    );

    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn partition_gauges_follow_the_handle_lifetime() {
    let metrics = Metrics::new().unwrap();
    let (server, base) = start(&metrics).await;

    let p0 = metrics.partition("orders", 0);
    let p1 = metrics.partition("orders", 1);
    p0.set_position(42);
    p0.set_high_watermark(100);
    p0.set_watermark_ms(1_700_000_000_500);
    p1.set_position(7);
    p1.set_committed_offset(5);
    p1.set_high_watermark(9);
    metrics.set_watermark_ms(1_700_000_000_000);

    let s = scrape(&base).await;
    // p0 has not committed yet: lag from its position
    assert_eq!(
        s.value(r#"kbridge_consumer_lag{partition="0",topic="orders"}"#),
        58.0
    );
    assert_eq!(
        s.value(r#"kbridge_consumer_lag{partition="1",topic="orders"}"#),
        4.0
    );
    assert_eq!(
        s.value(r#"kbridge_consumer_current_offset{partition="0",topic="orders"}"#),
        42.0
    );
    assert_eq!(
        s.series_of("kbridge_consumer_committed_offset"),
        [r#"kbridge_consumer_committed_offset{partition="1",topic="orders"}"#],
        "a partition without a commit has no committed-offset series"
    );
    assert_eq!(
        s.value(r#"kbridge_consumer_high_watermark{partition="1",topic="orders"}"#),
        9.0
    );
    assert_eq!(
        s.value(r#"kbridge_partition_watermark_seconds{partition="0",topic="orders"}"#),
        1_700_000_000.5
    );
    assert_eq!(s.value("kbridge_watermark_seconds"), 1_700_000_000.0);

    // the same topic-partition shares one state
    metrics.partition("orders", 1).set_committed_offset(9);
    let s = scrape(&base).await;
    assert_eq!(
        s.value(r#"kbridge_consumer_lag{partition="1",topic="orders"}"#),
        0.0
    );

    // revoke partition 0: its series vanish, partition 1 stays
    drop(p0);
    let s = scrape(&base).await;
    assert_eq!(
        s.series_of("kbridge_consumer_lag"),
        [r#"kbridge_consumer_lag{partition="1",topic="orders"}"#]
    );
    assert!(
        s.series_of("kbridge_partition_watermark_seconds")
            .is_empty()
    );
    drop(p1);

    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn healthz_is_ok_and_readyz_lists_what_is_not_ready() {
    let metrics = Metrics::new().unwrap();
    let readiness = metrics.readiness();
    let assigned = readiness.require(ReadinessCheck::PartitionsAssigned);
    let registry = readiness.require(ReadinessCheck::RegistryReachable);
    let producer = readiness.require(ReadinessCheck::ProducerReady);
    let (server, base) = start(&metrics).await;
    let client = reqwest::Client::new();

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );

    let ready = |client: reqwest::Client| {
        let url = format!("{base}/readyz");
        async move {
            let r = client.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };

    let (status, body) = ready(client.clone()).await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "not_ready");
    let names: Vec<&str> = body["not_ready"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "partitions_assigned",
            "producer_ready",
            "registry_reachable"
        ]
    );

    assigned.set_ready();
    producer.set_ready();
    registry.set_not_ready("GET http://registry:8081/subjects: connection refused");
    let (status, body) = ready(client.clone()).await;
    assert_eq!(status, 503);
    assert_eq!(
        body["not_ready"],
        serde_json::json!([{
            "check": "registry_reachable",
            "ready": false,
            "reason": "GET http://registry:8081/subjects: connection refused"
        }])
    );

    registry.set_ready();
    let (status, body) = ready(client.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ready");
    assert_eq!(body["not_ready"], serde_json::json!([]));
    assert_eq!(body["checks"].as_array().unwrap().len(), 3);

    // a partition revocation that leaves nothing assigned
    assigned.set_not_ready("no partitions assigned");
    assert_eq!(ready(client.clone()).await.0, 503);
    assigned.set_ready();
    assert_eq!(ready(client.clone()).await.0, 200);

    readiness.begin_shutdown();
    let (status, body) = ready(client.clone()).await;
    assert_eq!(status, 503);
    assert_eq!(body["not_ready"][0]["check"], "shutting_down");
    // still alive while draining
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_catalogue_instrument_is_exported_under_its_declared_name_and_type() {
    let metrics = Metrics::new().unwrap();
    // touch every instrument once
    metrics.source_topic("t").consumed(1);
    metrics.sink_topic("t").delivered(1, Some(0));
    metrics.in_flight().add(1);
    let p = metrics.partition("t", 0);
    p.set_position(1);
    p.set_committed_offset(1);
    p.set_high_watermark(2);
    p.set_watermark_ms(1);
    metrics.set_watermark_ms(1);
    let err = UnknownSchemaId(1);
    metrics.emit(DeadLettered {
        topic: "t",
        partition: 0,
        offset: 0,
        stage: "decode",
        class: "UnknownSchemaId",
        subject: None,
        schema_id: None,
        reason: &err,
    });
    metrics.emit(TransactionCommitted {
        duration: Duration::from_millis(1),
        records: 1,
    });
    metrics.emit(TransactionAborted {
        duration: Duration::from_millis(1),
        records: 1,
        reason: &err,
    });
    let r = metrics.registry();
    r.cache_hit();
    r.cache_miss();
    r.request(Duration::from_millis(1), true);
    let stats = metrics.rdkafka_stats("source");
    stats
        .update(include_bytes!("data/librdkafka-consumer-stats.json"))
        .unwrap();
    let producer = metrics.rdkafka_stats("sink");
    producer
        .update(include_bytes!("data/librdkafka-producer-stats.json"))
        .unwrap();

    let (server, base) = start(&metrics).await;
    let s = scrape(&base).await;
    for spec in catalogue::ALL {
        assert_eq!(
            s.type_of(spec.prometheus_name),
            Some(spec.kind.prometheus_type()),
            "{} ({})",
            spec.prometheus_name,
            spec.name
        );
        let series = if spec.kind == catalogue::InstrumentKind::Histogram {
            s.series_of(&format!("{}_count", spec.prometheus_name))
        } else {
            s.series_of(spec.prometheus_name)
        };
        assert!(
            !series.is_empty(),
            "{} has no samples",
            spec.prometheus_name
        );
        for one in series {
            let mut keys: Vec<&str> = one
                .split_once('{')
                .map(|(_, labels)| {
                    labels
                        .trim_end_matches('}')
                        .split("\",")
                        .filter(|kv| !kv.is_empty())
                        .map(|kv| kv.split('=').next().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            keys.sort_unstable();
            let mut declared: Vec<&str> = spec.labels.to_vec();
            declared.sort_unstable();
            assert_eq!(keys, declared, "labels of {one}");
        }
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_disabled_handle_records_nothing_and_serves_an_empty_page() {
    let metrics = Metrics::disabled();
    assert!(!metrics.is_enabled());
    metrics.source_topic("orders").consumed(10);
    metrics.partition("orders", 0).set_position(3);
    let (server, base) = start(&metrics).await;
    let body = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn binding_a_taken_port_names_the_address() {
    let metrics = Metrics::disabled();
    let (server, _) = start(&metrics).await;
    let err = MetricsServer::bind(server.local_addr(), metrics.clone())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "failed to bind the metrics server to {}",
            server.local_addr()
        )
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn label_free_counters_are_exported_at_zero_from_the_start() {
    let metrics = Metrics::new().unwrap();
    let (server, base) = start(&metrics).await;
    let s = scrape(&base).await;
    for series in [
        "kbridge_transactions_committed_total",
        "kbridge_transactions_aborted_total",
        "kbridge_registry_cache_hits_total",
        "kbridge_registry_cache_misses_total",
        r#"kbridge_registry_requests_total{outcome="success"}"#,
        r#"kbridge_registry_requests_total{outcome="error"}"#,
        "kbridge_records_in_flight",
    ] {
        assert_eq!(s.value(series), 0.0, "{series}");
    }
    server.shutdown().await.unwrap();
}

/// docs/metrics.md lists every instrument with its exact type and labels.
#[test]
fn the_metrics_document_lists_every_catalogue_instrument() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/metrics.md"
    ))
    .expect("docs/metrics.md");
    let rows: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("| `kbridge_"))
        .collect();
    assert_eq!(
        rows.len(),
        catalogue::ALL.len(),
        "one table row per instrument"
    );
    for spec in catalogue::ALL {
        let prefix = format!("| `{}` |", spec.prometheus_name);
        let row = rows
            .iter()
            .find(|r| r.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{} missing from docs/metrics.md", spec.prometheus_name));
        let cells: Vec<&str> = row.split(" | ").collect();
        assert_eq!(cells[1], spec.kind.prometheus_type(), "{row}");
        let labels = if spec.labels.is_empty() {
            "—".to_owned()
        } else {
            spec.labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(cells[3], labels, "{row}");
        assert_eq!(cells[4].trim_end_matches(" |"), spec.description, "{row}");
    }
}
