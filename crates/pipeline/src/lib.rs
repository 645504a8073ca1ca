//! `kbridge-pipeline` — source → decode → transforms → encode → sink.
//!
//! Will own: the [`Transform`] trait and the transform stage, the dead-letter
//! queue, the exactly-once and at-least-once loops, backpressure, watermarks
//! and graceful shutdown.

pub mod transform;
pub mod watermark;

pub use transform::{
    Header, PipelineRecord, SourceMeta, Transform, TransformDisposition, TransformError,
};
