//! The health-telemetry workload shared by the benches: generated records
//! in the Confluent wire format, codecs, transforms from TOML.
#![allow(dead_code)]

use std::sync::Arc;

use kbridge_codec::{AvroSchema, Codec, MemoryResolver, ResolvedSchema, Side, WireFormat};
use kbridge_pipeline::{SourceMeta, Transform};
use kbridge_source::TimestampType;

pub const HEALTH_AVSC: &str = include_str!("health.avsc");
const METRICS: [(&str, &str, f64, f64); 5] = [
    ("HEART_RATE", "bpm", 40.0, 190.0),
    ("SPO2", "percent", 85.0, 100.0),
    ("BODY_TEMPERATURE", "celsius", 35.0, 40.5),
    ("STEPS", "steps", 0.0, 2500.0),
    ("WEIGHT", "kg", 40.0, 150.0),
];
const MODELS: [&str; 5] = [
    "Pulse X2",
    "VitaBand 3",
    "CardioWatch S",
    "OxiClip Pro",
    "GlucoSense 5",
];
const SOURCES: [&str; 4] = ["wearable", "phone", "clinic", "manual"];

/// splitmix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` health records in the Confluent wire format (schema id 1), with the
/// distribution of `shared/bench/gen.py` (2% negative sentinel values).
pub fn records(n: usize) -> Vec<Vec<u8>> {
    let schema = AvroSchema::parse(HEALTH_AVSC).expect("schema");
    let mut r = Rng(42);
    (0..n)
        .map(|i| {
            let u = r.next() % 10_000;
            let (metric, unit, lo, hi) = METRICS[(r.next() % 5) as usize];
            let value = if r.unit() < 0.02 { -1.0 } else { ((lo + (hi - lo) * r.unit()) * 10.0).round() / 10.0 };
            let opt = |r: &mut Rng, p: f64, v: String| if r.unit() < p { v } else { "null".to_string() };
            let (conf, lat, lon, batt) = (r.unit(), 52.0 + r.unit(), 13.0 + r.unit(), 5 + r.next() % 96);
            let json = format!(
                r#"{{"event_id":"{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}","user_id":"user-{u:06}",
                "session_id":"sess-{u:06}-{:05}","metric":"{metric}","value":{value},"unit":"{unit}",
                "ts":{},"seq":{i},"source":"{}","confidence":{},"note":{},"latitude":{},"longitude":{},
                "tags":{{"app_version":"5.2.{}","tz":"UTC"}},
                "device":{{"device_id":"dev-{:08x}","model":"{}","firmware":"2.0.1","battery_pct":{}}}}}"#,
                r.next() as u32,
                r.next() as u16,
                r.next() & 0xfff,
                r.next() & 0xfff,
                r.next() & 0xffff_ffff_ffff,
                i / 5000,
                1_767_225_600_000_i64 + i as i64 * 7,
                SOURCES[(u % 4) as usize],
                opt(&mut r, 0.6, format!("{conf:.2}")),
                opt(&mut r, 0.1, "\"after exercise\"".to_string()),
                opt(&mut r, 0.3, format!("{lat:.5}")),
                opt(&mut r, 0.3, format!("{lon:.5}")),
                u % 3,
                u.wrapping_mul(2_654_435_761) % (1 << 32),
                MODELS[(u % 5) as usize],
                opt(&mut r, 0.8, format!("{batt}")),
            );
            let v = schema.value_from_json(&json, kbridge_codec::JsonStyle::Natural).expect("record");
            let mut out = vec![0, 0, 0, 0, 1];
            schema.encode(&v, &mut out).expect("encode");
            out
        })
        .collect()
}

pub fn codec(output: &AvroSchema) -> Codec {
    let resolver = Arc::new(MemoryResolver::new());
    resolver.insert(1, None, ResolvedSchema::avro(HEALTH_AVSC).expect("schema"));
    Codec::builder(Side::Value)
        .resolver(resolver)
        .read(WireFormat::ConfluentId)
        .write(WireFormat::ConfluentId)
        .output_schema(Arc::clone(output.resolved()))
        .output_subject("health-out-value")
        .build()
        .expect("codec")
}

pub fn transforms(toml_text: &str) -> Vec<Box<dyn Transform>> {
    #[derive(serde::Deserialize)]
    struct Doc {
        transforms: Vec<kbridge_config::TransformTable>,
    }
    let doc: Doc = toml::from_str(toml_text).expect("toml");
    kbridge_transforms::build(&doc.transforms).expect("transforms")
}

pub fn source() -> SourceMeta<'static> {
    SourceMeta {
        topic: "health",
        partition: 0,
        offset: 0,
        timestamp: Some(1_767_225_600_000),
        timestamp_type: TimestampType::CreateTime,
    }
}

/// The five simple transforms of the headline measurement.
pub const FIVE: &str = r#"
[[transforms]]
type = 'filter'
drop = 'value.value < 0.0'
[[transforms]]
type = 'insert_field'
field = 'processed_at'
from = 'processing_time'
[[transforms]]
type = 'rename_fields'
renames = { session_id = 'session' }
[[transforms]]
type = 'drop_fields'
fields = ['note', 'latitude', 'longitude']
[[transforms]]
type = 'set_key'
field = 'user_id'
"#;
