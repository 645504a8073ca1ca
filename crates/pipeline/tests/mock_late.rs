//! Late records end to end on rdkafka's mock cluster: event time from the
//! Kafka timestamp, one input partition, 2 s bounded out-of-orderness and
//! no allowed lateness. The watermark after readings at 100 s … 110 s is
//! 108 s, so readings at 90 s and 107.5 s are late and 108.5 s is not. A
//! side topic receives exactly the late ones (with their key and value), a
//! drop policy writes them nowhere, and both count them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kbridge_pipeline::watermark::{LatePolicy, WatermarkConfig};
use kbridge_pipeline::{EventTime, Pipeline, Summary};
use kbridge_sink::KafkaSink;
use kbridge_source::{KafkaSource, StopOffsets, TopicPartition};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

mod common;
use common::Mock;

/// (key, event time in ms) in the order they are written.
const READINGS: &[(&str, i64)] = &[
    ("a", 100_000),
    ("b", 101_000),
    ("c", 104_000),
    ("d", 110_000),
    ("late-1", 90_000),
    ("late-2", 107_500),
    ("e", 108_500),
    ("f", 111_000),
];

fn cluster() -> Mock {
    let mock = MockCluster::new(1).expect("mock cluster");
    for t in ["in", "out", "late"] {
        mock.create_topic(t, 1, 1).expect("create topic");
    }
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .create()
        .unwrap();
    for (key, ts) in READINGS {
        p.send(
            BaseRecord::to("in")
                .key(*key)
                .payload(&ts.to_string())
                .partition(0)
                .timestamp(*ts),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    mock
}

fn run(mock: &Mock, late: LatePolicy) -> Summary {
    let source = KafkaSource::builder()
        .bootstrap_servers(mock.bootstrap_servers())
        .group_id("g")
        .topic("in")
        .stop_offsets(StopOffsets::Offsets(BTreeMap::from([(
            TopicPartition::new("in", 0),
            READINGS.len() as i64,
        )])))
        .option("session.timeout.ms", "6000")
        .option("heartbeat.interval.ms", "1000")
        .build()
        .unwrap();
    let sink = KafkaSink::builder()
        .bootstrap_servers(mock.bootstrap_servers())
        .topic("out")
        .build()
        .unwrap();
    let pipeline = Pipeline::builder()
        .source(source)
        .sink(sink)
        .event_time(EventTime {
            watermarks: WatermarkConfig {
                max_out_of_orderness: Duration::from_secs(2),
                idle_timeout: None,
                allowed_lateness: Duration::ZERO,
            },
            late,
        })
        .commit_interval(Duration::from_millis(50))
        .build()
        .unwrap();
    common::run_to_end(pipeline, Duration::from_secs(60)).expect("pipeline")
}

/// (key, value, timestamp) of every record in `topic`, read until `want`
/// arrived and a moment more (to catch extras).
fn read(mock: &Mock, topic: &str, want: usize) -> Vec<(String, String, i64)> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("group.id", format!("reader-{topic}"))
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut extra = None;
    while Instant::now() < deadline {
        if out.len() >= want
            && Instant::now()
                > *extra.get_or_insert_with(|| Instant::now() + Duration::from_millis(700))
        {
            break;
        }
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            out.push((
                String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                m.timestamp().to_millis().unwrap_or(-1),
            ));
        }
    }
    out
}

fn keys(recs: &[(String, String, i64)]) -> Vec<&str> {
    recs.iter().map(|(k, _, _)| k.as_str()).collect()
}

#[test]
fn late_records_go_to_the_side_topic_and_are_counted() {
    let mock = cluster();
    let summary = run(&mock, LatePolicy::SideTopic("late".into()));
    assert_eq!(summary.records_in, READINGS.len() as u64, "{summary:?}");
    assert_eq!(summary.late, 2, "{summary:?}");
    assert_eq!(summary.late_dropped, 0, "{summary:?}");

    let late = read(&mock, "late", 2);
    assert_eq!(
        late,
        [
            ("late-1".to_owned(), "90000".to_owned(), 90_000),
            ("late-2".to_owned(), "107500".to_owned(), 107_500)
        ]
    );
    let out = read(&mock, "out", 6);
    assert_eq!(keys(&out), ["a", "b", "c", "d", "e", "f"]);
}

#[test]
fn a_drop_policy_writes_late_records_nowhere_and_counts_them() {
    let mock = cluster();
    let summary = run(&mock, LatePolicy::Drop);
    assert_eq!(summary.late, 2, "{summary:?}");
    assert_eq!(summary.late_dropped, 2, "{summary:?}");
    assert_eq!(keys(&read(&mock, "out", 6)), ["a", "b", "c", "d", "e", "f"]);
    assert!(read(&mock, "late", 0).is_empty());
}
