//! The benchmark workload, shared by `benches/codec.rs` and the parity
//! tests: deterministic health-telemetry records with the distribution of
//! `shared/bench/gen.py` (encoded by apache-avro, an independent encoder,
//! Confluent-framed with schema id 1), the serde structs of
//! `shared/bench/rawcopy/src/bin/codec.rs`, and its transform.
#![allow(dead_code)]

use std::collections::HashMap;

use apache_avro::types::Value as AValue;
use serde::{Deserialize, Serialize};

pub const HEALTH_AVSC: &str = include_str!("../data/health.avsc");
pub const HEALTH_OUT_AVSC: &str = include_str!("../data/health_out.avsc");
pub const HEADER_IN: [u8; 5] = [0, 0, 0, 0, 1];
pub const HEADER_OUT: [u8; 5] = [0, 0, 0, 0, 2];

const METRICS: [(&str, &str, f64, f64, i32); 10] = [
    ("HEART_RATE", "bpm", 40.0, 190.0, 0),
    ("BLOOD_PRESSURE_SYSTOLIC", "mmHg", 85.0, 190.0, 0),
    ("BLOOD_PRESSURE_DIASTOLIC", "mmHg", 50.0, 120.0, 0),
    ("SPO2", "percent", 85.0, 100.0, 1),
    ("BODY_TEMPERATURE", "celsius", 35.0, 40.5, 2),
    ("STEPS", "steps", 0.0, 2500.0, 0),
    ("SLEEP_MINUTES", "min", 0.0, 720.0, 0),
    ("BLOOD_GLUCOSE", "mg/dL", 60.0, 250.0, 1),
    ("RESPIRATORY_RATE", "breaths/min", 8.0, 30.0, 0),
    ("WEIGHT", "kg", 40.0, 150.0, 1),
];
const SOURCES: [&str; 4] = ["wearable", "phone", "clinic", "manual"];
const MODELS: [&str; 5] = [
    "Pulse X2",
    "VitaBand 3",
    "CardioWatch S",
    "OxiClip Pro",
    "GlucoSense 5",
];
const FIRMWARE: [&str; 4] = ["1.4.2", "1.5.0", "2.0.1", "2.1.0-rc3"];
const NOTES: [&str; 6] = [
    "after exercise",
    "resting",
    "felt dizzy",
    "post-meal",
    "manual re-check",
    "cuff loose",
];
const TZS: [&str; 4] = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"];
const APP_VERSIONS: [&str; 3] = ["5.2.0", "5.2.1", "5.3.0"];
const BASE_TS: i64 = 1_767_225_600_000;

/// splitmix64: a small deterministic generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

fn round(x: f64, d: i32) -> f64 {
    let m = 10f64.powi(d);
    (x * m).round() / m
}

fn opt(v: Option<AValue>) -> AValue {
    match v {
        Some(v) => AValue::Union(1, Box::new(v)),
        None => AValue::Union(0, Box::new(AValue::Null)),
    }
}

/// `n` health records as apache-avro values (same distribution as gen.py).
pub fn generate_values(n: usize, seed: u64) -> Vec<AValue> {
    let mut r = Rng(seed);
    (0..n)
        .map(|i| {
            let u = r.below(10_000);
            let (symbol, unit, lo, hi, dec) = METRICS[r.below(10) as usize];
            let metric_idx = METRICS.iter().position(|m| m.0 == symbol).unwrap_or(0) as u32;
            let value = if r.unit() < 0.02 { -1.0 } else { round(r.uniform(lo, hi), dec) };
            let mut tags = HashMap::new();
            tags.insert("app_version".to_string(), AValue::String(APP_VERSIONS[(u % 3) as usize].into()));
            tags.insert("tz".to_string(), AValue::String(TZS[(u % 4) as usize].into()));
            if r.unit() < 0.3 {
                tags.insert("cohort".to_string(), AValue::String(format!("trial-{}", ["A", "B", "C"][(u % 3) as usize])));
            }
            let event_id = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                r.next() as u32,
                r.next() as u16,
                r.next() & 0xfff,
                0x8000 | (r.next() & 0x3fff),
                r.next() & 0xffff_ffff_ffff
            );
            let device = AValue::Record(vec![
                ("device_id".into(), AValue::String(format!("dev-{:08x}", (u.wrapping_mul(2_654_435_761)) % (1u64 << 32)))),
                ("model".into(), AValue::String(MODELS[(u % 5) as usize].into())),
                ("firmware".into(), AValue::String(FIRMWARE[((u / 7) % 4) as usize].into())),
                ("battery_pct".into(), opt((r.unit() < 0.8).then(|| AValue::Int(5 + r.below(96) as i32)))),
            ]);
            AValue::Record(vec![
                ("event_id".into(), AValue::String(event_id)),
                ("user_id".into(), AValue::String(format!("user-{u:06}"))),
                ("session_id".into(), AValue::String(format!("sess-{u:06}-{:05}", i / 5000))),
                ("metric".into(), AValue::Enum(metric_idx, symbol.into())),
                ("value".into(), AValue::Double(value)),
                ("unit".into(), AValue::String(unit.into())),
                ("ts".into(), AValue::TimestampMillis(BASE_TS + i as i64 * 7 + r.below(5) as i64)),
                ("seq".into(), AValue::Long(i as i64)),
                ("source".into(), AValue::String(SOURCES[r.below(4) as usize].into())),
                ("confidence".into(), opt((r.unit() < 0.7).then(|| AValue::Float(round(r.uniform(0.5, 1.0), 3) as f32)))),
                ("note".into(), opt((r.unit() < 0.1).then(|| AValue::String(NOTES[r.below(6) as usize].into())))),
                ("latitude".into(), opt((r.unit() < 0.3).then(|| AValue::Double(round(r.uniform(-60.0, 70.0), 5))))),
                ("longitude".into(), opt((r.unit() < 0.3).then(|| AValue::Double(round(r.uniform(-180.0, 180.0), 5))))),
                ("tags".into(), AValue::Map(tags)),
                ("device".into(), device),
            ])
        })
        .collect()
}

/// `n` Confluent-framed records (magic 0, id 1), encoded by apache-avro.
pub fn generate_frames(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let schema = apache_avro::Schema::parse_str(HEALTH_AVSC).expect("health.avsc parses");
    let writer = apache_avro::writer::datum::GenericDatumWriter::builder(&schema)
        .build()
        .expect("writer");
    generate_values(n, seed)
        .into_iter()
        .map(|v| {
            let mut out = HEADER_IN.to_vec();
            writer
                .write_value_ref(&mut out, &v)
                .expect("generated record fits its schema");
            out
        })
        .collect()
}

/// Frames from `gen.py --dump` ([u32 key len][key][u32 value len][value]...), values only.
pub fn read_frames_file(path: &str) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).expect("read frames file");
    let mut out = Vec::new();
    let mut i = 0;
    let next = |i: &mut usize| -> Option<Vec<u8>> {
        let len = u32::from_be_bytes(data.get(*i..*i + 4)?.try_into().ok()?) as usize;
        let v = data.get(*i + 4..*i + 4 + len)?.to_vec();
        *i += 4 + len;
        Some(v)
    };
    while let (Some(_k), Some(v)) = (next(&mut i), next(&mut i)) {
        out.push(v);
    }
    out
}

// ------------------------------------------------------------------ serde

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MetricType {
    HeartRate,
    BloodPressureSystolic,
    BloodPressureDiastolic,
    Spo2,
    BodyTemperature,
    Steps,
    SleepMinutes,
    BloodGlucose,
    RespiratoryRate,
    Weight,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct DeviceInfo<S> {
    pub device_id: S,
    pub model: S,
    pub firmware: S,
    pub battery_pct: Option<i32>,
}

macro_rules! health_struct {
    ($name:ident $(, $extra:ident : $ty:ty)?) => {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        pub struct $name<S: std::hash::Hash + Eq> {
            pub event_id: S,
            pub user_id: S,
            pub session_id: S,
            pub metric: MetricType,
            pub value: f64,
            pub unit: S,
            pub ts: i64,
            pub seq: i64,
            pub source: S,
            pub confidence: Option<f32>,
            pub note: Option<S>,
            pub latitude: Option<f64>,
            pub longitude: Option<f64>,
            pub tags: HashMap<S, S>,
            pub device: DeviceInfo<S>,
            $(pub $extra: $ty,)?
        }
    };
}
health_struct!(HealthEvent);
health_struct!(HealthEventOut, processed_at: i64);

impl<S: std::hash::Hash + Eq> HealthEvent<S> {
    pub fn into_out(self, unit: S, processed_at: i64) -> HealthEventOut<S> {
        HealthEventOut {
            event_id: self.event_id,
            user_id: self.user_id,
            session_id: self.session_id,
            metric: self.metric,
            value: self.value,
            unit,
            ts: self.ts,
            seq: self.seq,
            source: self.source,
            confidence: self.confidence,
            note: self.note,
            latitude: self.latitude,
            longitude: self.longitude,
            tags: self.tags,
            device: self.device,
            processed_at,
        }
    }
}

// -------------------------------------------------------------- transforms

/// rawcopy's transform on an apache-avro generic record; false = drop.
pub fn transform_apache(v: &mut AValue, processed_at: i64) -> bool {
    let AValue::Record(fields) = v else {
        panic!("not a record")
    };
    for (name, fv) in fields.iter_mut() {
        match (name.as_str(), fv) {
            ("value", AValue::Double(x)) if *x < 0.0 => return false,
            ("unit", AValue::String(s)) => *s = s.to_uppercase(),
            _ => {}
        }
    }
    fields.push((
        "processed_at".to_string(),
        AValue::TimestampMillis(processed_at),
    ));
    true
}

/// The same transform on a kbridge value; false = drop.
pub fn transform_kbridge(v: &mut kbridge_codec::Value<'_>, processed_at: i64) -> bool {
    use kbridge_codec::Value;
    let Some(rec) = v.as_record_mut() else {
        return false;
    };
    if rec
        .get("value")
        .and_then(Value::as_f64)
        .is_some_and(|x| x < 0.0)
    {
        return false;
    }
    if let Some(Value::String(s)) = rec.get_mut("unit") {
        *s = std::borrow::Cow::Owned(s.to_uppercase());
    }
    rec.fields
        .push("processed_at", Value::TimestampMillis(processed_at));
    true
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
