//! Shared helpers: transforms from TOML (as users write them), records
//! decoded from Avro bytes (as the pipeline sees them) or parsed from JSON,
//! and outputs rendered as natural JSON after an encode/decode round trip
//! through the derived schema.
#![allow(dead_code)]

use kbridge_codec::{AvroSchema, JsonStyle, Value};
use kbridge_pipeline::{PipelineRecord, SourceMeta, Transform};
use kbridge_source::TimestampType;
use serde_json::Value as Json;

/// A schema with every shape a transform meets: nested records, an
/// optional record, unions (null + one, and several branches), a map, an
/// array, an enum, logical types.
pub const SCHEMA: &str = r#"{"type":"record","name":"Reading","namespace":"test","fields":[
  {"name":"id","type":"long"},
  {"name":"user","type":"string"},
  {"name":"email","type":["null","string"],"default":null},
  {"name":"value","type":"double"},
  {"name":"unit","type":{"type":"enum","name":"Unit","symbols":["BPM","MMHG","KG"]}},
  {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"seq","type":"int"},
  {"name":"ok","type":"boolean"},
  {"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
  {"name":"tags","type":{"type":"map","values":"string"}},
  {"name":"device","type":{"type":"record","name":"Device","fields":[
      {"name":"model","type":"string"},
      {"name":"battery","type":["null","int"],"default":null}]}},
  {"name":"home","type":["null",{"type":"record","name":"Place","fields":[
      {"name":"city","type":"string"},{"name":"zip","type":"string"}]}],"default":null},
  {"name":"readings","type":{"type":"array","items":"double"}},
  {"name":"note","type":["null","string","long"],"default":null}
]}"#;

/// One record of [`SCHEMA`], natural JSON.
pub const INPUT: &str = r#"{"id":7,"user":"u-1","email":"a@b.c","value":72.5,"unit":"BPM",
  "ts":"2026-01-01T00:00:00.000Z","seq":3,"ok":true,"amount":"12.34",
  "tags":{"tz":"UTC","app":"5.2"},"device":{"model":"X2","battery":80},
  "home":null,"readings":[1.0,2.5],"note":"hi"}"#;

pub fn schema() -> AvroSchema {
    AvroSchema::parse(SCHEMA).expect("test schema")
}

/// Transforms from a TOML document with `[[transforms]]` tables.
pub fn tables(toml_text: &str) -> Vec<kbridge_config::TransformTable> {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        transforms: Vec<kbridge_config::TransformTable>,
    }
    toml::from_str::<Doc>(toml_text).expect("toml").transforms
}

pub fn build(toml_text: &str) -> Vec<Box<dyn Transform>> {
    kbridge_transforms::build(&tables(toml_text)).unwrap_or_else(|e| panic!("{e}"))
}

pub fn source() -> SourceMeta<'static> {
    SourceMeta {
        topic: "readings",
        partition: 2,
        offset: 41,
        timestamp: Some(1_700_000_000_000),
        timestamp_type: TimestampType::CreateTime,
    }
}

/// `json` as the Avro datum the pipeline would consume.
pub fn avro_bytes(schema: &AvroSchema, json: &str) -> Vec<u8> {
    let v = schema
        .value_from_json(json, JsonStyle::Natural)
        .expect("input fits the schema");
    let mut out = Vec::new();
    schema.encode(&v, &mut out).expect("encode input");
    out
}

/// A record around `value`, with key `k1` and header `h: v`.
pub fn record(value: Value<'_>) -> PipelineRecord<'_> {
    let mut r = PipelineRecord::new(value, source());
    r.key = Value::from("k1");
    r.headers.push(("h".into(), Some(b"v".as_slice().into())));
    r
}

/// Runs the transforms; `Err` is the error's full message.
pub fn run<'a>(
    transforms: &mut [Box<dyn Transform>],
    rec: PipelineRecord<'a>,
) -> Result<Vec<PipelineRecord<'a>>, String> {
    let mut out = Vec::new();
    kbridge_transforms::apply_all(transforms, rec, &mut out).map_err(|(_, e)| e.to_string())?;
    Ok(out)
}

/// A value as natural JSON: under `schema` after an encode/decode round
/// trip (so the value must fit it), or schemaless.
pub fn render(value: &Value<'_>, schema: Option<&AvroSchema>) -> Result<Json, String> {
    let mut out = Vec::new();
    match schema {
        Some(s) => {
            let mut bytes = Vec::new();
            s.encode(value, &mut bytes)
                .map_err(|e| format!("encode under the derived schema: {e}"))?;
            let back = s.decode(&bytes).map_err(|e| format!("decode: {e}"))?;
            s.write_json(&back, JsonStyle::Natural, &mut out)
                .map_err(|e| e.to_string())?;
        }
        None => kbridge_codec::json::write_json(value, None, JsonStyle::Natural, &mut out)
            .map_err(|e| e.to_string())?,
    }
    serde_json::from_slice(&out).map_err(|e| e.to_string())
}

/// Which kind of input record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Avro,
    Json,
}

/// The outcome of one case: output values as JSON (rendered under the
/// derived schema for Avro), or the error message.
pub struct Outcome {
    pub values: Vec<Json>,
    pub records: Vec<(Option<String>, Option<i64>, Json)>,
}

/// Runs `toml_text` on `input` (JSON text) read as `kind`.
pub fn outcome(toml_text: &str, input: &str, kind: Input) -> Result<Outcome, String> {
    let mut transforms = build(toml_text);
    let schema = schema();
    let bytes;
    let text;
    let value = match kind {
        Input::Avro => {
            bytes = avro_bytes(&schema, input);
            schema.decode(&bytes).map_err(|e| e.to_string())?
        }
        Input::Json => {
            text = input.to_string();
            kbridge_codec::json::parse_json(text.as_bytes()).map_err(|e| e.to_string())?
        }
    };
    let out = run(&mut transforms, record(value))?;
    let derived = match kind {
        Input::Avro => Some(
            kbridge_transforms::derive_output_schema(&transforms, &schema)
                .map_err(|e| e.to_string())?,
        ),
        Input::Json => None,
    };
    let mut values = Vec::new();
    let mut records = Vec::new();
    for r in &out {
        let v = render(&r.value, derived.as_ref())?;
        let key = render(&r.key, None)?;
        records.push((r.topic.as_deref().map(str::to_string), r.timestamp, key));
        values.push(v);
    }
    Ok(Outcome { values, records })
}
