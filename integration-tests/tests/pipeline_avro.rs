//! Avro in, Avro out, through a `Transform` written here (drop readings with
//! a negative value, add a field), exactly-once and at-least-once, on the
//! real broker with the embedded registry. Records are produced by
//! Confluent's Python client with its AvroSerializer; the output is read
//! back with `read_committed` by the same client and decoded by its
//! AvroDeserializer; corrupt and unknown-schema-id inputs must be in the
//! dead-letter topic with the Kafka Connect and kbridge error headers.

mod pipeline_common;

use kbridge_admin::dlq::{self, ErrorContext};
use kbridge_codec::{AvroSchema, Value};
use kbridge_config::{Config, EnvVars, LoadOptions};
use kbridge_integration_tests::{kafka_bootstrap, unique};
use kbridge_metrics::Metrics;
use kbridge_pipeline::{Pipeline, PipelineRecord, Summary, Transform, TransformError};
use kbridge_registry::RegistryClient;
use kbridge_registry_server::{StoreConfig, spawn};
use pipeline_common::{committed, create_topics, end_offsets, python, read_raw, stop_offsets_toml};
use std::collections::BTreeSet;
use std::time::Duration;

/// Drops readings whose `value` is negative; adds `processed_by`.
struct DropNegativeAddField;

impl Transform for DropNegativeAddField {
    fn name(&self) -> &str {
        "drop-negative-add-field"
    }

    fn apply<'a>(
        &mut self,
        mut record: PipelineRecord<'a>,
        out: &mut Vec<PipelineRecord<'a>>,
    ) -> Result<(), TransformError> {
        let v = record
            .value
            .get("value")
            .and_then(Value::as_f64)
            .ok_or_else(|| TransformError::poison("MissingField", "no value").with_path("value"))?;
        if v < 0.0 {
            return Ok(());
        }
        let Some(fields) = record.value.as_record_mut() else {
            return Err(TransformError::poison(
                "NotARecord",
                "value is not a record",
            ));
        };
        fields.insert("processed_by", Value::from("kbridge-test"));
        out.push(record);
        Ok(())
    }

    fn output_schema(&self, input: &AvroSchema) -> Result<AvroSchema, TransformError> {
        let mut schema: serde_json::Value = serde_json::from_str(input.resolved().text())
            .map_err(|e| TransformError::fatal("Schema", e.to_string()))?;
        schema["fields"]
            .as_array_mut()
            .ok_or_else(|| TransformError::fatal("Schema", "no fields"))?
            .push(serde_json::json!({"name": "processed_by", "type": "string", "default": "none"}));
        AvroSchema::parse(&schema.to_string())
            .map_err(|e| TransformError::fatal("Schema", e.to_string()))
    }
}

const COUNT: usize = 300;
const NEGATIVE_EVERY: &str = "10";

async fn avro_round_trip(guarantee: &str) {
    let server = spawn("127.0.0.1:0", &StoreConfig::Memory).await.unwrap();
    let url = server.url();
    let input = unique("pl-avro-in");
    let output = unique("pl-avro-out");
    let dlq_topic = format!("{input}.dlq");
    let group = unique("pl-avro-g");
    create_topics(&[(&input, 3), (&output, 2), (&dlq_topic, 1)]).await;

    let (bootstrap, url2, input2) = (kafka_bootstrap(), url.clone(), input.clone());
    let produced = tokio::task::spawn_blocking(move || {
        python(
            "pipeline_io.py",
            &[
                "produce",
                &bootstrap,
                &url2,
                &input2,
                &COUNT.to_string(),
                "--negative-every",
                NEGATIVE_EVERY,
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
    let total: i64 = ends.values().sum();
    assert_eq!(total, COUNT as i64 + 5, "{produced}");

    let toml = format!(
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
{stop}
[codec.key]
format = "string"
[codec.value]
format = "avro-confluent"
[sink]
topic = "{output}"
delivery_guarantee = "{guarantee}"
transaction_max_records = 50
[dead_letter]
enabled = true
tolerance = "all"
"#,
        bootstrap = kafka_bootstrap(),
        stop = stop_offsets_toml(&input, &ends),
    );
    let dir = tempfile_dir();
    let file = dir.join("pipeline.toml");
    std::fs::write(&file, toml).unwrap();
    let config = Config::load(LoadOptions {
        file: Some(file),
        overrides: Vec::new(),
        env: EnvVars::none(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let metrics = Metrics::new().unwrap();
    let client = RegistryClient::builder([url.as_str()]).build().unwrap();
    let m = metrics.clone();
    let summary: Summary = tokio::task::spawn_blocking(move || {
        std::thread::spawn(move || {
            Pipeline::from_config(&config, vec![Box::new(DropNegativeAddField)])
                .registry(client)
                .metrics(m)
                .instance(unique("avro"))
                .build()
                .and_then(Pipeline::run)
        })
        .join()
        .expect("pipeline thread")
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("pipeline failed: {e}"));

    // what the pipeline says it did
    let negative: BTreeSet<String> = produced["negative"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(negative.len(), COUNT / 10);
    assert_eq!(summary.records_in, COUNT as u64 + 5, "{summary:?}");
    assert_eq!(
        summary.records_out,
        (COUNT - negative.len()) as u64,
        "{summary:?}"
    );
    assert_eq!(summary.filtered, negative.len() as u64, "{summary:?}");
    assert_eq!(summary.dead_lettered.get("decode"), Some(&5), "{summary:?}");
    assert_eq!(summary.dead_lettered_total(), 5);
    assert_eq!(summary.ended_by, "finished");
    if guarantee == "exactly_once" {
        assert!(summary.transactions >= 6, "{summary:?}");
        assert_eq!(summary.aborts, 0, "{summary:?}");
    } else {
        assert!(summary.commits >= 1, "{summary:?}");
    }

    // the output, as Confluent's client sees it (read_committed)
    let want = COUNT - negative.len();
    let (bootstrap, url2, output2) = (kafka_bootstrap(), url.clone(), output.clone());
    let read = tokio::task::spawn_blocking(move || {
        python(
            "pipeline_io.py",
            &[
                "consume",
                &bootstrap,
                &url2,
                &output2,
                &want.to_string(),
                "--isolation",
                "read_committed",
            ],
        )
    })
    .await
    .unwrap();
    let records = read["records"].as_array().unwrap();
    assert_eq!(records.len(), want, "every kept record exactly once");
    let keys: BTreeSet<String> = records
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), want, "no duplicate");
    let expected: BTreeSet<String> = (0..COUNT)
        .map(|i| format!("k{i}"))
        .filter(|k| !negative.contains(k))
        .collect();
    assert_eq!(keys, expected);
    for r in records {
        let v = &r["value"];
        let id = v["id"].as_i64().unwrap();
        assert_eq!(r["key"], format!("k{id}"));
        assert_eq!(v["processed_by"], "kbridge-test", "{r}");
        assert_eq!(v["sensor"], format!("s{}", id % 7));
        assert_eq!(v["value"].as_f64().unwrap(), id as f64 * 1.5);
        assert_eq!(
            v["unit"],
            if id % 2 == 1 {
                serde_json::json!("bpm")
            } else {
                serde_json::Value::Null
            }
        );
    }

    // the dead-letter topic: original bytes and headers plus the context
    let dead =
        tokio::task::spawn_blocking(move || read_raw(&dlq_topic, 5, Duration::from_secs(30)))
            .await
            .unwrap();
    assert_eq!(dead.len(), 5, "{dead:?}");
    for d in &dead {
        let ctx =
            ErrorContext::from_headers(d.headers.iter().map(|(n, v)| (n.as_str(), v.as_deref())));
        assert_eq!(ctx.topic.as_deref(), Some(input.as_str()));
        assert_eq!(ctx.stage.as_deref(), Some(dlq::stage::VALUE_CONVERTER));
        assert_eq!(
            ctx.class_name.as_deref(),
            Some("kbridge.codec.avro-confluent")
        );
        assert_eq!(ctx.attempt, Some(1));
        assert_eq!(
            d.header("origin").as_deref(),
            Some("test"),
            "original header kept"
        );
        assert_eq!(d.headers[0].0, "origin", "original headers first");
        let partition = ctx.partition.unwrap();
        let offset = ctx.offset.unwrap();
        assert!(offset >= 0 && offset < ends[&partition], "{ctx:?}");
        let key = d.key_text();
        if key.starts_with("corrupt") {
            assert_eq!(d.value.as_deref(), Some(&b"\x07not avro at all"[..]));
            assert_eq!(ctx.exception_class.as_deref(), Some("UnknownMagicByte"));
            assert_eq!(
                ctx.message.as_deref(),
                Some("decode frame: unknown magic byte 0x07")
            );
            assert_eq!(ctx.schema_id, None);
        } else {
            assert!(key.starts_with("unknown"), "{key}");
            assert_eq!(
                d.value.as_deref(),
                Some(&b"\x00\x00\x0f\x12\x06\x02\x04ab"[..])
            );
            assert_eq!(ctx.exception_class.as_deref(), Some("UnknownSchema"));
            assert_eq!(ctx.schema_id, Some(987_654));
            assert!(
                ctx.message
                    .as_deref()
                    .unwrap_or_default()
                    .contains("987654"),
                "{ctx:?}"
            );
        }
    }
    let dead_keys: BTreeSet<String> = dead.iter().map(|d| d.key_text()).collect();
    let want_dead: BTreeSet<String> = ["corrupt0", "corrupt1", "unknown0", "unknown1", "unknown2"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(dead_keys, want_dead);

    // offsets: everything read is committed, up to the stop offsets
    let group2 = group.clone();
    let input2 = input.clone();
    let offsets = tokio::task::spawn_blocking(move || committed(&group2, &input2, 3))
        .await
        .unwrap();
    assert_eq!(offsets, ends);

    // a few metrics the run must have moved
    let text = metrics.render_prometheus().unwrap();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .map(str::to_owned)
    };
    assert!(
        line(&format!(
            "kbridge_records_in_total{{topic=\"{input}\"}} {}",
            COUNT + 5
        ))
        .is_some(),
        "{text}"
    );
    assert!(
        line("kbridge_registry_cache_misses_total").is_some(),
        "{text}"
    );
    server.shutdown().await.unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("kbridge-pl"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_avro_through_a_rust_transform() {
    avro_round_trip("exactly_once").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_avro_through_a_rust_transform() {
    avro_round_trip("at_least_once").await;
}
