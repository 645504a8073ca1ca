//! The pipeline against rdkafka's in-process mock cluster: dead-letter
//! routing of failed transforms, `tolerance = none`, broker rejections
//! (exactly-once: abort, rewind, dead-letter on the retry; at-least-once:
//! rewind the partition), retriable failures that are retried and never
//! dead-lettered, and the in-flight cap.
//!
//! The mock broker of librdkafka 2.12 does not hide aborted transactions
//! from read_committed consumers (it writes no markers), so exactly-once
//! visibility is checked against the real broker in `integration-tests`;
//! here the summary (committed transactions only) and the dead-letter
//! topic are checked. It does not store the offsets a transaction commits
//! either: committed offsets are checked for at-least-once only.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kbridge_admin::dlq::{self, ErrorContext};
use kbridge_codec::Value;
use kbridge_pipeline::{
    DeadLetter, Limits, Pipeline, PipelineError, PipelineRecord, RetryPolicy, Summary, Tolerance,
    TransactionLimits, Transform, TransformError,
};
use kbridge_sink::KafkaSink;
use kbridge_source::{KafkaSource, PartitionOffsets, StopOffsets, TopicPartition};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

mod common;
use common::Mock;

const PARTITIONS: i32 = 2;

fn cluster(n: u32) -> Mock {
    let mock = MockCluster::new(1).expect("mock cluster");
    for t in ["in", "out", "in.dlq"] {
        mock.create_topic(t, PARTITIONS, 1).expect("create topic");
    }
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .create()
        .unwrap();
    for i in 0..n {
        let key = format!("k{i}");
        let value = i.to_string();
        p.send(
            BaseRecord::to("in")
                .key(&key)
                .payload(&value)
                .partition(i as i32 % PARTITIONS),
        )
        .map_err(|(e, _)| e)
        .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    mock
}

/// Every partition of `in` stops after its records.
fn stops(n: u32) -> PartitionOffsets {
    let mut m = BTreeMap::new();
    for p in 0..PARTITIONS {
        let count = (0..n).filter(|i| *i as i32 % PARTITIONS == p).count() as i64;
        m.insert(TopicPartition::new("in", p), count);
    }
    m
}

fn source(mock: &Mock, n: u32) -> KafkaSource {
    KafkaSource::builder()
        .bootstrap_servers(mock.bootstrap_servers())
        .group_id("g")
        .topic("in")
        .stop_offsets(StopOffsets::Offsets(stops(n)))
        .option("session.timeout.ms", "6000")
        .option("heartbeat.interval.ms", "1000")
        .build()
        .unwrap()
}

fn sink(mock: &Mock, eos: bool) -> KafkaSink {
    let b = KafkaSink::builder()
        .bootstrap_servers(mock.bootstrap_servers())
        .topic("out")
        .operation_timeout(Duration::from_secs(20));
    let b = if eos {
        b.exactly_once("pl-test", "mock")
    } else {
        b
    };
    b.build().unwrap()
}

/// Values are decimal numbers (bytes codec): fails with `class` for the
/// values in `fail`, as `disposition`, a limited number of times.
struct Check {
    fail: BTreeSet<u32>,
    retriable_times: u32,
    fatal: bool,
}

impl Transform for Check {
    fn name(&self) -> &str {
        "check"
    }

    fn apply<'a>(
        &mut self,
        record: PipelineRecord<'a>,
        out: &mut Vec<PipelineRecord<'a>>,
    ) -> Result<(), TransformError> {
        let n: u32 = match &record.value {
            Value::Bytes(b) => std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()),
            _ => None,
        }
        .ok_or_else(|| TransformError::poison("NotANumber", "value is not a number"))?;
        if self.fail.contains(&n) {
            if self.retriable_times > 0 {
                self.retriable_times -= 1;
                return Err(TransformError::retriable(
                    "LookupDown",
                    "lookup service down",
                ));
            }
            if self.fatal {
                return Err(TransformError::fatal("Broken", "cannot go on"));
            }
            return Err(
                TransformError::poison("Rejected", format!("value {n} is rejected"))
                    .with_path("value"),
            );
        }
        out.push(record);
        Ok(())
    }
}

fn check(fail: &[u32]) -> Box<Check> {
    Box::new(Check {
        fail: fail.iter().copied().collect(),
        retriable_times: 0,
        fatal: false,
    })
}

fn run(p: Pipeline) -> Result<Summary, PipelineError> {
    common::run_to_end(p, Duration::from_secs(90))
}

#[derive(Debug)]
struct Rec {
    key: String,
    value: Vec<u8>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

fn read(mock: &Mock, topic: &str, want: usize) -> Vec<Rec> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("group.id", format!("reader-{topic}"))
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut extra = None;
    while Instant::now() < deadline {
        if out.len() >= want {
            let until = *extra.get_or_insert_with(|| Instant::now() + Duration::from_millis(700));
            if Instant::now() > until {
                break;
            }
        }
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            out.push(Rec {
                key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                value: m.payload().unwrap_or_default().to_vec(),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out
}

fn context(r: &Rec) -> ErrorContext {
    ErrorContext::from_headers(r.headers.iter().map(|(n, v)| (n.as_str(), v.as_deref())))
}

fn committed(mock: &Mock) -> BTreeMap<i32, i64> {
    common::committed(mock, "g", "in", PARTITIONS)
}

fn all_committed(n: u32) -> BTreeMap<i32, i64> {
    stops(n)
        .into_iter()
        .map(|(tp, o)| (tp.partition, o))
        .collect()
}

fn keys(recs: &[Rec]) -> BTreeSet<String> {
    recs.iter().map(|r| r.key.clone()).collect()
}

fn builder(mock: &Mock, n: u32, eos: bool) -> kbridge_pipeline::PipelineBuilder {
    Pipeline::builder()
        .source(source(mock, n))
        .sink(sink(mock, eos))
        .transactions(TransactionLimits {
            max_records: 25,
            max_duration: Duration::from_millis(50),
        })
        .commit_interval(Duration::from_millis(50))
        .retry(RetryPolicy {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
        })
}

fn failed_transforms_go_to_the_dead_letter_topic(eos: bool) {
    const N: u32 = 120;
    let mock = cluster(N);
    let summary = run(builder(&mock, N, eos)
        .transform(check(&[3, 50, 51]))
        .build()
        .unwrap())
    .unwrap();
    assert_eq!(summary.records_in, u64::from(N));
    assert_eq!(summary.records_out, u64::from(N) - 3);
    assert_eq!(summary.dead_lettered.get("transform"), Some(&3));
    assert_eq!(summary.ended_by, "finished");
    let dead = read(&mock, "in.dlq", 3);
    assert_eq!(
        keys(&dead),
        ["k3", "k50", "k51"].map(String::from).into_iter().collect()
    );
    for d in &dead {
        let ctx = context(d);
        assert_eq!(ctx.stage.as_deref(), Some(dlq::stage::TRANSFORMATION));
        assert_eq!(ctx.class_name.as_deref(), Some("check"));
        assert_eq!(ctx.exception_class.as_deref(), Some("Rejected"));
        let n: u32 = String::from_utf8_lossy(&d.value).parse().unwrap();
        assert_eq!(d.key, format!("k{n}"), "the original value");
        assert_eq!(
            ctx.message,
            Some(format!("value {n} is rejected (field `value`)"))
        );
        assert_eq!(ctx.topic.as_deref(), Some("in"));
        assert_eq!(ctx.partition, Some(n as i32 % PARTITIONS));
        assert_eq!(ctx.offset, Some(i64::from(n) / i64::from(PARTITIONS)));
    }
    let out = read(&mock, "out", (N - 3) as usize);
    assert_eq!(out.len(), (N - 3) as usize);
    if !eos {
        // the mock broker does not store offsets sent in a transaction
        assert_eq!(committed(&mock), all_committed(N));
    }
}

#[test]
fn exactly_once_dead_letters_failed_transforms_in_the_transaction() {
    failed_transforms_go_to_the_dead_letter_topic(true);
}

#[test]
fn at_least_once_dead_letters_failed_transforms() {
    failed_transforms_go_to_the_dead_letter_topic(false);
}

fn tolerance_none_stops_at_the_first_bad_record(eos: bool) {
    const N: u32 = 60;
    let mock = cluster(N);
    // value 21 is the 11th record of partition 1 (offset 10)
    let err = run(builder(&mock, N, eos)
        .transform(check(&[21]))
        .dead_letter(DeadLetter {
            tolerance: Tolerance::None,
            ..DeadLetter::default()
        })
        .build()
        .unwrap())
    .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert_eq!(
        err.to_string(),
        "record in[1]@10 failed in stage transform (Rejected): value 21 is rejected (field `value`); \
         stopped because dead_letter.tolerance is none"
    );
    assert!(read(&mock, "in.dlq", 1).is_empty(), "nothing dead-lettered");
    if !eos {
        // (the mock broker does not store offsets sent in a transaction;
        // the real-broker test checks them for exactly-once)
        let offsets = committed(&mock);
        assert_eq!(
            offsets.get(&1),
            Some(&10),
            "partition 1 committed up to the bad record, not past it: {offsets:?}"
        );
    }
}

#[test]
fn exactly_once_tolerance_none_commits_up_to_the_bad_record() {
    tolerance_none_stops_at_the_first_bad_record(true);
}

#[test]
fn at_least_once_tolerance_none_commits_up_to_the_bad_record() {
    tolerance_none_stops_at_the_first_bad_record(false);
}

#[test]
fn fatal_transform_errors_stop_without_committing_the_record() {
    const N: u32 = 40;
    let mock = cluster(N);
    let err = run(builder(&mock, N, false)
        .transform(Box::new(Check {
            fail: [7].into_iter().collect(),
            retriable_times: 0,
            fatal: true,
        }))
        .build()
        .unwrap())
    .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(
        err.to_string(),
        "record in[1]@3: fatal error in stage transform: cannot go on"
    );
    assert_eq!(
        committed(&mock).get(&1),
        Some(&3),
        "what came before is committed, the failing record is not"
    );
    assert!(read(&mock, "in.dlq", 1).is_empty());
}

#[test]
fn retriable_failures_are_retried_and_never_dead_lettered() {
    const N: u32 = 30;
    let mock = cluster(N);
    let summary = run(builder(&mock, N, true)
        .transform(Box::new(Check {
            fail: [5].into_iter().collect(),
            retriable_times: 3,
            fatal: false,
        }))
        .build()
        .unwrap())
    .unwrap();
    // the fourth attempt meets the poison rule: dead-lettered once, after 3 retries
    assert_eq!(summary.retries, 3);
    assert_eq!(summary.dead_lettered_total(), 1);
    let dead = read(&mock, "in.dlq", 1);
    assert_eq!(dead.len(), 1);
    assert_eq!(context(&dead[0]).attempt, Some(4));
    assert_eq!(summary.records_out, u64::from(N) - 1);
}

/// The broker refuses the first produce request (record too large): the
/// transaction aborts, the source rewinds, and on the retry the refused
/// records go to the dead-letter topic; every record ends up committed
/// exactly once, as output or as dead letter.
#[test]
fn exactly_once_broker_rejection_aborts_and_dead_letters_on_the_retry() {
    const N: u32 = 100;
    let mock = cluster(N);
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE],
    );
    let summary = run(builder(&mock, N, true).build().unwrap()).unwrap();
    assert!(summary.aborts >= 1, "{summary:?}");
    let dead_count = summary.dead_lettered.get("produce").copied().unwrap_or(0);
    assert!(dead_count >= 1, "{summary:?}");
    assert_eq!(
        summary.records_out + dead_count,
        u64::from(N),
        "{summary:?}"
    );
    let dead = read(&mock, "in.dlq", dead_count as usize);
    assert_eq!(
        dead.len() as u64,
        dead_count,
        "each refused record dead-lettered once"
    );
    for d in &dead {
        let ctx = context(d);
        assert_eq!(ctx.stage.as_deref(), Some(dlq::stage::KAFKA_PRODUCE));
        assert_eq!(ctx.exception_class.as_deref(), Some("RecordTooLarge"));
        assert_eq!(ctx.class_name.as_deref(), Some("kbridge.sink"));
        let n: u32 = String::from_utf8_lossy(&d.value).parse().unwrap();
        assert_eq!(d.key, format!("k{n}"));
    }
    assert_eq!(keys(&dead).len(), dead.len());
}

/// At-least-once: a refused output rewinds its partition; the record comes
/// back and goes to the dead-letter topic; nothing is lost.
#[test]
fn at_least_once_broker_rejection_rewinds_and_dead_letters() {
    const N: u32 = 100;
    let mock = cluster(N);
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE],
    );
    let summary = run(builder(&mock, N, false).build().unwrap()).unwrap();
    let dead_count = summary.dead_lettered.get("produce").copied().unwrap_or(0);
    assert!(dead_count >= 1, "{summary:?}");
    let dead = read(&mock, "in.dlq", dead_count as usize);
    let out = read(&mock, "out", N as usize);
    let mut all = keys(&out);
    all.extend(keys(&dead));
    let want: BTreeSet<String> = (0..N).map(|i| format!("k{i}")).collect();
    assert_eq!(all, want, "every record written or dead-lettered");
    assert!(
        keys(&dead).iter().all(|k| !keys(&out).contains(k)),
        "a refused record is not in the output"
    );
    assert_eq!(committed(&mock), all_committed(N));
}

/// With the broker slow to acknowledge, at most `max_in_flight_records`
/// records are in flight; the pipeline still gets through every record,
/// and commits every `commit_interval` meanwhile (not only once the
/// records at hand are through).
#[test]
fn the_in_flight_cap_holds_under_a_slow_broker() {
    const N: u32 = 300;
    let mock = cluster(N);
    mock.broker_round_trip_time(1, Duration::from_millis(30))
        .unwrap();
    let summary = run(builder(&mock, N, false)
        .limits(Limits {
            max_in_flight_records: 16,
            max_in_flight_bytes: 1 << 20,
        })
        .build()
        .unwrap())
    .unwrap();
    assert_eq!(summary.records_out, u64::from(N));
    assert!(summary.peak_in_flight_records <= 16, "{summary:?}");
    assert_eq!(
        summary.peak_in_flight_records, 16,
        "the cap was reached: {summary:?}"
    );
    // 300 records at 16 per 30 ms round trip stream for 0.5 s or more,
    // with a commit due every 50 ms (see `builder`): 10 here; 1 or 2 when
    // commits waited for the records at hand
    assert!(
        summary.commits >= 5,
        "{} commits in {:?}",
        summary.commits,
        summary.duration
    );
}

/// The byte cap: a record is sent only while fewer than the limit's bytes
/// are in flight (so the peak is below the limit plus one record).
#[test]
fn the_in_flight_byte_cap_holds_under_a_slow_broker() {
    const N: u32 = 200;
    let mock = cluster(N);
    mock.broker_round_trip_time(1, Duration::from_millis(30))
        .unwrap();
    let summary = run(builder(&mock, N, false)
        .limits(Limits {
            max_in_flight_records: 1000,
            max_in_flight_bytes: 40,
        })
        .build()
        .unwrap())
    .unwrap();
    assert_eq!(summary.records_out, u64::from(N));
    // the largest record is "k199" + "199": 7 bytes
    assert!(summary.peak_in_flight_bytes < 40 + 7, "{summary:?}");
    assert!(
        summary.peak_in_flight_bytes >= 40 - 7,
        "the cap was reached: {summary:?}"
    );
    assert!(summary.peak_in_flight_records <= 10, "{summary:?}");
}

/// Headers go through unchanged, in order, null values and repeated names
/// included, when records with and without headers are mixed (the stage
/// reads each record's headers once and reuses them).
#[test]
fn source_headers_reach_the_output_in_order() {
    use rdkafka::message::{Header, OwnedHeaders};
    const N: u32 = 60;
    let mock = cluster(0);
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .create()
        .unwrap();
    let expected = |i: u32| -> Vec<(String, Option<Vec<u8>>)> {
        match i % 3 {
            0 => Vec::new(),
            1 => vec![("trace".into(), Some(format!("t{i}").into_bytes()))],
            _ => vec![
                ("a".into(), Some(b"1".to_vec())),
                ("gone".into(), None),
                ("a".into(), Some(Vec::new())),
            ],
        }
    };
    for i in 0..N {
        let (key, value) = (format!("k{i}"), i.to_string());
        let mut r = BaseRecord::to("in")
            .key(&key)
            .payload(&value)
            .partition(i as i32 % PARTITIONS);
        let hs = expected(i);
        if !hs.is_empty() {
            let mut h = OwnedHeaders::new();
            for (k, v) in &hs {
                h = h.insert(Header {
                    key: k.as_str(),
                    value: v.as_deref(),
                });
            }
            r = r.headers(h);
        }
        p.send(r).map_err(|(e, _)| e).unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    let summary = run(builder(&mock, N, false).build().unwrap()).unwrap();
    assert_eq!(summary.records_out, u64::from(N));
    let out = read(&mock, "out", N as usize);
    assert_eq!(out.len(), N as usize);
    for r in &out {
        let i: u32 = String::from_utf8_lossy(&r.value).parse().unwrap();
        assert_eq!(r.headers, expected(i), "headers of record {i}");
    }
}
