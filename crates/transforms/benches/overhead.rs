//! The transform stage's overhead as one number, robust to a busy machine:
//! decode → encode and decode → five transforms → encode (the `stage`
//! pair of the criterion bench) run alternately for a number of rounds, and
//! the fastest round of each is compared (interference only ever adds
//! time). `cargo bench -p kbridge-transforms --bench overhead`;
//! `KBRIDGE_OVERHEAD_ROUNDS` (default 15), `KBRIDGE_OVERHEAD_TRANSFORMS`
//! (a TOML file with `[[transforms]]`, default the five of `workload.rs`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use kbridge_codec::{AvroSchema, NoHeaders};
use kbridge_pipeline::PipelineRecord;

mod workload;
use workload::*;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rounds: usize = std::env::var("KBRIDGE_OVERHEAD_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let toml_text = match std::env::var("KBRIDGE_OVERHEAD_TRANSFORMS") {
        Ok(path) => std::fs::read_to_string(path).expect("read the transforms file"),
        Err(_) => FIVE.to_string(),
    };
    let recs = records(20_000);
    let input = AvroSchema::parse(HEALTH_AVSC).expect("schema");
    let baseline = codec(&input);
    let mut transforms = transforms(&toml_text);
    let derived = kbridge_transforms::derive_output_schema(&transforms, &input).expect("derive");
    let out_codec = codec(&derived);
    let mut buf = Vec::with_capacity(512);
    let mut out: Vec<PipelineRecord<'_>> = Vec::with_capacity(4);
    let (mut best_plain, mut best_transformed) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        let t = Instant::now();
        for r in &recs {
            let d = baseline.decode(Some(r), &NoHeaders).expect("decode");
            baseline.encode(&d.value, &mut buf).expect("encode");
            black_box(&buf);
        }
        best_plain = best_plain.min(t.elapsed());
        let t = Instant::now();
        for r in &recs {
            let d = out_codec.decode(Some(r), &NoHeaders).expect("decode");
            let rec = PipelineRecord::new(d.value, source());
            kbridge_transforms::apply_all(&mut transforms, rec, &mut out).expect("transforms");
            for o in out.drain(..) {
                out_codec.encode(&o.value, &mut buf).expect("encode");
                black_box((&buf, &o.key));
            }
        }
        best_transformed = best_transformed.min(t.elapsed());
    }
    let per = |d: Duration| d.as_nanos() as f64 / recs.len() as f64;
    let (a, b) = (per(best_plain), per(best_transformed));
    println!(
        "decode→encode {a:.0} ns/record; with {} transforms {b:.0} ns/record; overhead {:+.1}% (best of {rounds} rounds, {} records)",
        transforms.len(),
        (b / a - 1.0) * 100.0,
        recs.len()
    );
}
