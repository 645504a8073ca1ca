//! A record's failure in one stage ([`Failure`]): its class, what to do
//! about it, and the dead-letter record it becomes (original key, value
//! and headers plus the error context of `kbridge_admin::dlq`).

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use kbridge_admin::dlq::{ErrorContext, stage as connect};
use kbridge_codec::{CodecError, Disposition, FrameErrorKind, ResolveError, SchemaRef};
use kbridge_metrics::events::ErrorChain;
use kbridge_sink::SinkError;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, OwnedHeaders};

use crate::transform::{TransformDisposition, TransformError};

/// Where in the pipeline a record failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    KeyDecode,
    ValueDecode,
    Transform,
    KeyEncode,
    ValueEncode,
    Produce,
}

impl Stage {
    /// Metrics label and summary key.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Stage::KeyDecode | Stage::ValueDecode => "decode",
            Stage::Transform => "transform",
            Stage::KeyEncode | Stage::ValueEncode => "encode",
            Stage::Produce => "produce",
        }
    }

    /// The `__connect.errors.stage` value.
    pub(crate) fn connect(self) -> &'static str {
        match self {
            Stage::KeyDecode | Stage::KeyEncode => connect::KEY_CONVERTER,
            Stage::ValueDecode | Stage::ValueEncode => connect::VALUE_CONVERTER,
            Stage::Transform => connect::TRANSFORMATION,
            Stage::Produce => connect::KAFKA_PRODUCE,
        }
    }
}

/// A failure that is only a message (routing problems, schema checks).
#[derive(Debug)]
pub(crate) struct Message(pub(crate) String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Message {}

/// One record's failure in one stage.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) stage: Stage,
    /// Error class: metrics label and `exception.class.name`.
    pub(crate) class: &'static str,
    /// The failing component: `class.name` (codec, transform name, sink).
    pub(crate) component: Cow<'static, str>,
    pub(crate) disposition: Disposition,
    pub(crate) error: Box<dyn StdError + Send + Sync>,
    pub(crate) schema_id: Option<u32>,
    pub(crate) subject: Option<String>,
    /// Which attempt failed (1-based).
    pub(crate) attempt: u32,
}

impl Failure {
    pub(crate) fn new(
        stage: Stage,
        class: &'static str,
        component: impl Into<Cow<'static, str>>,
        disposition: Disposition,
        error: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Failure {
            stage,
            class,
            component: component.into(),
            disposition,
            error: Box::new(error),
            schema_id: None,
            subject: None,
            attempt: 1,
        }
    }

    /// A codec failure in `stage`.
    pub(crate) fn codec(stage: Stage, component: &str, e: CodecError) -> Self {
        let (class, schema_id, subject) = codec_class(&e);
        let disposition = e.disposition();
        Failure {
            schema_id,
            subject,
            ..Failure::new(stage, class, component.to_owned(), disposition, e)
        }
    }

    /// A failure of transform `name`.
    pub(crate) fn transform(name: &str, e: TransformError) -> Self {
        let disposition = match e.disposition {
            TransformDisposition::Poison => Disposition::Poison,
            TransformDisposition::Retriable => Disposition::Retriable,
            TransformDisposition::Fatal => Disposition::Fatal,
        };
        Failure::new(Stage::Transform, e.class, name.to_owned(), disposition, e)
    }

    /// The broker or the producer refused one output record.
    pub(crate) fn produce(e: SinkError) -> Self {
        let class = sink_class(&e);
        let disposition = match e.class() {
            kbridge_sink::ErrorClass::Poison => Disposition::Poison,
            kbridge_sink::ErrorClass::Retriable => Disposition::Retriable,
            _ => Disposition::Fatal,
        };
        Failure::new(Stage::Produce, class, "kbridge.sink", disposition, e)
    }

    /// The error and its causes, `outer: inner`.
    pub(crate) fn message(&self) -> String {
        ErrorChain(&*self.error).to_string()
    }

    /// The error context headers of the dead-letter record.
    pub(crate) fn context(&self, topic: &str, partition: i32, offset: i64) -> ErrorContext {
        ErrorContext {
            topic: Some(topic.to_owned()),
            partition: Some(partition),
            offset: Some(offset),
            stage: Some(self.stage.connect().to_owned()),
            class_name: Some(self.component.to_string()),
            exception_class: Some(self.class.to_owned()),
            message: Some(self.message()),
            schema_id: self.schema_id,
            subject: self.subject.clone(),
            attempt: Some(self.attempt),
        }
    }
}

/// The original headers plus the error context (when `context` is given).
pub(crate) fn dead_letter_headers(
    original: Option<OwnedHeaders>,
    context: Option<&ErrorContext>,
) -> Option<OwnedHeaders> {
    let Some(ctx) = context else {
        return original;
    };
    let extra = ctx.to_headers();
    let mut h = original.unwrap_or_else(|| OwnedHeaders::new_with_capacity(extra.len()));
    for (name, value) in &extra {
        h = h.insert(Header {
            key: name,
            value: Some(value.as_bytes()),
        });
    }
    Some(h)
}

fn codec_class(e: &CodecError) -> (&'static str, Option<u32>, Option<String>) {
    let id = |s: &SchemaRef| match s {
        SchemaRef::Id(id) => Some(*id),
        _ => None,
    };
    match e {
        CodecError::DecodeFrame { kind } => (
            match kind {
                FrameErrorKind::UnknownMagic(_) => "UnknownMagicByte",
                FrameErrorKind::Truncated { .. } => "TruncatedFrame",
                FrameErrorKind::BadHeader(_) => "BadSchemaIdHeader",
                FrameErrorKind::Missing => "MissingPayload",
                FrameErrorKind::UnknownFingerprint(_) => "UnknownFingerprint",
                _ => "InvalidFrame",
            },
            None,
            None,
        ),
        CodecError::ResolveSchema { schema, source } => (
            match source {
                ResolveError::NotFound { .. } => "UnknownSchema",
                ResolveError::InvalidSchema { .. } => "InvalidSchema",
                ResolveError::Unavailable { .. } => "RegistryUnavailable",
                ResolveError::Rejected { .. } => "RegistryRejected",
                _ => "ResolveSchema",
            },
            id(schema),
            None,
        ),
        CodecError::RegisterSchema { subject, source } => (
            if source.is_retriable() {
                "RegistryUnavailable"
            } else {
                "RegisterSchema"
            },
            None,
            Some(subject.clone()),
        ),
        CodecError::ResolveReader { writer, .. } => ("SchemaMismatch", id(writer), None),
        CodecError::DecodeDatum { .. } => ("InvalidDatum", None, None),
        CodecError::EncodeDatum { .. } => ("EncodeDatum", None, None),
        CodecError::DecodeJson { .. } => ("InvalidJson", None, None),
        CodecError::EncodeJson { .. } => ("EncodeJson", None, None),
        CodecError::DecodeString { .. } => ("InvalidUtf8", None, None),
        CodecError::DecodeTyped { .. } => ("DecodeTyped", None, None),
        CodecError::EncodeTyped { .. } => ("EncodeTyped", None, None),
        CodecError::EditValue { .. } => ("EditValue", None, None),
        CodecError::ParseSchema { .. } => ("ParseSchema", None, None),
        _ => ("CodecError", None, None),
    }
}

fn sink_class(e: &SinkError) -> &'static str {
    use RDKafkaErrorCode as C;
    match (e, e.code()) {
        (SinkError::NoTopic, _) => "NoTopic",
        (_, Some(C::MessageSizeTooLarge)) => "RecordTooLarge",
        (_, Some(C::InvalidRecord)) => "InvalidRecord",
        (_, Some(C::InvalidTimestamp)) => "InvalidTimestamp",
        (_, Some(C::UnknownPartition)) => "UnknownPartition",
        (_, Some(C::UnknownTopic | C::UnknownTopicOrPartition)) => "UnknownTopic",
        (_, Some(C::TopicAuthorizationFailed)) => "TopicAuthorizationFailed",
        (_, Some(C::MessageTimedOut)) => "MessageTimedOut",
        (_, Some(C::QueueFull)) | (SinkError::QueueFull { .. }, _) => "QueueFull",
        (_, Some(C::InvalidTopic)) => "InvalidTopic",
        _ => "ProduceFailed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbridge_admin::dlq::{ERROR_EXCEPTION_MESSAGE, ERROR_STAGE, ERROR_TOPIC};
    use rdkafka::message::Headers;

    #[test]
    fn an_unknown_schema_id_is_poison_with_its_id() {
        let e = CodecError::ResolveSchema {
            schema: SchemaRef::Id(99),
            source: ResolveError::NotFound {
                what: SchemaRef::Id(99),
            },
        };
        let f = Failure::codec(Stage::ValueDecode, "kbridge.codec.avro", e);
        assert_eq!(f.class, "UnknownSchema");
        assert_eq!(f.disposition, Disposition::Poison);
        assert_eq!(f.schema_id, Some(99));
        let ctx = f.context("orders", 3, 17);
        assert_eq!(ctx.stage.as_deref(), Some("VALUE_CONVERTER"));
        assert_eq!(ctx.class_name.as_deref(), Some("kbridge.codec.avro"));
        assert_eq!(ctx.exception_class.as_deref(), Some("UnknownSchema"));
        assert_eq!(
            ctx.message.as_deref(),
            Some("resolve schema id 99: schema id 99 not found")
        );
        assert_eq!(
            (ctx.partition, ctx.offset, ctx.attempt),
            (Some(3), Some(17), Some(1))
        );
    }

    #[test]
    fn a_registry_outage_is_retriable() {
        let e = CodecError::ResolveSchema {
            schema: SchemaRef::Id(5),
            source: ResolveError::Unavailable {
                reason: "503".into(),
                source: None,
            },
        };
        let f = Failure::codec(Stage::ValueDecode, "c", e);
        assert_eq!(
            (f.class, f.disposition),
            ("RegistryUnavailable", Disposition::Retriable)
        );
    }

    #[test]
    fn broker_rejections_are_classified() {
        let e = SinkError::Deliver {
            topic: "out".into(),
            partition: Some(0),
            code: RDKafkaErrorCode::MessageSizeTooLarge,
        };
        let f = Failure::produce(e);
        assert_eq!(
            (f.stage.connect(), f.class, f.disposition),
            ("KAFKA_PRODUCE", "RecordTooLarge", Disposition::Poison)
        );
        let t = Failure::transform(
            "mask",
            TransformError::poison("MissingField", "no such field").with_path("user.email"),
        );
        assert_eq!(t.stage.label(), "transform");
        assert_eq!(t.message(), "no such field (field `user.email`)");
    }

    #[test]
    fn dead_letter_headers_keep_the_originals_first() {
        let original = OwnedHeaders::new().insert(Header {
            key: "trace",
            value: Some(&[0xff, 0x00][..]),
        });
        let f = Failure::new(
            Stage::Transform,
            "MissingField",
            "mask",
            Disposition::Poison,
            Message("no field".into()),
        );
        let ctx = f.context("in", 0, 5);
        let h = dead_letter_headers(Some(original), Some(&ctx)).unwrap();
        let names: Vec<&str> = h.iter().map(|h| h.key).collect();
        assert_eq!(names[0], "trace");
        assert_eq!(h.get(0).value, Some(&[0xff, 0x00][..]));
        assert!(names.contains(&ERROR_TOPIC) && names.contains(&ERROR_STAGE));
        let msg = h.iter().find(|h| h.key == ERROR_EXCEPTION_MESSAGE).unwrap();
        assert_eq!(msg.value, Some(&b"no field"[..]));
        assert!(dead_letter_headers(None, None).is_none());
    }
}
