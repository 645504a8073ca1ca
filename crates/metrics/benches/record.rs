//! Cost of one recording call on the hot path. Target: well under 100 ns.
//!
//! `cargo bench -p kbridge-metrics --bench record`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kbridge_metrics::Metrics;

fn record(c: &mut Criterion) {
    // A real pipeline: Prometheus reader attached, as in `kbridge run`.
    let metrics = Metrics::new().expect("metrics");
    let source = metrics.source_topic("orders");
    let sink = metrics.sink_topic("orders.avro");
    let partition = metrics.partition("orders", 3);
    let in_flight = metrics.in_flight();
    let registry = metrics.registry();

    let mut group = c.benchmark_group("record");
    group.bench_function("counter_add (filtered)", |b| {
        b.iter(|| source.filtered(black_box(1)));
    });
    group.bench_function("consumed (records + bytes)", |b| {
        b.iter(|| source.consumed(black_box(128)));
    });
    group.bench_function("delivered_after (records + bytes + histogram)", |b| {
        b.iter(|| sink.delivered_after(black_box(96), black_box(Duration::from_millis(7))));
    });
    group.bench_function("delivered (with clock read)", |b| {
        b.iter(|| sink.delivered(black_box(96), black_box(Some(1_700_000_000_000))));
    });
    group.bench_function("partition set_position", |b| {
        b.iter(|| partition.set_position(black_box(42)));
    });
    group.bench_function("in_flight add", |b| {
        b.iter(|| in_flight.add(black_box(1)));
    });
    group.bench_function("registry cache_hit", |b| {
        b.iter(|| registry.cache_hit());
    });
    group.finish();

    // For comparison: what an unbound OpenTelemetry counter costs (attribute
    // lookup per call) — the reason the handles are pre-bound.
    let provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
        .with_reader(opentelemetry_sdk::metrics::ManualReader::builder().build())
        .build();
    let meter = opentelemetry::metrics::MeterProvider::meter(&provider, "bench");
    let counter = meter.u64_counter("unbound").build();
    let attrs = [opentelemetry::KeyValue::new("topic", "orders")];
    c.bench_function("baseline/unbound counter add with 1 attribute", |b| {
        b.iter(|| counter.add(black_box(1), black_box(&attrs)));
    });
    // The clock read inside `delivered`.
    c.bench_function("baseline/SystemTime::now", |b| {
        b.iter(std::time::SystemTime::now);
    });
}

criterion_group!(benches, record);
criterion_main!(benches);
