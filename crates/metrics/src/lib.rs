//! `kbridge-metrics` — the instrument catalogue and its exporters.
//!
//! Owns: the OpenTelemetry meter provider, the Prometheus `/metrics`
//! endpoint (via `opentelemetry-prometheus`) and optional OTLP export, the
//! one [`catalogue`] that declares every instrument (name, unit,
//! description, labels), the typed recording handles and log-and-count
//! [`events`], the librdkafka statistics bridge, `/healthz` and `/readyz`,
//! and the process's `tracing` setup ([`init_tracing`]).
//!
//! Must not depend on any other kbridge crate, nor on rdkafka: librdkafka
//! statistics arrive as JSON bytes.
//!
//! # Feature flags
//! - `otlp` (off by default): push metrics over OTLP/HTTP (protobuf) with
//!   `opentelemetry-otlp`'s blocking reqwest client. Without it,
//!   [`MetricsBuilder::otlp`] makes `build` fail with
//!   [`MetricsError::OtlpNotCompiled`].
//!
//! # Recording from other crates
//! Take a [`Metrics`] (cheap to clone) in your builder and default to
//! [`Metrics::disabled`]. Bind handles once, outside the per-record loop —
//! a recording call on a handle is an atomic add (see `benches/record.rs`):
//!
//! ```
//! use std::time::Duration;
//! use kbridge_metrics::{Metrics, ReadinessCheck};
//! use kbridge_metrics::events::{DeadLettered, ErrorAction, ErrorRecorded, TransactionCommitted};
//!
//! let metrics = Metrics::new()?;
//!
//! // source: on assignment, per topic and per partition
//! let orders_in = metrics.source_topic("orders");
//! let p0 = metrics.partition("orders", 0);
//! let assigned = metrics.readiness().require(ReadinessCheck::PartitionsAssigned);
//! assigned.set_ready();
//! // per record: key + value length
//! orders_in.consumed(128);
//! p0.set_position(42); // last offset read + 1
//! p0.set_high_watermark(100);
//! // after a commit
//! p0.set_committed_offset(42);
//!
//! // pipeline
//! orders_in.filtered(1);
//! p0.set_watermark_ms(1_700_000_000_000);
//! metrics.set_watermark_ms(1_700_000_000_000);
//! let err = std::io::Error::other("unknown schema id 7");
//! metrics.emit(DeadLettered {
//!     topic: "orders", partition: 0, offset: 41,
//!     stage: "decode", class: "UnknownSchemaId",
//!     subject: Some("orders-value"), schema_id: Some(7), reason: &err,
//! });
//!
//! // sink
//! let out = metrics.sink_topic("orders.avro");
//! let in_flight = metrics.in_flight();
//! in_flight.add(1);
//! out.delivered(96, Some(1_700_000_000_000)); // source record timestamp
//! in_flight.sub(1);
//! metrics.emit(TransactionCommitted { duration: Duration::from_millis(12), records: 1 });
//! metrics.emit(ErrorRecorded {
//!     stage: "sink", class: "BrokerTransport", action: ErrorAction::Retry,
//!     topic: Some("orders.avro"), partition: None, offset: None, error: &err,
//! });
//!
//! // registry client
//! let registry = metrics.registry();
//! registry.cache_miss();
//! registry.request(Duration::from_millis(3), true);
//! registry.cache_hit();
//!
//! // librdkafka statistics, from the client context's stats_raw callback
//! let stats = metrics.rdkafka_stats("source");
//! stats.update(br#"{"type":"consumer","rx_bytes":10}"#)?;
//!
//! let text = metrics.render_prometheus()?;
//! assert!(text.contains(r#"kbridge_records_in_total{topic="orders"} 1"#));
//! # Ok::<(), kbridge_metrics::MetricsError>(())
//! ```
//!
//! The bin serves it with [`MetricsServer::bind`] (or mounts [`router`]).

mod error;
mod handles;
mod health;
mod logs;
mod metrics;
mod server;

pub mod catalogue;
pub mod events;
pub mod rdkafka_stats;

pub use error::MetricsError;
pub use handles::{
    InFlightMetrics, PartitionMetrics, RegistryMetrics, SinkTopicMetrics, SourceTopicMetrics,
};
pub use health::{CheckStatus, Readiness, ReadinessCheck, ReadinessReport, ReadyFlag};
pub use logs::{LogFormat, init_tracing};
pub use metrics::{Metrics, MetricsBuilder, OtlpOptions};
pub use rdkafka_stats::RdKafkaStats;
pub use server::{MetricsServer, PROMETHEUS_CONTENT_TYPE, router};
