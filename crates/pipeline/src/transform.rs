//! The transform stage's contract: [`Transform`] and the [`PipelineRecord`]
//! it works on. Built-in transforms (filter, fields, route, ...) and library
//! users' own transforms implement the same trait.

use std::borrow::Cow;

use kbridge_codec::{AvroSchema, Value};
use kbridge_source::TimestampType;

/// Where a record was read from. Read-only for transforms; the pipeline
/// uses it for offsets and dead-letter headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceMeta<'a> {
    /// Source topic.
    pub topic: &'a str,
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// Kafka record timestamp in epoch milliseconds, when the broker gave one.
    pub timestamp: Option<i64>,
    /// What the Kafka timestamp means.
    pub timestamp_type: TimestampType,
}

/// One header: name and value (`None` is a header with a null value).
pub type Header<'a> = (Cow<'a, str>, Option<Cow<'a, [u8]>>);

/// A record between decode and encode. Values borrow from the consumed
/// message where they can; a transform replaces what it changes with owned
/// values.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRecord<'a> {
    /// Decoded key; [`Value::Null`] when the Kafka record had no key.
    pub key: Value<'a>,
    /// Decoded value; [`Value::Null`] for a tombstone.
    pub value: Value<'a>,
    /// Headers to write, in order (starts as the source record's headers,
    /// minus schema-id headers the codec consumed).
    pub headers: Vec<Header<'a>>,
    /// Output topic; `None` writes to the sink's configured topic.
    pub topic: Option<Cow<'a, str>>,
    /// Output partition; `None` lets the partitioner choose (by key).
    pub partition: Option<i32>,
    /// Output timestamp in epoch milliseconds; starts as the source
    /// timestamp (event time after a timestamp transform).
    pub timestamp: Option<i64>,
    /// Where the record came from.
    pub source: SourceMeta<'a>,
}

impl<'a> PipelineRecord<'a> {
    /// A record with a value only, as read from `source`.
    pub fn new(value: Value<'a>, source: SourceMeta<'a>) -> Self {
        PipelineRecord {
            key: Value::Null,
            value,
            headers: Vec::new(),
            topic: None,
            partition: None,
            timestamp: source.timestamp,
            source,
        }
    }

    /// The first header called `name`, if any.
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        self.headers.iter().find(|(n, _)| n == name)
    }
}

/// What the pipeline does with a record a transform could not handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformDisposition {
    /// The record itself is bad (missing field, impossible cast): it goes
    /// to the dead-letter queue with stage `transform`.
    Poison,
    /// A passing condition (e.g. a lookup service down): retry later.
    Retriable,
    /// The pipeline cannot go on: stop without committing.
    Fatal,
}

/// A transform's failure for one record.
#[derive(Debug, thiserror::Error)]
#[error("{message}{}", .path.as_ref().map(|p| format!(" (field `{p}`)")).unwrap_or_default())]
#[non_exhaustive]
pub struct TransformError {
    /// What to do with the record.
    pub disposition: TransformDisposition,
    /// Short class for metrics and the DLQ `class.name` header, e.g.
    /// `MissingField`, `CastFailed`, `ExpressionError`.
    pub class: &'static str,
    /// Field path involved, when there is one.
    pub path: Option<String>,
    /// Human-readable reason.
    pub message: String,
    /// Underlying cause.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransformError {
    /// A poison-record error: the record goes to the dead-letter queue.
    pub fn poison(class: &'static str, message: impl Into<String>) -> Self {
        TransformError {
            disposition: TransformDisposition::Poison,
            class,
            path: None,
            message: message.into(),
            source: None,
        }
    }

    /// A fatal error: the pipeline stops.
    pub fn fatal(class: &'static str, message: impl Into<String>) -> Self {
        TransformError {
            disposition: TransformDisposition::Fatal,
            ..Self::poison(class, message)
        }
    }

    /// A retriable error: the pipeline retries the record later.
    pub fn retriable(class: &'static str, message: impl Into<String>) -> Self {
        TransformError {
            disposition: TransformDisposition::Retriable,
            ..Self::poison(class, message)
        }
    }

    /// Names the field path involved.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// One step of the transform stage: a record in, zero, one or several
/// records out, or a classified error.
///
/// Implementations push their outputs to `out` (pushing nothing drops the
/// record — counted as filtered by the pipeline). They run on the
/// pipeline's thread, once per record, so they must not block.
pub trait Transform: Send {
    /// Name used in logs, metrics and error messages (e.g. `drop_fields`).
    fn name(&self) -> &str;

    /// Transforms one record.
    fn apply<'a>(
        &mut self,
        record: PipelineRecord<'a>,
        out: &mut Vec<PipelineRecord<'a>>,
    ) -> Result<(), TransformError>;

    /// The value schema of this transform's outputs, given the schema of its
    /// inputs. Called at start-up so that a mismatch with the output schema
    /// is reported before any record is consumed. The default says "the
    /// schema is unchanged".
    fn output_schema(&self, input: &AvroSchema) -> Result<AvroSchema, TransformError> {
        Ok(input.clone())
    }
}
