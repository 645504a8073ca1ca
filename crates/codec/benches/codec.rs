//! kbridge's codec beside its baselines, in one criterion run, on the
//! health-telemetry workload (see `tests/common/health.rs`):
//!
//! - `kbridge` — the generic [`Value`] path through [`Codec`] (Confluent
//!   framing, schema from the resolver, compiled plan);
//! - `kbridge_typed` — [`Codec::decode_typed`] / [`Codec::encode_typed`]
//!   with the owned-`String` structs;
//! - `apache_avro` — apache-avro 0.22 `GenericDatumReader/Writer` built once,
//!   generic `Value` (rawcopy's `apache-avro` lib);
//! - `saf_owned` / `saf_borrowed` — serde_avro_fast 2.1 typed structs.
//!
//! Groups: `decode`, `decode_encode` (same schema), `decode_transform_encode`
//! (drop value < 0, upper-case unit, add processed_at, encode with
//! health_out.avsc — rawcopy's `transform`), `json` (decode + render JSON).
//! Throughput is records per iteration over the whole record set.
//!
//! `KBRIDGE_BENCH_CPU_TIME=1` measures on-CPU time instead of wall time
//! (robust when other processes share the cores).
//!
//! `KBRIDGE_BENCH_FRAMES=/path/health.bin` benches the records of
//! `gen.py --dump` instead of the generated ones (same records as
//! `codec_bench.py`, the fastavro baseline).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kbridge_codec::{
    Codec, JsonStyle, MemoryResolver, NoHeaders, ResolvedSchema, Side, WireFormat,
};

#[path = "../tests/common/health.rs"]
mod health;
use health::*;

fn records() -> Vec<Vec<u8>> {
    match std::env::var("KBRIDGE_BENCH_FRAMES") {
        Ok(p) => read_frames_file(&p),
        Err(_) => generate_frames(20_000, 42),
    }
}

fn kbridge_codec() -> Codec {
    let resolver = Arc::new(MemoryResolver::new());
    resolver.insert(1, None, ResolvedSchema::avro(HEALTH_AVSC).expect("schema"));
    Codec::builder(Side::Value)
        .resolver(resolver)
        .read(WireFormat::ConfluentId)
        .write(WireFormat::ConfluentId)
        .output_schema(Arc::new(
            ResolvedSchema::avro(HEALTH_OUT_AVSC).expect("schema"),
        ))
        .output_subject("health-out-value")
        .build()
        .expect("codec")
}

fn kbridge_roundtrip_codec() -> Codec {
    let resolver = Arc::new(MemoryResolver::new());
    resolver.insert(1, None, ResolvedSchema::avro(HEALTH_AVSC).expect("schema"));
    Codec::builder(Side::Value)
        .resolver(resolver)
        .output_schema(Arc::new(ResolvedSchema::avro(HEALTH_AVSC).expect("schema")))
        .output_subject("health-value")
        .build()
        .expect("codec")
}

/// Times `f` per iteration: wall clock by default; with
/// `KBRIDGE_BENCH_CPU_TIME=1`, this thread's on-CPU time from
/// `/proc/thread-self/schedstat` (nanoseconds), which other processes
/// competing for the cores do not inflate.
fn timed(b: &mut criterion::Bencher<'_>, mut f: impl FnMut()) {
    if std::env::var_os("KBRIDGE_BENCH_CPU_TIME").is_none() {
        return b.iter(f);
    }
    b.iter_custom(|iters| {
        let t0 = cpu_ns();
        for _ in 0..iters {
            f();
        }
        Duration::from_nanos(cpu_ns().saturating_sub(t0))
    })
}

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .expect("/proc/thread-self/schedstat")
}

fn body(r: &[u8]) -> &[u8] {
    &r[5..]
}

fn saf_write<T: serde::Serialize>(
    v: &T,
    out: &mut Vec<u8>,
    cfg: &mut serde_avro_fast::ser::SerializerConfig<'_>,
) {
    *out = serde_avro_fast::to_datum(v, std::mem::take(out), cfg).expect("saf encode");
}

fn benches(c: &mut Criterion) {
    let recs = records();
    let n = recs.len() as u64;
    let bytes: usize = recs.iter().map(Vec::len).sum();
    eprintln!(
        "{} records, {:.1} bytes average",
        n,
        bytes as f64 / n as f64
    );

    let codec = kbridge_codec();
    let rt_codec = kbridge_roundtrip_codec();
    let sin = apache_avro::Schema::parse_str(HEALTH_AVSC).expect("schema");
    let sout = apache_avro::Schema::parse_str(HEALTH_OUT_AVSC).expect("schema");
    let a_reader = GenericDatumReader::builder(&sin).build().expect("reader");
    let a_writer_in = GenericDatumWriter::builder(&sin).build().expect("writer");
    let a_writer_out = GenericDatumWriter::builder(&sout).build().expect("writer");
    let saf_in: serde_avro_fast::Schema = HEALTH_AVSC.parse().expect("schema");
    let saf_out: serde_avro_fast::Schema = HEALTH_OUT_AVSC.parse().expect("schema");
    let mut saf_cfg_in = serde_avro_fast::ser::SerializerConfig::new(&saf_in);
    let mut saf_cfg_out = serde_avro_fast::ser::SerializerConfig::new(&saf_out);
    let mut out = Vec::with_capacity(512);

    // ---------------------------------------------------------------- decode
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(n));
    g.bench_function("kbridge", |b| {
        timed(b, || {
            for r in &recs {
                black_box(codec.decode(Some(r), &NoHeaders).expect("decode"));
            }
        })
    });
    g.bench_function("kbridge_typed", |b| {
        timed(b, || {
            for r in &recs {
                black_box(
                    codec
                        .decode_typed::<HealthEvent<String>>(r, &NoHeaders)
                        .expect("decode"),
                );
            }
        })
    });
    g.bench_function("apache_avro", |b| {
        timed(b, || {
            for r in &recs {
                black_box(a_reader.read_value(&mut body(r)).expect("decode"));
            }
        })
    });
    g.bench_function("saf_owned", |b| {
        timed(b, || {
            for r in &recs {
                black_box(
                    serde_avro_fast::from_datum_slice::<HealthEvent<String>>(body(r), &saf_in)
                        .expect("decode"),
                );
            }
        })
    });
    g.finish();

    // --------------------------------------------------------- decode_encode
    let mut g = c.benchmark_group("decode_encode");
    g.throughput(Throughput::Elements(n));
    g.bench_function("kbridge", |b| {
        timed(b, || {
            for r in &recs {
                let d = rt_codec.decode(Some(r), &NoHeaders).expect("decode");
                rt_codec.encode(&d.value, &mut out).expect("encode");
                black_box(&out);
            }
        })
    });
    g.bench_function("kbridge_typed", |b| {
        timed(b, || {
            for r in &recs {
                let e: HealthEvent<String> = rt_codec.decode_typed(r, &NoHeaders).expect("decode");
                rt_codec.encode_typed(&e, &mut out).expect("encode");
                black_box(&out);
            }
        })
    });
    g.bench_function("apache_avro", |b| {
        timed(b, || {
            for r in &recs {
                let v = a_reader.read_value(&mut body(r)).expect("decode");
                out.clear();
                out.extend_from_slice(&r[..5]);
                a_writer_in.write_value_ref(&mut out, &v).expect("encode");
                black_box(&out);
            }
        })
    });
    g.bench_function("saf_owned", |b| {
        timed(b, || {
            for r in &recs {
                let e: HealthEvent<String> =
                    serde_avro_fast::from_datum_slice(body(r), &saf_in).expect("decode");
                out.clear();
                out.extend_from_slice(&r[..5]);
                saf_write(&e, &mut out, &mut saf_cfg_in);
                black_box(&out);
            }
        })
    });
    g.finish();

    // ----------------------------------------------- decode_transform_encode
    let mut g = c.benchmark_group("decode_transform_encode");
    g.throughput(Throughput::Elements(n));
    g.bench_function("kbridge", |b| {
        timed(b, || {
            for r in &recs {
                let mut d = codec.decode(Some(r), &NoHeaders).expect("decode");
                if transform_kbridge(&mut d.value, now_ms()) {
                    codec.encode(&d.value, &mut out).expect("encode");
                    black_box(&out);
                }
            }
        })
    });
    g.bench_function("kbridge_typed", |b| {
        timed(b, || {
            for r in &recs {
                let e: HealthEvent<String> = codec.decode_typed(r, &NoHeaders).expect("decode");
                if e.value >= 0.0 {
                    let unit = e.unit.to_uppercase();
                    let o = e.into_out(unit, now_ms());
                    codec.encode_typed(&o, &mut out).expect("encode");
                    black_box(&out);
                }
            }
        })
    });
    g.bench_function("kbridge_typed_borrowed", |b| {
        timed(b, || {
            for r in &recs {
                let e: HealthEvent<&str> = codec.decode_typed(r, &NoHeaders).expect("decode");
                if e.value >= 0.0 {
                    let unit = e.unit.to_uppercase();
                    let o = e.into_out(unit.as_str(), now_ms());
                    codec.encode_typed(&o, &mut out).expect("encode");
                    black_box(&out);
                }
            }
        })
    });
    g.bench_function("apache_avro", |b| {
        timed(b, || {
            for r in &recs {
                let mut v = a_reader.read_value(&mut body(r)).expect("decode");
                if transform_apache(&mut v, now_ms()) {
                    out.clear();
                    out.extend_from_slice(&HEADER_OUT);
                    a_writer_out.write_value_ref(&mut out, &v).expect("encode");
                    black_box(&out);
                }
            }
        })
    });
    g.bench_function("saf_owned", |b| {
        timed(b, || {
            for r in &recs {
                let e: HealthEvent<String> =
                    serde_avro_fast::from_datum_slice(body(r), &saf_in).expect("decode");
                if e.value >= 0.0 {
                    let unit = e.unit.to_uppercase();
                    let o = e.into_out(unit, now_ms());
                    out.clear();
                    out.extend_from_slice(&HEADER_OUT);
                    saf_write(&o, &mut out, &mut saf_cfg_out);
                    black_box(&out);
                }
            }
        })
    });
    g.bench_function("saf_borrowed", |b| {
        timed(b, || {
            for r in &recs {
                let e: HealthEvent<&str> =
                    serde_avro_fast::from_datum_slice(body(r), &saf_in).expect("decode");
                if e.value >= 0.0 {
                    let unit = e.unit.to_uppercase();
                    let o = e.into_out(unit.as_str(), now_ms());
                    out.clear();
                    out.extend_from_slice(&HEADER_OUT);
                    saf_write(&o, &mut out, &mut saf_cfg_out);
                    black_box(&out);
                }
            }
        })
    });
    g.finish();

    // ------------------------------------------------------------------ json
    let mut g = c.benchmark_group("json");
    g.throughput(Throughput::Elements(n));
    g.bench_function("kbridge_natural", |b| {
        timed(b, || {
            for r in &recs {
                let d = codec.decode(Some(r), &NoHeaders).expect("decode");
                out.clear();
                kbridge_codec::json::write_json(&d.value, None, JsonStyle::Natural, &mut out)
                    .expect("json");
                black_box(&out);
            }
        })
    });
    g.bench_function("apache_avro", |b| {
        timed(b, || {
            for r in &recs {
                let v = a_reader.read_value(&mut body(r)).expect("decode");
                let j = serde_json::Value::try_from(v).expect("to json");
                out.clear();
                serde_json::to_writer(&mut out, &j).expect("json");
                black_box(&out);
            }
        })
    });
    g.bench_function("saf_owned", |b| {
        timed(b, || {
            for r in &recs {
                let e: HealthEvent<String> =
                    serde_avro_fast::from_datum_slice(body(r), &saf_in).expect("decode");
                out.clear();
                serde_json::to_writer(&mut out, &e).expect("json");
                black_box(&out);
            }
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! { name = codec; config = config(); targets = benches }
criterion_main!(codec);
