//! The stack and the plumbing: configuration loaded from environment
//! variables (the plain `KAFKA_*` names deployments use) drives a real
//! producer and a real group consumer against the broker that `cargo xtask`
//! started. What goes out comes back: same count, bytes, keys, headers, and
//! the offsets the delivery reports named; the group's committed offsets
//! end one past the last record of each partition.

use kbridge_config::{ClientProperties, Config, EnvVars, LoadOptions};
use kbridge_integration_tests::{kafka_bootstrap, unique};
use rdkafka::TopicPartitionList;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use std::collections::BTreeMap;
use std::time::Duration;

const RECORDS: usize = 60;
const PARTITIONS: i32 = 3;

/// Load the configuration exactly as `kbridge` does, from these variables.
fn config_from_env(vars: &[(&str, String)]) -> Config {
    Config::load(LoadOptions {
        file: None,
        overrides: Vec::new(),
        env: EnvVars::from_pairs(vars.iter().map(|(k, v)| (k.to_string(), v.clone()))),
    })
    .unwrap_or_else(|e| panic!("configuration from env does not load: {e}"))
}

fn client_config(props: ClientProperties) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (k, v) in props.iter() {
        config.set(k, v);
    }
    config
}

/// What a record carried when it went out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    payload: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
    partition: i32,
    offset: i64,
}

fn payload(i: usize) -> Vec<u8> {
    // not UTF-8, includes zero bytes, varies in length
    let mut bytes = vec![0x00, 0xff, 0xfe, i as u8];
    bytes.extend(std::iter::repeat_n(b'x', i * 7));
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_from_env_config_round_trip_with_keys_headers_and_offsets() {
    let topic = unique("it-roundtrip");
    let group = unique("it-roundtrip-group");
    let bootstrap = kafka_bootstrap();
    let config = config_from_env(&[
        ("KAFKA_BROKERS", bootstrap.clone()),
        ("KAFKA_TOPIC", topic.clone()),
        ("KAFKA_GROUP_ID", group.clone()),
        ("KAFKA_AUTO_OFFSET_RESET", "earliest".to_string()),
        // tansu needs short group timeouts or a join takes ~25 s
        ("KBRIDGE_CONSUMER__SESSION_TIMEOUT", "6s".to_string()),
        ("KBRIDGE_CONSUMER__HEARTBEAT_INTERVAL", "1s".to_string()),
        ("KBRIDGE_CONSUMER__MAX_POLL_INTERVAL", "10s".to_string()),
    ]);
    let expected_brokers: Vec<String> = bootstrap.split(',').map(str::to_string).collect();
    assert_eq!(config.kafka.brokers, expected_brokers);
    assert_eq!(config.source.topics, std::slice::from_ref(&topic));
    assert_eq!(config.consumer.group_id, group);

    let admin: AdminClient<DefaultClientContext> = client_config(config.client_config_for_admin())
        .create()
        .expect("admin client");
    let created = admin
        .create_topics(
            [&NewTopic::new(
                &topic,
                PARTITIONS,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
        )
        .await
        .expect("create_topics request");
    for result in created {
        result.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }

    let producer: FutureProducer = client_config(config.client_config_for_producer())
        .create()
        .expect("producer");
    let mut sent: BTreeMap<String, Sent> = BTreeMap::new();
    for i in 0..RECORDS {
        let key = format!("key-{i:03}");
        let body = payload(i);
        let headers = vec![
            ("seq".to_string(), i.to_string().into_bytes()),
            ("bin".to_string(), vec![0u8, 1, 2, 0xff]),
            (
                "seq".to_string(),
                b"repeated names keep their order".to_vec(),
            ),
        ];
        let mut owned = OwnedHeaders::new();
        for (name, value) in &headers {
            owned = owned.insert(Header {
                key: name,
                value: Some(value),
            });
        }
        let record = FutureRecord::to(&topic)
            .key(&key)
            .payload(&body)
            .headers(owned);
        let delivery = producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
            .unwrap_or_else(|(e, _)| panic!("delivery of {key} to {topic}: {e}"));
        sent.insert(
            key,
            Sent {
                payload: body,
                headers,
                partition: delivery.partition,
                offset: delivery.offset,
            },
        );
    }

    // Delivery reports: every partition's offsets are 0..n without gaps.
    let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for s in sent.values() {
        per_partition.entry(s.partition).or_default().push(s.offset);
    }
    for (partition, offsets) in &mut per_partition {
        offsets.sort_unstable();
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(offsets, &expected, "offsets of partition {partition}");
    }
    assert!(
        per_partition.len() > 1,
        "keys should spread over the {PARTITIONS} partitions: {per_partition:?}"
    );

    let consumer: StreamConsumer = client_config(config.client_config_for_consumer())
        .create()
        .expect("consumer");
    let topics: Vec<&str> = config.source.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics).expect("subscribe");

    // Count records (never watermarks: tansu under-reports them).
    let mut received: BTreeMap<String, Sent> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while received.len() < RECORDS {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "only {} of {RECORDS} records came back within 90 s",
                    received.len()
                )
            })
            .expect("consumer error");
        let key = String::from_utf8(message.key().expect("key").to_vec()).expect("utf-8 key");
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        let got = Sent {
            payload: message.payload().unwrap_or_default().to_vec(),
            headers,
            partition: message.partition(),
            offset: message.offset(),
        };
        assert_eq!(message.topic(), topic);
        // kbridge's consumer config stores offsets explicitly (after the
        // sink has written a record); a plain reader stores on receipt.
        consumer
            .store_offset_from_message(&message)
            .expect("store offset");
        assert!(
            received.insert(key.clone(), got).is_none(),
            "{key} came back twice"
        );
    }
    assert_eq!(
        received, sent,
        "records read back differ from those written"
    );

    // Commit what was stored; the group's position is last offset + 1 per partition.
    consumer
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit");
    let committed = consumer
        .committed(Duration::from_secs(10))
        .expect("committed offsets");
    let mut expected = TopicPartitionList::new();
    for (partition, offsets) in &per_partition {
        expected
            .add_partition_offset(
                &topic,
                *partition,
                rdkafka::Offset::Offset(offsets.len() as i64),
            )
            .expect("offset");
    }
    let committed: BTreeMap<i32, rdkafka::Offset> = committed
        .elements_for_topic(&topic)
        .iter()
        .filter(|e| per_partition.contains_key(&e.partition()))
        .map(|e| (e.partition(), e.offset()))
        .collect();
    let expected: BTreeMap<i32, rdkafka::Offset> = expected
        .elements_for_topic(&topic)
        .iter()
        .map(|e| (e.partition(), e.offset()))
        .collect();
    assert_eq!(committed, expected, "committed offsets of group {group}");
}
