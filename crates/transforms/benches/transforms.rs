//! The transform stage's cost on the health-telemetry workload
//! (`shared/bench/schema/health.avsc`, ~190-byte records), in process:
//!
//! - `stage/decode_encode` — Confluent-framed decode → encode, no transforms
//!   (the baseline);
//! - `stage/decode_5_transforms_encode` — the same with five simple
//!   transforms (a CEL filter, an inserted processing time, a rename, a
//!   drop, the key from a field), encoded under the derived schema;
//! - `one/<transform>` — decode → one transform → encode, to price each
//!   transform (subtract the baseline);
//! - `cel/*` — a CEL condition alone on decoded records, against the same
//!   test written in Rust.
//!
//! Throughput is records per iteration over the whole record set.
//! `cargo bench -p kbridge-transforms -- stage` runs the headline pair.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kbridge_codec::{AvroSchema, NoHeaders, Value};
use kbridge_pipeline::PipelineRecord;

mod workload;
use workload::*;

const ONE: &[(&str, &str)] = &[
    ("noop", "type = 'drop_headers'\nheaders = 'x'"),
    ("filter_cel", "type = 'filter'\ndrop = 'value.value < 0.0'"),
    (
        "filter_cel_nested",
        "type = 'filter'\nkeep = \"value.device.model.startsWith('Pulse') || value.tags['tz'] == 'UTC'\"",
    ),
    (
        "insert_static",
        "type = 'insert_field'\nfield = 'env'\nvalue = 'prod'",
    ),
    (
        "insert_processing_time",
        "type = 'insert_field'\nfield = 'processed_at'\nfrom = 'processing_time'",
    ),
    (
        "insert_expression",
        "type = 'insert_field'\nfield = 'double'\nexpression = 'value.value * 2.0'\nschema = 'double'",
    ),
    (
        "rename",
        "type = 'rename_fields'\nrenames = { session_id = 'session', 'device.model' = 'model_name' }",
    ),
    (
        "drop",
        "type = 'drop_fields'\nfields = ['note', 'latitude', 'longitude']",
    ),
    (
        "keep",
        "type = 'keep_fields'\nfields = ['event_id', 'user_id', 'value', 'ts', 'device.model']",
    ),
    (
        "mask_fixed",
        "type = 'mask_fields'\nfields = ['user_id', 'device.device_id']",
    ),
    (
        "mask_hash",
        "type = 'mask_fields'\nfields = ['user_id']\nmode = 'hash'\nsalt = 's'",
    ),
    (
        "cast",
        "type = 'cast'\nfields = { seq = 'string', value = 'float' }",
    ),
    ("flatten", "type = 'flatten'"),
    ("set_key", "type = 'set_key'\nfield = 'user_id'"),
    (
        "set_headers",
        "type = 'set_headers'\nheaders = { source = 'kbridge', model = '{device.model}' }",
    ),
    (
        "route_template",
        "type = 'route'\ntopic = 'health-{source}'",
    ),
    ("set_timestamp", "type = 'set_timestamp'\nfield = 'ts'"),
    (
        "when_guard",
        "type = 'drop_fields'\nfields = 'note'\nwhen = \"value.source == 'clinic'\"",
    ),
];

fn benches(c: &mut Criterion) {
    let recs = records(20_000);
    let n = recs.len() as u64;
    let input = AvroSchema::parse(HEALTH_AVSC).expect("schema");
    let baseline = codec(&input);
    let mut buf = Vec::with_capacity(512);
    let mut out: Vec<PipelineRecord<'_>> = Vec::with_capacity(4);

    let mut g = c.benchmark_group("stage");
    g.throughput(Throughput::Elements(n));
    g.bench_function("decode_encode", |b| {
        b.iter(|| {
            for r in &recs {
                let d = baseline.decode(Some(r), &NoHeaders).expect("decode");
                baseline.encode(&d.value, &mut buf).expect("encode");
                black_box(&buf);
            }
        })
    });
    let mut five = transforms(FIVE);
    let derived = kbridge_transforms::derive_output_schema(&five, &input).expect("derive");
    let five_codec = codec(&derived);
    g.bench_function("decode_5_transforms_encode", |b| {
        b.iter(|| {
            for r in &recs {
                let d = five_codec.decode(Some(r), &NoHeaders).expect("decode");
                let rec = PipelineRecord::new(d.value, source());
                kbridge_transforms::apply_all(&mut five, rec, &mut out).expect("transforms");
                for o in out.drain(..) {
                    five_codec.encode(&o.value, &mut buf).expect("encode");
                    black_box((&buf, &o.key));
                }
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("one");
    g.throughput(Throughput::Elements(n));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(3));
    for (name, table) in ONE {
        let mut t = transforms(&format!("[[transforms]]\n{table}"));
        let derived = kbridge_transforms::derive_output_schema(&t, &input).expect("derive");
        let codec = codec(&derived);
        g.bench_function(*name, |b| {
            b.iter(|| {
                for r in &recs {
                    let d = codec.decode(Some(r), &NoHeaders).expect("decode");
                    let rec = PipelineRecord::new(d.value, source());
                    kbridge_transforms::apply_all(&mut t, rec, &mut out).expect("transform");
                    for o in out.drain(..) {
                        codec.encode(&o.value, &mut buf).expect("encode");
                        black_box(&buf);
                    }
                }
            })
        });
    }
    g.finish();

    // a condition alone, on records decoded once (a clone per record for
    // both sides, so the difference is the evaluation)
    let decoded: Vec<Value<'_>> = recs
        .iter()
        .map(|r| baseline.decode(Some(r), &NoHeaders).expect("decode").value)
        .collect();
    let mut g = c.benchmark_group("cel");
    g.throughput(Throughput::Elements(n));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("rust_condition", |b| {
        b.iter(|| {
            let mut kept = 0u32;
            for v in &decoded {
                let rec = PipelineRecord::new(v.clone(), source());
                if rec
                    .value
                    .get("value")
                    .and_then(Value::as_f64)
                    .is_some_and(|x| x >= 0.0)
                {
                    kept += 1;
                }
                black_box(&rec);
            }
            black_box(kept)
        })
    });
    let mut filter = transforms("[[transforms]]\ntype = 'filter'\ndrop = 'value.value < 0.0'");
    g.bench_function("cel_condition", |b| {
        b.iter(|| {
            for v in &decoded {
                let rec = PipelineRecord::new(v.clone(), source());
                kbridge_transforms::apply_all(&mut filter, rec, &mut out).expect("filter");
                out.clear();
            }
        })
    });
    // one the fast path does not take (`size`): the CEL interpreter
    let mut interpreted = transforms(
        "[[transforms]]\ntype = 'filter'\nkeep = 'size(value.tags) > 0 && value.value >= 0.0'",
    );
    g.bench_function("cel_interpreter_condition", |b| {
        b.iter(|| {
            for v in &decoded {
                let rec = PipelineRecord::new(v.clone(), source());
                kbridge_transforms::apply_all(&mut interpreted, rec, &mut out).expect("filter");
                out.clear();
            }
        })
    });
    g.finish();
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
