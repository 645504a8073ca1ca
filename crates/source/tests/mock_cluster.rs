//! KafkaSource against rdkafka's in-process mock cluster: records and their
//! metadata, start offsets, bounded replays, rebalances, broker outages.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kbridge_source::{
    CommitMode, Fallback, KafkaSource, KafkaSourceBuilder, OffsetTracker, SourceEvent,
    StartOffsets, StopOffsets, TimestampType, TopicPartition,
};
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};

type Mock = MockCluster<'static, DefaultProducerContext>;

fn cluster(topic: &str, partitions: i32) -> Mock {
    let mock = MockCluster::new(3).expect("mock cluster");
    mock.create_topic(topic, partitions, 1)
        .expect("create topic");
    mock
}

fn producer(mock: &Mock) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .set("linger.ms", "1")
        .create()
        .expect("producer")
}

/// Produces `n` records `k{i}`/`v{i}` round-robin over `partitions`.
fn produce(mock: &Mock, topic: &str, partitions: i32, range: std::ops::Range<u32>) {
    let p = producer(mock);
    for i in range {
        let key = format!("k{i}");
        let value = format!("v{i}");
        let rec = BaseRecord::to(topic)
            .key(&key)
            .payload(&value)
            .partition(i as i32 % partitions);
        p.send(rec).map_err(|(e, _)| e).expect("send");
    }
    p.flush(Duration::from_secs(10)).expect("flush");
}

fn source(mock: &Mock, group: &str, topic: &str) -> KafkaSourceBuilder {
    KafkaSource::builder()
        .bootstrap_servers(mock.bootstrap_servers())
        .group_id(group)
        .topic(topic)
        .option("session.timeout.ms", "6000")
        .option("heartbeat.interval.ms", "1000")
        .operation_timeout(Duration::from_secs(10))
}

/// A consumed record, owned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Got {
    partition: i32,
    offset: i64,
    key: String,
    value: String,
}

/// Polls until `want` records arrived (or `deadline`), answering revocations
/// by committing what was consumed.
fn read(src: &KafkaSource, want: usize, deadline: Duration) -> Vec<Got> {
    let end = Instant::now() + deadline;
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < end {
        match src.poll(Duration::from_millis(100)).expect("poll") {
            Some(SourceEvent::Record(r)) => out.push(Got {
                partition: r.partition(),
                offset: r.offset(),
                key: String::from_utf8_lossy(r.key().unwrap_or_default()).into_owned(),
                value: String::from_utf8_lossy(r.value().unwrap_or_default()).into_owned(),
            }),
            Some(SourceEvent::Revoked(_)) => {
                src.commit(&src.pending_offsets(), CommitMode::Sync)
                    .expect("commit on revoke");
                src.mark_committed();
            }
            _ => {}
        }
    }
    out
}

/// Polls for `quiet` and returns any records (there should be none).
fn read_nothing(src: &KafkaSource, quiet: Duration) -> Vec<Got> {
    let mut v = read(src, usize::MAX, quiet);
    v.sort();
    v
}

#[test]
fn record_metadata_round_trip() {
    let topic = "meta";
    let mock = cluster(topic, 2);
    let p = producer(&mock);
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "trace",
            value: Some(&b"abc"[..]),
        })
        .insert(Header {
            key: "empty",
            value: Some(&b""[..]),
        })
        .insert(Header {
            key: "null",
            value: None::<&[u8]>,
        });
    let rec = BaseRecord::to(topic)
        .key("key-1")
        .payload("value-1")
        .partition(1)
        .timestamp(1_700_000_000_123);
    p.send(rec.headers(headers)).map_err(|(e, _)| e).unwrap();
    p.send(BaseRecord::<(), (), ()>::to(topic).partition(0))
        .map_err(|(e, _)| e)
        .unwrap();
    p.flush(Duration::from_secs(10)).unwrap();

    let src = source(&mock, "g-meta", topic)
        .start_offsets(StartOffsets::Earliest)
        .build()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    let mut assigned = None;
    let mut seen = 0;
    while seen < 2 && Instant::now() < end {
        match src.poll(Duration::from_millis(100)).unwrap() {
            Some(SourceEvent::Assigned(parts)) => assigned = Some(parts),
            Some(SourceEvent::Record(r)) => {
                seen += 1;
                assert!(assigned.is_some(), "records only after the assignment");
                assert_eq!(r.topic(), topic);
                if r.partition() == 1 {
                    assert_eq!(r.key(), Some(&b"key-1"[..]));
                    assert_eq!(r.value(), Some(&b"value-1"[..]));
                    assert_eq!(r.offset(), 0);
                    assert_eq!(r.timestamp(), Some(1_700_000_000_123));
                    assert_eq!(r.timestamp_type(), TimestampType::CreateTime);
                    let h: Vec<(String, Option<Vec<u8>>)> = r
                        .headers()
                        .map(|h| (h.key_str().into_owned(), h.value.map(<[u8]>::to_vec)))
                        .collect();
                    assert_eq!(
                        h,
                        vec![
                            ("trace".into(), Some(b"abc".to_vec())),
                            ("empty".into(), Some(vec![])),
                            ("null".into(), None),
                        ]
                    );
                    assert_eq!(
                        r.owned_headers()
                            .map(|h| rdkafka::message::Headers::count(&h)),
                        Some(3)
                    );
                } else {
                    assert_eq!(r.key(), None);
                    assert_eq!(r.value(), None);
                    assert_eq!(r.headers().count(), 0);
                    assert!(r.owned_headers().is_none());
                    assert!(r.timestamp().is_some());
                }
            }
            _ => {}
        }
    }
    assert_eq!(seen, 2);
    let mut parts = assigned.unwrap();
    parts.sort();
    assert_eq!(
        parts,
        vec![TopicPartition::new(topic, 0), TopicPartition::new(topic, 1)]
    );
    assert_eq!(src.assignment().len(), 2);
}

#[test]
fn committed_offsets_resume_and_latest_skips_history() {
    let topic = "resume";
    let mock = cluster(topic, 1);
    produce(&mock, topic, 1, 0..20);

    // First run: read 12, commit through the tracker after "delivering" 0..10.
    {
        let src = source(&mock, "g-resume", topic).build().unwrap();
        let got = read(&src, 12, Duration::from_secs(30));
        assert_eq!(got.len(), 12);
        let mut tracker = OffsetTracker::new();
        let tickets: Vec<_> = got
            .iter()
            .map(|g| tracker.track(topic, g.partition, g.offset))
            .collect();
        for t in &tickets[..10] {
            tracker.complete(*t);
        }
        src.commit(&tracker.take_committable().unwrap(), CommitMode::Sync)
            .unwrap();
        assert_eq!(
            src.committed().unwrap(),
            vec![(TopicPartition::new(topic, 0), Some(10))]
        );
    }
    // Second run, same group, committed start: resumes at 10 exactly.
    let src = source(&mock, "g-resume", topic).build().unwrap();
    let got = read(&src, 10, Duration::from_secs(30));
    let offsets: Vec<i64> = got.iter().map(|g| g.offset).collect();
    assert_eq!(offsets, (10..20).collect::<Vec<_>>());
    drop(src);

    // A new group with Latest sees only what is produced after it joined.
    let src = source(&mock, "g-latest", topic)
        .start_offsets(StartOffsets::Latest)
        .build()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    while src.assignment().is_empty() && Instant::now() < end {
        assert!(!matches!(
            src.poll(Duration::from_millis(100)).unwrap(),
            Some(SourceEvent::Record(_))
        ));
    }
    assert_eq!(read_nothing(&src, Duration::from_millis(500)), vec![]);
    produce(&mock, topic, 1, 20..23);
    let got = read(&src, 3, Duration::from_secs(30));
    assert_eq!(
        got.iter().map(|g| g.key.as_str()).collect::<Vec<_>>(),
        vec!["k20", "k21", "k22"]
    );

    // Committed with fallback latest, on a group without commits: same.
    let src = source(&mock, "g-fallback", topic)
        .start_offsets(StartOffsets::Committed {
            fallback: Fallback::Latest,
        })
        .build()
        .unwrap();
    while src.assignment().is_empty() && Instant::now() < end {
        src.poll(Duration::from_millis(100)).unwrap();
    }
    assert_eq!(read_nothing(&src, Duration::from_millis(500)), vec![]);
}

#[test]
fn specific_offsets_and_bounded_replay() {
    let topic = "bounded";
    let mock = cluster(topic, 3);
    produce(&mock, topic, 3, 0..30); // 10 per partition
    let tp = |p| TopicPartition::new(topic, p);
    let src = source(&mock, "g-bounded", topic)
        .start_offsets(StartOffsets::Offsets {
            offsets: BTreeMap::from([(tp(0), 2), (tp(1), 0)]),
            fallback: Fallback::Earliest,
        })
        .stop_offsets(StopOffsets::Offsets(BTreeMap::from([
            (tp(0), 7),
            (tp(1), 10),
        ])))
        .build()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    let mut finished = false;
    while Instant::now() < end {
        match src.poll(Duration::from_millis(100)).unwrap() {
            Some(SourceEvent::Record(r)) => got.push((r.partition(), r.offset())),
            Some(SourceEvent::Finished) => {
                finished = true;
                break;
            }
            _ => {}
        }
    }
    assert!(finished, "bounded source must report Finished; got {got:?}");
    got.sort();
    let mut want: Vec<(i32, i64)> = (2..7).map(|o| (0, o)).collect();
    want.extend((0..10).map(|o| (1, o)));
    // partition 2 is not in the stop map: not read at all
    assert_eq!(got, want);
    assert!(src.is_finished());
    assert!(matches!(
        src.poll(Duration::from_millis(10)).unwrap(),
        Some(SourceEvent::Finished)
    ));
    assert_eq!(
        src.stop_offsets(),
        BTreeMap::from([(tp(0), 7), (tp(1), 10), (tp(2), 0)])
    );
}

#[test]
fn bounded_latest_at_start_ignores_later_records() {
    let topic = "latest-at-start";
    let mock = cluster(topic, 2);
    produce(&mock, topic, 2, 0..8);
    let src = source(&mock, "g-las", topic)
        .start_offsets(StartOffsets::Earliest)
        .stop_offsets(StopOffsets::LatestAtStart)
        .build()
        .unwrap();
    produce(&mock, topic, 2, 8..12); // after the start: not part of the replay
    let end = Instant::now() + Duration::from_secs(30);
    let mut keys = BTreeSet::new();
    loop {
        assert!(Instant::now() < end, "not finished; got {keys:?}");
        match src.poll(Duration::from_millis(100)).unwrap() {
            Some(SourceEvent::Record(r)) => {
                keys.insert(String::from_utf8_lossy(r.key().unwrap()).into_owned());
            }
            Some(SourceEvent::Finished) => break,
            _ => {}
        }
    }
    assert_eq!(keys, (0..8).map(|i| format!("k{i}")).collect());
}

#[test]
fn revocation_is_handed_to_the_caller_and_released_on_next_poll() {
    let topic = "rebalance";
    let mock = cluster(topic, 4);
    produce(&mock, topic, 4, 0..40);
    let a = source(&mock, "g-reb", topic)
        .client_id("a")
        .build()
        .unwrap();
    let first = read(&a, 40, Duration::from_secs(30));
    assert_eq!(first.len(), 40);
    // A commits what it has processed (a pipeline commits periodically).
    a.commit(&a.pending_offsets(), CommitMode::Sync).unwrap();
    a.mark_committed();

    // B joins: A gets the revocation first and keeps its partitions until
    // its next poll; then both share the partitions.
    let b = source(&mock, "g-reb", topic)
        .client_id("b")
        .build()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(40);
    let mut revoked = None;
    while (a.assignment().len() + b.assignment().len() != 4 || b.assignment().is_empty())
        && Instant::now() < end
    {
        for (name, s) in [("a", &a), ("b", &b)] {
            match s.poll(Duration::from_millis(50)).unwrap() {
                Some(SourceEvent::Revoked(r)) => {
                    assert!(!r.lost);
                    // the partitions are still assigned during the window
                    let held = s.assignment();
                    assert!(r.partitions.iter().all(|p| held.contains(p)), "{held:?}");
                    assert!(s.group_metadata().is_ok());
                    if name == "a" && revoked.is_none() {
                        revoked = Some(r.partitions.len());
                    }
                }
                Some(SourceEvent::Record(r)) => {
                    panic!(
                        "{name} re-read {}[{}]@{}",
                        r.topic(),
                        r.partition(),
                        r.offset()
                    )
                }
                _ => {}
            }
        }
    }
    assert_eq!(revoked, Some(4));
    assert_eq!(
        a.assignment().len() + b.assignment().len(),
        4,
        "a={:?} b={:?}",
        a.assignment(),
        b.assignment()
    );
    assert!(!a.assignment().is_empty());

    // New records are read once, by one of the two.
    produce(&mock, topic, 4, 40..60);
    let end = Instant::now() + Duration::from_secs(30);
    let mut keys = Vec::new();
    while keys.len() < 20 && Instant::now() < end {
        for s in [&a, &b] {
            if let Some(SourceEvent::Record(r)) = s.poll(Duration::from_millis(20)).unwrap() {
                keys.push(String::from_utf8_lossy(r.key().unwrap()).into_owned());
            }
        }
    }
    keys.sort();
    let mut want: Vec<String> = (40..60).map(|i| format!("k{i}")).collect();
    want.sort();
    assert_eq!(keys, want);
}

#[test]
fn broker_outage_loses_and_duplicates_nothing() {
    let topic = "outage";
    let mock = cluster(topic, 2);
    produce(&mock, topic, 2, 0..50);
    let src = source(&mock, "g-outage", topic).build().unwrap();
    let mut got = read(&src, 25, Duration::from_secs(30));
    mock.broker_down(-1).unwrap();
    got.extend(read(&src, 1000, Duration::from_secs(2))); // whatever was prefetched
    mock.broker_up(-1).unwrap();
    let still = 50 - got.len();
    got.extend(read(&src, still, Duration::from_secs(60)));
    let mut keys: Vec<&str> = got.iter().map(|g| g.key.as_str()).collect();
    keys.sort();
    let mut want: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
    want.sort();
    assert_eq!(keys, want.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn rewind_replays_uncommitted_records() {
    let topic = "rewind";
    let mock = cluster(topic, 1);
    produce(&mock, topic, 1, 0..10);
    let src = source(&mock, "g-rewind", topic).build().unwrap();
    let a = read(&src, 4, Duration::from_secs(30));
    assert_eq!(
        a.iter().map(|g| g.offset).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    src.mark_committed(); // as after a transaction commit
    let b = read(&src, 3, Duration::from_secs(30));
    assert_eq!(
        b.iter().map(|g| g.offset).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    let pending: Vec<_> = src
        .pending_offsets()
        .elements()
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect();
    assert_eq!(pending, vec![(0, rdkafka::Offset::Offset(7))]);
    // as after an abort: back to 4
    assert_eq!(src.rewind().unwrap(), 1);
    let c = read(&src, 6, Duration::from_secs(30));
    assert_eq!(
        c.iter().map(|g| g.offset).collect::<Vec<_>>(),
        vec![4, 5, 6, 7, 8, 9]
    );
}

#[test]
fn bounded_by_timestamp_stops_before_the_first_later_record() {
    let topic = "stop-ts";
    let mock = cluster(topic, 1);
    let p = producer(&mock);
    for i in 0..8i64 {
        let key = format!("k{i}");
        let rec = BaseRecord::<str, str>::to(topic)
            .key(&key)
            .payload("v")
            .timestamp(1_000 * (i + 1));
        p.send(rec).map_err(|(e, _)| e).unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    let src = source(&mock, "g-stop-ts", topic)
        .start_offsets(StartOffsets::Earliest)
        .stop_offsets(StopOffsets::timestamp("4000").unwrap())
        .build()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    let mut offsets = Vec::new();
    loop {
        assert!(Instant::now() < end, "not finished; got {offsets:?}");
        match src.poll(Duration::from_millis(100)).unwrap() {
            Some(SourceEvent::Record(r)) => offsets.push(r.offset()),
            Some(SourceEvent::Finished) => break,
            _ => {}
        }
    }
    // timestamps 1000, 2000, 3000 are before the stop; 4000 is not
    assert_eq!(offsets, vec![0, 1, 2]);
}
