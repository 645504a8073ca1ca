//! `kbridge produce` and `kbridge consume` against the real broker and an
//! embedded registry: an Avro round trip with keys and headers that
//! Confluent's Python deserializer reads too, start positions, counts,
//! partitions, group commits, tables, and the errors users see.

mod ops_common;

use kbridge_integration_tests::unique;
use ops_common::{create_topic, kbridge_async, read_records, registry};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const SCHEMA: &str = r#"{
  "type": "record", "name": "Order", "namespace": "acme",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "qty", "type": "int"},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
    {"name": "placed", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
      {"name": "name", "type": "string"}, {"name": "vip", "type": "boolean"}]}},
    {"name": "note", "type": ["null", "string"], "default": null}
  ]
}"#;

fn order(i: usize) -> Value {
    let mut v = json!({
        "id": format!("o-{i}"),
        "qty": i as i64 * 3 - 7,
        "price": format!("{}.{:02}", i * 11, i % 100),
        "placed": format!("2026-01-{:02}T10:00:00.{:03}Z", 1 + i % 28, i),
        "customer": {"name": format!("c{}", i % 4), "vip": i.is_multiple_of(2)},
    });
    if i.is_multiple_of(3) {
        v["note"] = json!(format!("note ✓ {i}"));
    }
    v
}

fn temp_file(name: &str, body: &str) -> String {
    let dir = std::env::temp_dir().join(unique("ops-pc"));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.display().to_string()
}

/// Reads the topic with confluent-kafka's DeserializingConsumer and
/// AvroDeserializer; prints {key: {value, headers}} with decimals as
/// strings and timestamps as epoch milliseconds.
const PYTHON: &str = r#"
import json, sys, time, decimal, datetime
from confluent_kafka import DeserializingConsumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import StringDeserializer
bootstrap, registry, topic, partitions, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
c = DeserializingConsumer({
    'bootstrap.servers': bootstrap, 'group.id': 'py-' + topic, 'enable.auto.commit': False,
    'key.deserializer': StringDeserializer('utf_8'),
    'value.deserializer': AvroDeserializer(SchemaRegistryClient({'url': registry})),
})
c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
def plain(v):
    if isinstance(v, decimal.Decimal): return str(v)
    if isinstance(v, datetime.datetime): return int(v.timestamp() * 1000)
    if isinstance(v, dict): return {k: plain(x) for k, x in v.items()}
    return v
out, deadline = {}, time.time() + 60
while len(out) < expected and time.time() < deadline:
    m = c.poll(0.5)
    if m is None or m.error(): continue
    out[m.key()] = {'value': plain(m.value()), 'headers': [[k, v.decode()] for k, v in (m.headers() or [])]}
c.close()
print(json.dumps(out))
"#;

/// How many records the broker says are at or after `ms` (per partition:
/// count − the offset ListOffsets(time) answers; none for "no such record").
fn records_from_time(topic: &str, partitions: i32, ms: i64, counts: &[i64]) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set(
            "bootstrap.servers",
            kbridge_integration_tests::kafka_bootstrap(),
        )
        .set("group.id", "ops-test-times")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, rdkafka::Offset::Offset(ms))
            .unwrap();
    }
    let found = c.offsets_for_times(tpl, Duration::from_secs(10)).unwrap();
    found
        .elements()
        .iter()
        .map(|e| match e.offset() {
            rdkafka::Offset::Offset(o) if o >= 0 => counts[e.partition() as usize] - o,
            _ => 0,
        })
        .sum()
}

/// Whether the broker's high watermarks equal the record counts.
fn reports_true_ends(topic: &str, counts: &[i64]) -> bool {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = rdkafka::ClientConfig::new()
        .set(
            "bootstrap.servers",
            kbridge_integration_tests::kafka_bootstrap(),
        )
        .create()
        .unwrap();
    counts.iter().enumerate().all(|(p, n)| {
        c.fetch_watermarks(topic, p as i32, Duration::from_secs(10))
            .unwrap()
            .1
            == *n
    })
}

fn epoch_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_round_trip_with_keys_and_headers_that_confluent_python_reads() {
    const N: usize = 40;
    let server = registry().await;
    let url = server.url();
    let topic = unique("ops-avro");
    create_topic(&topic, 2).await;
    let schema = temp_file("order.avsc", SCHEMA);
    let input: String = (0..N).map(|i| format!("{}\n", order(i))).collect();
    let run = kbridge_async(
        &[
            "produce",
            &topic,
            "--schema",
            &schema,
            "--key-field",
            "id",
            "--header",
            "source=cli",
            "--header",
            "batch=7",
        ],
        Some(&url),
        Some(&input),
    )
    .await;
    run.assert_ok();
    assert!(
        run.stderr.contains(&format!(
            "produced {N} record(s) to {topic} (avro, subject {topic}-value, schema id "
        )),
        "{run:#?}"
    );

    // kbridge reads them back: keys, values in natural JSON, headers, schema id
    let run = kbridge_async(&["consume", &topic, "--no-follow"], Some(&url), None).await;
    run.assert_ok();
    let records = run.json_lines();
    assert_eq!(records.len(), N, "{run:#?}");
    let schema_id = records[0]["value_schema_id"].as_u64().unwrap();
    let by_key: BTreeMap<String, &Value> = records
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r))
        .collect();
    for i in 0..N {
        let r = by_key[&format!("o-{i}")];
        let mut expected = order(i);
        if expected.get("note").is_none() {
            expected["note"] = Value::Null; // the schema default
        }
        assert_eq!(r["value"], expected, "record {i}");
        assert_eq!(r["headers"], json!([["source", "cli"], ["batch", "7"]]));
        assert_eq!(r["value_schema_id"].as_u64(), Some(schema_id));
        assert_eq!(r["topic"], topic.as_str());
        assert!(r["timestamp_ms"].as_i64().unwrap() > 0);
    }
    // every partition's offsets are 0..n without gaps
    let mut offsets: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for r in &records {
        offsets
            .entry(r["partition"].as_i64().unwrap())
            .or_default()
            .push(r["offset"].as_i64().unwrap());
    }
    for (p, o) in &offsets {
        assert_eq!(*o, (0..o.len() as i64).collect::<Vec<_>>(), "partition {p}");
    }

    // Confluent's reference deserializer agrees
    let args = [
        "-c".to_string(),
        PYTHON.to_string(),
        kbridge_integration_tests::kafka_bootstrap(),
        url.clone(),
        topic.clone(),
        "2".to_string(),
        N.to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py: BTreeMap<String, Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(py.len(), N);
    for i in 0..N {
        let got = &py[&format!("o-{i}")];
        let o = order(i);
        let v = &got["value"];
        assert_eq!(v["id"], o["id"]);
        assert_eq!(v["qty"], o["qty"]);
        assert_eq!(v["price"], o["price"]);
        assert_eq!(v["placed"], json!(epoch_ms(o["placed"].as_str().unwrap())));
        assert_eq!(v["customer"], o["customer"]);
        assert_eq!(v["note"], o.get("note").cloned().unwrap_or(Value::Null));
        assert_eq!(got["headers"], json!([["source", "cli"], ["batch", "7"]]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_positions_counts_partitions_groups_and_tables() {
    let topic = unique("ops-pos");
    create_topic(&topic, 2).await;
    let lines = |from: usize, n: usize| -> String {
        (from..from + n)
            .map(|i| format!("{{\"n\":{i}}}\n"))
            .collect()
    };
    for (partition, from, n) in [("0", 0, 6), ("1", 100, 4)] {
        kbridge_async(
            &[
                "produce",
                &topic,
                "--format",
                "json",
                "--key",
                "k",
                "--partition",
                partition,
                "--header",
                "p=x",
            ],
            None,
            Some(&lines(from, n)),
        )
        .await
        .assert_ok();
    }
    let consume = |extra: &[&str]| {
        let mut args = vec!["consume", topic.as_str()];
        args.extend_from_slice(extra);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        async move {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = kbridge_async(&a, None, None).await;
            run.assert_ok();
            run.json_lines()
        }
    };
    let ns = |records: &[Value]| -> Vec<i64> {
        let mut v: Vec<i64> = records
            .iter()
            .map(|r| r["value"]["n"].as_i64().unwrap())
            .collect();
        v.sort();
        v
    };

    let all = consume(&["--no-follow"]).await;
    assert_eq!(ns(&all), [0, 1, 2, 3, 4, 5, 100, 101, 102, 103]);
    assert!(
        all.iter()
            .all(|r| r["key"] == "k" && r["headers"] == json!([["p", "x"]]))
    );

    let from_offset = consume(&["--no-follow", "--partition", "0", "--from", "4"]).await;
    assert_eq!(
        from_offset
            .iter()
            .map(|r| r["offset"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [4, 5]
    );
    // -N starts N before the end the broker reports; tansu under-reports
    // its high watermark, so there the tail starts earlier
    let tail = consume(&["--no-follow", "--from", "-2"]).await;
    if reports_true_ends(&topic, &[6, 4]) {
        assert_eq!(ns(&tail), [4, 5, 102, 103]);
    } else {
        let got = ns(&tail);
        for n in [4, 5, 102, 103] {
            assert!(got.contains(&n), "{got:?}");
        }
    }
    // following, but the count ends it
    let counted = consume(&["--partition", "0", "--count", "3"]).await;
    assert_eq!(ns(&counted), [0, 1, 2]);

    let ts = all[0]["timestamp_ms"].as_i64().unwrap();
    // a time after every record: the broker's ListOffsets(time) decides
    // (Kafka: the end, nothing to read; tansu answers offset 0)
    let future_ms = ts + 3_600_000;
    let future = chrono::DateTime::from_timestamp_millis(future_ms)
        .unwrap()
        .to_rfc3339();
    let expected = records_from_time(&topic, 2, future_ms, &[6, 4]);
    assert_eq!(
        consume(&["--no-follow", "--from", &future]).await.len() as i64,
        expected
    );
    let past = format!("@{}", ts - 3_600_000);
    assert_eq!(consume(&["--no-follow", "--from", &past]).await.len(), 10);

    // a group: positions committed, then resumed by a group member
    let group = unique("ops-pos-group");
    let first = consume(&["--group", &group, "--partition", "0", "--count", "3"]).await;
    assert_eq!(ns(&first), [0, 1, 2]);
    let lag = kbridge_async(
        &["lag", "--group", &group, "--topic", &topic, "--json"],
        None,
        None,
    )
    .await;
    lag.assert_ok();
    assert_eq!(lag.json()["partitions"][0]["committed"], 3);
    let rest = consume(&["--group", &group, "--no-follow"]).await;
    assert_eq!(ns(&rest), [3, 4, 5, 100, 101, 102, 103]);
    let lag = kbridge_async(
        &["lag", "--group", &group, "--topic", &topic, "--json"],
        None,
        None,
    )
    .await;
    let lag = lag.json();
    assert_eq!(lag["partitions"][0]["committed"], 6);
    assert_eq!(lag["partitions"][1]["committed"], 4);

    let run = kbridge_async(
        &[
            "consume",
            &topic,
            "--no-follow",
            "--partition",
            "1",
            "-o",
            "table",
        ],
        None,
        None,
    )
    .await;
    run.assert_ok();
    let header = run.stdout.lines().next().unwrap_or_default().to_string();
    for col in [
        "PARTITION",
        "OFFSET",
        "TIMESTAMP",
        "KEY",
        "VALUE",
        "HEADERS",
    ] {
        assert!(header.contains(col), "{}", run.stdout);
    }
    assert!(run.stdout.contains(r#"{"n":103}"#), "{}", run.stdout);
    assert!(run.stdout.contains("p=x"), "{}", run.stdout);

    kbridge_async(
        &["consume", &format!("{topic}-nope"), "--no-follow"],
        None,
        None,
    )
    .await
    .assert_fails_with(&format!("topic '{topic}-nope' does not exist"));
    kbridge_async(&["consume", &topic, "--partition", "9"], None, None)
        .await
        .assert_fails_with(&format!("topic '{topic}' has no partition 9 (it has 2)"));
    kbridge_async(&["consume", &topic, "--from", "yesterday"], None, None)
        .await
        .assert_fails_with("invalid start position: 'yesterday'");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_errors_name_the_line_and_the_field() {
    let server = registry().await;
    let url = server.url();
    let topic = unique("ops-bad");
    create_topic(&topic, 1).await;
    let schema = temp_file("order.avsc", SCHEMA);
    let good = |i| order(i).to_string();
    let mut bad = order(2);
    bad["customer"]["vip"] = json!("yes");
    let input = format!("{}\n{}\n{}\n{}\n", good(0), good(1), bad, good(3));
    let run = kbridge_async(
        &["produce", &topic, "--schema", &schema, "--key-field", "id"],
        Some(&url),
        Some(&input),
    )
    .await;
    run.assert_fails_with("error: line 3: field `customer.vip`: ");
    assert!(
        run.stderr
            .contains("2 record(s) before the failing line were produced"),
        "{run:#?}"
    );
    // the two lines before it are in the topic, nothing after it
    let records = read_records(&topic, 1, 2);
    assert_eq!(records.len(), 2);
    assert_eq!(records[1].key.as_deref(), Some(&b"o-1"[..]));

    let run = kbridge_async(
        &[
            "produce",
            &topic,
            "--key-field",
            "missing.field",
            "--schema",
            &schema,
        ],
        Some(&url),
        Some(&format!("{}\n", good(5))),
    )
    .await;
    run.assert_fails_with("line 1: key field `missing.field` is missing");

    kbridge_async(
        &["produce", &topic, "--subject", &format!("{topic}-nothing")],
        Some(&url),
        Some("{}\n"),
    )
    .await
    .assert_fails_with("pass --schema FILE to register one");

    kbridge_async(
        &["produce", &format!("{topic}-nope"), "--format", "string"],
        None,
        Some("x\n"),
    )
    .await
    .assert_fails_with(&format!("topic '{topic}-nope' does not exist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_and_quiet_progress_when_piped() {
    let topic = unique("ops-rate");
    create_topic(&topic, 1).await;
    let run = kbridge_async(
        &["produce", &topic, "--format", "string", "--rate", "10"],
        None,
        Some("a\nb\nc\nd\ne\nf\n"),
    )
    .await;
    run.assert_ok();
    // six records at 10/s: the last one is due 0.5 s after the first
    assert!(
        run.elapsed >= Duration::from_millis(500),
        "{:?}",
        run.elapsed
    );

    // a large input, stderr piped: no progress bar, only the summary line
    let input: String = (0..3000).map(|i| format!("line {i}\n")).collect();
    let run = kbridge_async(
        &["produce", &topic, "--format", "string"],
        None,
        Some(&input),
    )
    .await;
    run.assert_ok();
    assert!(
        run.stderr
            .starts_with(&format!("produced 3000 record(s) to {topic} (text) in ")),
        "{run:#?}"
    );
    assert!(
        !run.stderr.contains('\r') && !run.stderr.contains("ETA"),
        "{run:#?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    let records = read_records(&topic, 1, 3006);
    assert_eq!(records[6].value.as_deref(), Some(&b"line 0"[..]));
}
