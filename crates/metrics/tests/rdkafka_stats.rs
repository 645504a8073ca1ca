//! librdkafka statistics bridged to gauges, against real samples captured
//! from a broker with confluent-kafka's `stats_cb` (see data/capture_stats.py).

mod common;

use common::Scrape;
use kbridge_metrics::{Metrics, MetricsError};

const CONSUMER: &[u8] = include_bytes!("data/librdkafka-consumer-stats.json");
const PRODUCER: &[u8] = include_bytes!("data/librdkafka-producer-stats.json");
const TOPIC: &str = "kbridge-metrics-stats-90998a93";

fn scrape(metrics: &Metrics) -> Scrape {
    Scrape::parse(&metrics.render_prometheus().unwrap())
}

#[test]
fn consumer_sample_parses_into_typed_statistics() {
    let metrics = Metrics::disabled();
    let bridge = metrics.rdkafka_stats("source");
    bridge.update(CONSUMER).unwrap();
    let stats = bridge.latest().unwrap();
    assert_eq!(stats.client_type, "consumer");
    assert_eq!(stats.name, "rdkafka#consumer-3");
    assert_eq!((stats.tx_bytes, stats.rx_bytes), (2064, 4858));
    assert_eq!(stats.rxmsgs, 58);
    assert_eq!(stats.brokers.len(), 2);
    let broker = &stats.brokers["127.0.0.1:19092/111"];
    assert_eq!(broker.nodeid, 111);
    assert_eq!(broker.state, "UP");
    assert_eq!((broker.rtt.avg, broker.rtt.p99), (501_447, 501_759));
    assert_eq!(broker.waitresp_cnt, 1);
    let partitions = &stats.topics[TOPIC].partitions;
    assert_eq!(partitions.len(), 3, "0, 1 and the internal -1");
    assert_eq!(partitions["0"].consumer_lag, 27);
    assert_eq!(partitions["0"].committed_offset, 5);
    assert_eq!(partitions["0"].hi_offset, 32);
    assert_eq!(partitions["-1"].consumer_lag, -1);
    let cgrp = stats.cgrp.as_ref().unwrap();
    assert_eq!((cgrp.rebalance_cnt, cgrp.assignment_size), (1, 2));
    assert!(stats.eos.is_none());
}

#[test]
fn consumer_sample_becomes_gauges_with_client_broker_topic_partition_labels() {
    let metrics = Metrics::new().unwrap();
    let bridge = metrics.rdkafka_stats("source");
    bridge.update(CONSUMER).unwrap();
    let s = scrape(&metrics);

    assert_eq!(
        s.value(r#"kbridge_rdkafka_transmitted_bytes_total{client="source"}"#),
        2064.0
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_received_bytes_total{client="source"}"#),
        4858.0
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_messages_received_total{client="source"}"#),
        58.0
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_queue_messages{client="source"}"#),
        0.0
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_reply_queue{client="source"}"#),
        0.0
    );

    // only the learned broker, not the logical GroupCoordinator (nodeid -1)
    assert_eq!(
        s.series_of("kbridge_rdkafka_broker_rtt_avg_seconds"),
        [r#"kbridge_rdkafka_broker_rtt_avg_seconds{broker="111",client="source"}"#]
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_broker_rtt_avg_seconds{broker="111",client="source"}"#),
        0.501447
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_broker_rtt_p99_seconds{broker="111",client="source"}"#),
        0.501759
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_broker_requests_in_flight{broker="111",client="source"}"#),
        1.0
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_broker_requests_queued{broker="111",client="source"}"#),
        0.0
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_broker_up{broker="111",client="source"}"#),
        1.0
    );

    // partitions 0 and 1; the internal -1 partition is skipped
    assert_eq!(
        s.series_of("kbridge_rdkafka_consumer_lag"),
        [
            format!(
                r#"kbridge_rdkafka_consumer_lag{{client="source",partition="0",topic="{TOPIC}"}}"#
            ),
            format!(
                r#"kbridge_rdkafka_consumer_lag{{client="source",partition="1",topic="{TOPIC}"}}"#
            ),
        ]
    );
    assert_eq!(
        s.value(&format!(
            r#"kbridge_rdkafka_consumer_lag{{client="source",partition="0",topic="{TOPIC}"}}"#
        )),
        27.0
    );
    assert_eq!(
        s.series_of("kbridge_rdkafka_partition_fetch_queue").len(),
        2
    );
    assert!(
        s.series_of("kbridge_rdkafka_partition_produce_queue")
            .is_empty(),
        "a consumer has no produce queue"
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_consumer_rebalances_total{client="source"}"#),
        1.0
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_consumer_assigned_partitions{client="source"}"#),
        2.0
    );
}

#[test]
fn producer_sample_reports_produce_queues_and_no_consumer_series() {
    let metrics = Metrics::new().unwrap();
    let sink = metrics.rdkafka_stats("sink");
    sink.update(PRODUCER).unwrap();
    let stats = sink.latest().unwrap();
    assert_eq!(stats.client_type, "producer");
    let eos = stats.eos.as_ref().unwrap();
    assert_eq!((eos.idemp_state.as_str(), eos.producer_id), ("Assigned", 1));

    let s = scrape(&metrics);
    assert_eq!(
        s.value(r#"kbridge_rdkafka_messages_transmitted_total{client="sink"}"#),
        55.0
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_transmitted_bytes_total{client="sink"}"#),
        3215.0
    );
    assert_eq!(
        s.series_of("kbridge_rdkafka_partition_produce_queue"),
        [
            format!(
                r#"kbridge_rdkafka_partition_produce_queue{{client="sink",partition="0",topic="{TOPIC}"}}"#
            ),
            format!(
                r#"kbridge_rdkafka_partition_produce_queue{{client="sink",partition="1",topic="{TOPIC}"}}"#
            ),
        ]
    );
    assert!(
        s.series_of("kbridge_rdkafka_consumer_lag").is_empty(),
        "lag -1 is unknown"
    );
    assert!(
        s.series_of("kbridge_rdkafka_consumer_rebalances_total")
            .is_empty()
    );
    assert_eq!(
        s.value(r#"kbridge_rdkafka_broker_rtt_avg_seconds{broker="111",client="sink"}"#),
        0.000217
    );
}

#[test]
fn two_clients_are_told_apart_and_vanish_with_their_handle() {
    let metrics = Metrics::new().unwrap();
    let source = metrics.rdkafka_stats("source");
    let sink = metrics.rdkafka_stats("sink");
    source.update(CONSUMER).unwrap();
    sink.update(PRODUCER).unwrap();
    let s = scrape(&metrics);
    assert_eq!(
        s.series_of("kbridge_rdkafka_transmitted_bytes_total"),
        [
            r#"kbridge_rdkafka_transmitted_bytes_total{client="sink"}"#,
            r#"kbridge_rdkafka_transmitted_bytes_total{client="source"}"#,
        ]
    );
    drop(sink);
    let s = scrape(&metrics);
    assert_eq!(
        s.series_of("kbridge_rdkafka_transmitted_bytes_total"),
        [r#"kbridge_rdkafka_transmitted_bytes_total{client="source"}"#]
    );
}

#[test]
fn a_newer_sample_replaces_the_previous_one() {
    let metrics = Metrics::new().unwrap();
    let bridge = metrics.rdkafka_stats("source");
    bridge.update(CONSUMER).unwrap();
    bridge
        .update(br#"{"type":"consumer","rx_bytes":9000,"brokers":{},"topics":{}}"#)
        .unwrap();
    let s = scrape(&metrics);
    assert_eq!(
        s.value(r#"kbridge_rdkafka_received_bytes_total{client="source"}"#),
        9000.0
    );
    assert!(s.series_of("kbridge_rdkafka_consumer_lag").is_empty());
}

#[test]
fn invalid_json_is_an_error_and_keeps_the_last_good_sample() {
    let metrics = Metrics::new().unwrap();
    let bridge = metrics.rdkafka_stats("source");
    bridge.update(CONSUMER).unwrap();
    let truncated = &CONSUMER[..CONSUMER.len() / 2];
    let err = bridge.update(truncated).unwrap_err();
    assert!(matches!(err, MetricsError::ParseStatistics { ref client, .. } if client == "source"));
    assert_eq!(
        err.to_string(),
        "failed to parse librdkafka statistics of client source"
    );
    let wrong_shape = bridge.update(br#"{"brokers": 3}"#).unwrap_err();
    assert!(matches!(wrong_shape, MetricsError::ParseStatistics { .. }));
    assert_eq!(bridge.latest().unwrap().rx_bytes, 4858);
    let s = scrape(&metrics);
    assert_eq!(
        s.value(r#"kbridge_rdkafka_received_bytes_total{client="source"}"#),
        4858.0
    );
}
