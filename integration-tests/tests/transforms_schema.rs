//! Output schemas derived by the built-in transforms, checked the way a
//! consumer would: outputs encoded under the derived schema, registered in
//! the embedded registry, framed in the Confluent wire format, and decoded
//! by Confluent's Python `AvroDeserializer` (which fetches the schema by
//! id). Covers added (inferred, declared, guarded), renamed, dropped, cast,
//! masked, flattened and kept fields on records with unions, nested and
//! optional records, maps, arrays, enums and logical types.

use std::process::Command;

use kbridge_codec::{AvroSchema, JsonStyle};
use kbridge_integration_tests::unique;
use kbridge_pipeline::{PipelineRecord, SourceMeta};
use kbridge_registry::{RegistryClient, SchemaDefinition, SchemaType};
use kbridge_registry_server::{StoreConfig, spawn};
use kbridge_source::TimestampType;
use serde_json::{Value, json};

const INPUT_SCHEMA: &str = r#"{"type":"record","name":"Reading","namespace":"test","fields":[
  {"name":"id","type":"long"},
  {"name":"user","type":"string"},
  {"name":"email","type":["null","string"],"default":null},
  {"name":"value","type":"double"},
  {"name":"unit","type":{"type":"enum","name":"Unit","symbols":["BPM","MMHG","KG"]}},
  {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"seq","type":"int"},
  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
  {"name":"tags","type":{"type":"map","values":"string"}},
  {"name":"device","type":{"type":"record","name":"Device","fields":[
      {"name":"model","type":"string"},
      {"name":"battery","type":["null","int"],"default":null}]}},
  {"name":"home","type":["null",{"type":"record","name":"Place","fields":[
      {"name":"city","type":"string"},{"name":"zip","type":"string"}]}],"default":null},
  {"name":"readings","type":{"type":"array","items":"double"}}
]}"#;

const INPUTS: &[&str] = &[
    r#"{"id":1,"user":"u-1","email":"a@b.c","value":72.5,"unit":"BPM","ts":"2026-01-01T00:00:00.000Z",
        "seq":3,"amount":"12.34","tags":{"tz":"UTC"},"device":{"model":"X2","battery":80},
        "home":null,"readings":[1.0,2.5]}"#,
    r#"{"id":2,"user":"u-2","email":null,"value":120.0,"unit":"MMHG","ts":"2026-01-02T00:00:00.500Z",
        "seq":4,"amount":"-0.50","tags":{},"device":{"model":"VitaBand","battery":null},
        "home":{"city":"Berlin","zip":"10115"},"readings":[]}"#,
];

/// Decodes Confluent-framed values (hex, one per line) with Confluent's
/// AvroDeserializer; prints each as JSON (timestamps as epoch ms,
/// decimals as strings).
const PYTHON: &str = r#"
import json, sys, decimal, datetime
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import SerializationContext, MessageField
registry, path = sys.argv[1], sys.argv[2]
des = AvroDeserializer(SchemaRegistryClient({'url': registry}))
def conv(o):
    if isinstance(o, datetime.datetime):
        return round(o.timestamp() * 1000)
    if isinstance(o, decimal.Decimal):
        return str(o)
    if isinstance(o, bytes):
        return o.hex()
    raise TypeError(type(o))
for line in open(path):
    topic, hexed = line.split()
    value = des(bytes.fromhex(hexed), SerializationContext(topic, MessageField.VALUE))
    print(json.dumps(value, default=conv, sort_keys=True))
"#;

struct Scenario {
    name: &'static str,
    transforms: Value,
    /// What Confluent's deserializer reads, per input.
    expected: Vec<Value>,
}

fn scenarios() -> Vec<Scenario> {
    let hash = |s: &str| {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(format!("salt{s}").as_bytes()))
    };
    vec![
        Scenario {
            name: "insert, rename, drop, cast, mask, guarded insert",
            transforms: json!([
                {"type": "insert_field", "field": "since", "value": "2026-01-01T00:00:00Z",
                 "schema": {"type": "long", "logicalType": "timestamp-millis"}},
                {"type": "insert_field", "field": "partition", "from": "partition"},
                {"type": "insert_field", "field": "device.region", "value": "eu"},
                {"type": "insert_field", "field": "mail_domain", "schema": ["null", "string"],
                 "expression": "value.email == null ? null : value.email.split('@')[1]"},
                {"type": "insert_field", "field": "flag", "value": true, "when": "value.seq > 3"},
                {"type": "rename_fields", "renames": {"user": "user_id", "device.model": "model_name", "home.zip": "postcode"}},
                {"type": "drop_fields", "fields": ["readings", "tags.tz", "device.battery"]},
                {"type": "cast", "fields": {"seq": "string", "ts": "string", "amount": "double", "id": "int"}},
                {"type": "mask_fields", "fields": ["user_id"], "mode": "hash", "salt": "salt"},
                {"type": "mask_fields", "fields": ["email"]},
                {"type": "set_timestamp", "field": "since"}
            ]),
            expected: vec![
                json!({"id": 1, "user_id": hash("u-1"), "email": "****", "value": 72.5, "unit": "BPM",
                       "ts": "2026-01-01T00:00:00.000Z", "seq": "3", "amount": 12.34, "tags": {},
                       "device": {"model_name": "X2", "region": "eu"}, "home": null,
                       "since": 1_767_225_600_000_i64, "partition": 3, "mail_domain": "b.c", "flag": null}),
                json!({"id": 2, "user_id": hash("u-2"), "email": null, "value": 120.0, "unit": "MMHG",
                       "ts": "2026-01-02T00:00:00.500Z", "seq": "4", "amount": -0.5, "tags": {},
                       "device": {"model_name": "VitaBand", "region": "eu"},
                       "home": {"city": "Berlin", "postcode": "10115"},
                       "since": 1_767_225_600_000_i64, "partition": 3, "mail_domain": null, "flag": true}),
            ],
        },
        Scenario {
            name: "flatten and keep",
            transforms: json!([
                {"type": "keep_fields", "fields": ["id", "unit", "ts", "amount", "device", "home.city"]},
                {"type": "flatten", "separator": "__"}
            ]),
            expected: vec![
                json!({"id": 1, "unit": "BPM", "ts": 1_767_225_600_000_i64, "amount": "12.34",
                       "device__model": "X2", "device__battery": 80, "home__city": null}),
                json!({"id": 2, "unit": "MMHG", "ts": 1_767_312_000_500_i64, "amount": "-0.50",
                       "device__model": "VitaBand", "device__battery": null, "home__city": "Berlin"}),
            ],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_under_derived_schemas_decode_with_confluents_deserializer() {
    let server = spawn("127.0.0.1:0", &StoreConfig::Memory).await.unwrap();
    let url = server.url();
    let client = RegistryClient::builder([url.as_str()]).build().unwrap();
    let input = AvroSchema::parse(INPUT_SCHEMA).unwrap();

    let dir = std::env::temp_dir().join(unique("transforms-schema"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut lines = String::new();
    let mut expected = Vec::new();
    for s in scenarios() {
        let tables: Vec<kbridge_config::TransformTable> =
            serde_json::from_value(s.transforms.clone()).unwrap();
        let mut transforms = kbridge_transforms::build(&tables).unwrap();
        let derived = kbridge_transforms::derive_output_schema(&transforms, &input)
            .unwrap_or_else(|e| panic!("{}: {e}", s.name));
        let topic = unique("derived");
        let id = client
            .register(
                &format!("{topic}-value"),
                &SchemaDefinition::new(SchemaType::Avro, derived.resolved().text()),
                false,
            )
            .await
            .unwrap_or_else(|e| panic!("{}: the registry refuses the derived schema: {e}", s.name));
        for (text, want) in INPUTS.iter().zip(s.expected) {
            let mut bytes = Vec::new();
            input
                .encode(
                    &input.value_from_json(text, JsonStyle::Natural).unwrap(),
                    &mut bytes,
                )
                .unwrap();
            let value = input.decode(&bytes).unwrap();
            let record = PipelineRecord::new(
                value,
                SourceMeta {
                    topic: "readings",
                    partition: 3,
                    offset: 0,
                    timestamp: Some(1),
                    timestamp_type: TimestampType::CreateTime,
                },
            );
            let mut out = Vec::new();
            kbridge_transforms::apply_all(&mut transforms, record, &mut out)
                .unwrap_or_else(|(i, e)| panic!("{}: transform {i}: {e}", s.name));
            assert_eq!(out.len(), 1);
            let mut framed = vec![0];
            framed.extend_from_slice(&id.to_be_bytes());
            derived
                .encode(&out[0].value, &mut framed)
                .unwrap_or_else(|e| panic!("{}: encode under the derived schema: {e}", s.name));
            lines.push_str(&format!("{topic} {}\n", hex::encode(&framed)));
            expected.push((s.name, want));
        }
    }
    let path = dir.join("values.txt");
    std::fs::write(&path, lines).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("-c")
            .arg(PYTHON)
            .arg(url)
            .arg(path)
            .output()
            .expect("run python3 (needs confluent-kafka[avro,schemaregistry])")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decoded: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decoded.len(), expected.len());
    for (got, (name, want)) in decoded.iter().zip(&expected) {
        assert_eq!(got, want, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown().await.unwrap();
}
