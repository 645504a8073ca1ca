//! The crate's one error type, [`PipelineError`], and the exit status a
//! command-line front end should map it to ([`PipelineError::exit_code`]).

use kbridge_codec::CodecError;
use kbridge_registry::RegistryError;
use kbridge_sink::SinkError;
use kbridge_source::SourceError;

/// Everything that stops a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The builder or the configuration is incomplete or contradicts itself.
    #[error("invalid pipeline configuration: {reason}")]
    Configure {
        /// What is wrong, naming the setting.
        reason: String,
    },
    /// The Kafka source could not be created.
    #[error("create kafka source: {source}")]
    BuildSource {
        /// The source's error.
        #[source]
        source: Box<SourceError>,
    },
    /// The Kafka sink could not be created (for exactly-once this includes
    /// `init_transactions`, which fences a previous instance).
    #[error("create kafka sink: {source}")]
    BuildSink {
        /// The sink's error.
        #[source]
        source: Box<SinkError>,
    },
    /// A key or value codec could not be built.
    #[error("build {side} codec: {source}")]
    BuildCodec {
        /// `key` or `value`.
        side: &'static str,
        /// The codec's error.
        #[source]
        source: Box<CodecError>,
    },
    /// A schema the pipeline needs at start-up could not be read from the
    /// schema registry.
    #[error("{what}: {source}")]
    Registry {
        /// What was looked up (subject, version, id).
        what: String,
        /// The registry client's error.
        #[source]
        source: Box<RegistryError>,
    },
    /// A schema file could not be read or parsed.
    #[error("read schema file {path}: {reason}")]
    SchemaFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The transforms' output schema does not fit the output schema (found
    /// at start-up, before any record is read).
    #[error("output schema check for {what}: {reason}")]
    SchemaMismatch {
        /// Which input schema and output subject.
        what: String,
        /// The mismatch.
        reason: String,
    },
    /// A record failed and `errors.tolerance` is `none`: the pipeline
    /// stopped at it. Everything before it is committed, it is not.
    #[error(
        "record {topic}[{partition}]@{offset} failed in stage {stage} ({class}): {message}; \
         stopped because dead_letter.tolerance is none"
    )]
    RecordRejected {
        /// Source topic.
        topic: String,
        /// Source partition.
        partition: i32,
        /// Source offset.
        offset: i64,
        /// `decode`, `transform`, `encode` or `produce`.
        stage: &'static str,
        /// Error class.
        class: &'static str,
        /// The error, with its causes.
        message: String,
    },
    /// A record met an error no retry or dead-letter queue can handle (a
    /// transform or the registry said fatal): the pipeline stopped without
    /// committing it.
    #[error("record {topic}[{partition}]@{offset}: fatal error in stage {stage}: {message}")]
    RecordFatal {
        /// Source topic.
        topic: String,
        /// Source partition.
        partition: i32,
        /// Source offset.
        offset: i64,
        /// The failing stage.
        stage: &'static str,
        /// The error, with its causes.
        message: String,
    },
    /// The consumer failed for good (authentication, authorization, TLS,
    /// a fatal client state) or an offset operation failed.
    #[error("kafka source: {source}")]
    Source {
        /// The source's error.
        #[source]
        source: Box<SourceError>,
    },
    /// The producer failed for good (fenced by a newer instance,
    /// authorization, a fatal idempotence error) while writing the records
    /// read from `position`. Nothing of the open transaction is committed.
    #[error("kafka sink, {operation} ({position}): {source}")]
    Sink {
        /// What was being done (`send`, `commit transaction`, ...).
        operation: &'static str,
        /// The source records concerned: `topic[partition]@offset` or
        /// offset ranges.
        position: String,
        /// The sink's error.
        #[source]
        source: Box<SinkError>,
    },
    /// A dead-letter record could not be written (the dead-letter topic
    /// rejected it): the record cannot be skipped safely.
    #[error("write dead-letter record for {topic}[{partition}]@{offset} to {dlq_topic}: {source}")]
    DeadLetterWrite {
        /// Source topic.
        topic: String,
        /// Source partition.
        partition: i32,
        /// Source offset.
        offset: i64,
        /// The dead-letter topic.
        dlq_topic: String,
        /// The sink's error.
        #[source]
        source: Box<SinkError>,
    },
    /// The operating system refused to start the pipeline thread.
    #[error("start the pipeline thread: {source}")]
    SpawnThread {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The pipeline thread panicked (a bug, or a transform that panicked).
    #[error("pipeline thread panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },
}

/// How a run ended, for exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitKind {
    /// Bad configuration, missing schema, schema mismatch: fix the
    /// configuration (exit code 2).
    Config,
    /// `errors.tolerance = none` and a record failed (exit code 3).
    RecordRejected,
    /// Anything else that stopped the pipeline (exit code 1).
    Fatal,
}

impl ExitKind {
    /// The process exit code: 2, 3 or 1.
    pub fn code(self) -> u8 {
        match self {
            ExitKind::Config => 2,
            ExitKind::RecordRejected => 3,
            ExitKind::Fatal => 1,
        }
    }
}

impl PipelineError {
    /// Which kind of failure this is.
    pub fn kind(&self) -> ExitKind {
        match self {
            PipelineError::Configure { .. }
            | PipelineError::BuildCodec { .. }
            | PipelineError::SchemaFile { .. }
            | PipelineError::SchemaMismatch { .. } => ExitKind::Config,
            PipelineError::BuildSource { source } if source.is_fatal() => ExitKind::Config,
            PipelineError::BuildSink { source } if source.is_fatal() => ExitKind::Config,
            PipelineError::Registry { source, .. }
                if source.class() != kbridge_registry::ErrorClass::Retriable =>
            {
                ExitKind::Config
            }
            PipelineError::RecordRejected { .. } => ExitKind::RecordRejected,
            _ => ExitKind::Fatal,
        }
    }

    /// [`ExitKind::code`] of [`PipelineError::kind`].
    pub fn exit_code(&self) -> u8 {
        self.kind().code()
    }

    pub(crate) fn configure(reason: impl Into<String>) -> Self {
        PipelineError::Configure {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_records_name_their_position_and_exit_with_3() {
        let e = PipelineError::RecordRejected {
            topic: "orders".into(),
            partition: 2,
            offset: 41,
            stage: "decode",
            class: "UnknownSchema",
            message: "resolve schema id 99: schema id 99 not found".into(),
        };
        assert_eq!(
            e.to_string(),
            "record orders[2]@41 failed in stage decode (UnknownSchema): resolve schema id 99: \
             schema id 99 not found; stopped because dead_letter.tolerance is none"
        );
        assert_eq!(e.exit_code(), 3);
        assert_eq!(PipelineError::configure("x").exit_code(), 2);
        let fatal = PipelineError::Panicked {
            message: "boom".into(),
        };
        assert_eq!(fatal.exit_code(), 1);
    }
}
