//! `kbridge-pipeline` — source → decode → transforms → encode → sink, with
//! a dead-letter queue, at-least-once or exactly-once.
//!
//! Owns: [`Pipeline`] (built from parts with [`Pipeline::builder`] or from
//! kbridge's configuration with [`Pipeline::from_config`]), the
//! [`Transform`] trait and the transform stage, the dead-letter queue, the
//! exactly-once and at-least-once loops, backpressure, event-time
//! [`watermark`]s and graceful [`Shutdown`]. Must not depend on the CLI or
//! on `kbridge-transforms` (which depends on this crate for the trait: the
//! caller builds the transforms and hands them over). No feature flags.
//!
//! # The loop
//! One thread (the caller's, or [`Pipeline::spawn`]'s) polls the source
//! and runs each record through the stages: decode key and value
//! (registry schemas fetched once per id), the transforms in order (zero,
//! one or several records out), encode (output schema derived through the
//! transforms or pinned, registered under the subject of the output topic),
//! produce (fixed, `{topic}` template, or the record's routed topic).
//! Values stay borrowed from the consumed message until they are encoded
//! into reused buffers.
//!
//! - **At-least-once**: each record is tracked by the source's
//!   `OffsetTracker`; outputs carry a delivery token; offsets are committed
//!   (asynchronously, every second) only past records whose outputs are all
//!   acknowledged, contiguously per partition.
//! - **Exactly-once**: transactions of up to N records or T ms; outputs and
//!   dead-letter records are produced inside the transaction, the consumed
//!   offsets go in with the group metadata. An abortable error aborts and
//!   rewinds the source; a record whose output the broker refused (record
//!   too large, ...) comes back after the rewind and goes to the
//!   dead-letter topic instead. Fatal errors stop without committing.
//!
//! A record that fails a stage (decode, unknown schema id, transform,
//! encode, schema mismatch, broker rejection) goes to the dead-letter topic
//! with its original key, value and headers plus the error context of
//! `kbridge_admin::dlq` (Kafka Connect's `__connect.errors.*` and
//! `kbridge.error.*`), one warn line each; with tolerance
//! [`Tolerance::None`] the pipeline stops at it instead, committing what
//! came before. Retriable failures (registry or broker unavailable) are
//! retried with backoff and never dead-lettered.
//!
//! ```no_run
//! use std::sync::Arc;
//! use kbridge_pipeline::{Pipeline, PipelineRecord, Transform, TransformError};
//! use kbridge_sink::KafkaSink;
//! use kbridge_source::KafkaSource;
//!
//! struct Upper;
//! impl Transform for Upper {
//!     fn name(&self) -> &str { "upper" }
//!     fn apply<'a>(
//!         &mut self,
//!         record: PipelineRecord<'a>,
//!         out: &mut Vec<PipelineRecord<'a>>,
//!     ) -> Result<(), TransformError> {
//!         out.push(record); // unchanged; push nothing to filter
//!         Ok(())
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let source = KafkaSource::builder()
//!     .bootstrap_servers("localhost:9092")
//!     .group_id("copy")
//!     .topic("in")
//!     .build()?;
//! let sink = KafkaSink::builder()
//!     .bootstrap_servers("localhost:9092")
//!     .topic("out")
//!     .exactly_once("copy", "host-1")
//!     .build()?;
//! let pipeline = Pipeline::builder()
//!     .source(source)
//!     .sink(sink)
//!     .transform(Box::new(Upper))
//!     .build()?;
//! let stop = pipeline.shutdown_handle(); // stop.request() from elsewhere
//! let summary = pipeline.run()?;
//! println!("{summary}");
//! # Ok(()) }
//! ```

mod builder;
mod codecs;
mod error;
mod failure;
mod options;
mod resolver;
mod run;
mod setup;
mod shutdown;
mod summary;
pub mod transform;
pub mod watermark;

pub use builder::{Pipeline, PipelineBuilder};
pub use error::{ExitKind, PipelineError};
pub use options::{
    DeadLetter, EventTime, Guarantee, Limits, OutputTopic, RetryPolicy, Tolerance,
    TransactionLimits,
};
pub use setup::{default_instance, needs_registry};
pub use shutdown::Shutdown;
pub use summary::{Progress, ProgressSnapshot, Summary};
pub use transform::{
    Header, PipelineRecord, SourceMeta, Transform, TransformDisposition, TransformError, apply_all,
};
