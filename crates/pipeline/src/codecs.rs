//! How each side (key, value) of a record is decoded and how its outputs
//! are encoded: one decoder, and encoders that are either the caller's
//! codec or built per output topic and input schema (output subject by
//! strategy, schema derived through the transforms or pinned, registered
//! or looked up).

use std::borrow::Cow;
use std::sync::Arc;

use kbridge_admin::RegistryResolver;
use kbridge_codec::{
    AvroSchema, Codec, CodecError, Disposition, JsonStyle, ResolvedSchema, SchemaKind, SchemaRef,
    SchemaResolver, Side, WireFormat,
};
use kbridge_registry::{
    ErrorClass, SchemaDefinition, SchemaType, SubjectKind, SubjectNameStrategy,
};

use crate::failure::{Failure, Message, Stage};
use crate::transform::Transform;

/// One side of the record: its decoder and how outputs are encoded.
pub(crate) struct SideCodec {
    pub(crate) side: Side,
    pub(crate) decoder: Arc<Codec>,
    pub(crate) encoders: Encoders,
    /// `__connect.errors.class.name` of this side's failures.
    pub(crate) component: Cow<'static, str>,
}

impl std::fmt::Debug for SideCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SideCodec")
            .field("side", &self.side)
            .field("component", &self.component)
            .finish_non_exhaustive()
    }
}

impl SideCodec {
    /// The caller's codec decodes and encodes.
    pub(crate) fn shared(side: Side, codec: Arc<Codec>) -> Self {
        SideCodec {
            side,
            decoder: Arc::clone(&codec),
            encoders: Encoders::Shared(codec),
            component: Cow::Borrowed("kbridge.codec"),
        }
    }

    /// Raw bytes in and out.
    pub(crate) fn bytes(side: Side) -> Result<Self, CodecError> {
        let codec = Codec::builder(side)
            .read(WireFormat::Bytes)
            .write(WireFormat::Bytes)
            .build()?;
        Ok(SideCodec {
            component: Cow::Borrowed("kbridge.codec.bytes"),
            ..Self::shared(side, Arc::new(codec))
        })
    }

    pub(crate) fn encode_stage(&self) -> Stage {
        match self.side {
            Side::Key => Stage::KeyEncode,
            Side::Value => Stage::ValueEncode,
        }
    }
}

/// Where encoders come from.
pub(crate) enum Encoders {
    /// One codec encodes every output (its own output subject).
    Shared(Arc<Codec>),
    /// Built per (output topic, input schema).
    Derived(Box<DerivedEncoders>),
}

/// Builds encoders from the configuration's `[codec.*]` section.
pub(crate) struct DerivedEncoders {
    pub(crate) side: Side,
    pub(crate) write: WireFormat,
    pub(crate) json_style: JsonStyle,
    pub(crate) resolver: Option<Arc<dyn SchemaResolver>>,
    /// For looking up or registering the output schema per the policy.
    pub(crate) registry: Option<Arc<RegistryResolver>>,
    pub(crate) strategy: SubjectNameStrategy,
    /// A pinned output subject.
    pub(crate) subject: Option<String>,
    /// A pinned output schema (schema file, or subject + version).
    pub(crate) pinned: Option<Arc<ResolvedSchema>>,
    pub(crate) auto_register: bool,
    /// Apply the transforms' `output_schema` (value side).
    pub(crate) derive: bool,
    pub(crate) component: Cow<'static, str>,
}

fn schema_failure(stage: Stage, component: &str, class: &'static str, message: String) -> Failure {
    Failure::new(
        stage,
        class,
        component.to_owned(),
        Disposition::Poison,
        Message(message),
    )
}

/// The Avro schema of records leaving `transforms`, given the schema of
/// records entering them.
pub(crate) fn derive_output(
    transforms: &[Box<dyn Transform>],
    input: &AvroSchema,
) -> Result<AvroSchema, String> {
    let mut schema = input.clone();
    for (i, t) in transforms.iter().enumerate() {
        schema = t
            .output_schema(&schema)
            .map_err(|e| format!("transforms[{i}] `{}`: {e}", t.name()))?;
    }
    Ok(schema)
}

/// Checks that `pinned` can hold records of `derived` (Avro resolution,
/// derived as writer).
pub(crate) fn check_pinned(derived: &AvroSchema, pinned: &AvroSchema) -> Result<(), String> {
    pinned
        .plan_from(derived, SchemaRef::Fixed)
        .map(|_| ())
        .map_err(|e| match e {
            CodecError::ResolveReader { path, reason, .. } => format!("{reason} at {path}"),
            other => other.to_string(),
        })
}

/// The full name of a named Avro schema (for the record strategies).
pub(crate) fn record_full_name(schema: &ResolvedSchema) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(schema.text()).ok()?;
    let name = v.get("name")?.as_str()?;
    if name.contains('.') {
        return Some(name.to_owned());
    }
    match v.get("namespace").and_then(|n| n.as_str()) {
        Some(ns) if !ns.is_empty() => Some(format!("{ns}.{name}")),
        _ => Some(name.to_owned()),
    }
}

fn uses_registry(f: WireFormat) -> bool {
    matches!(
        f,
        WireFormat::ConfluentId | WireFormat::ConfluentGuid | WireFormat::HeaderId
    )
}

fn needs_schema(f: WireFormat) -> bool {
    uses_registry(f) || matches!(f, WireFormat::SingleObject | WireFormat::AvroFixed)
}

impl DerivedEncoders {
    fn stage(&self) -> Stage {
        match self.side {
            Side::Key => Stage::KeyEncode,
            Side::Value => Stage::ValueEncode,
        }
    }

    /// The output schema for records decoded with `input` (after the
    /// transforms): pinned (checked), derived, or none.
    pub(crate) fn output_schema(
        &self,
        input: Option<&AvroSchema>,
        transforms: &[Box<dyn Transform>],
    ) -> Result<Option<Arc<ResolvedSchema>>, Failure> {
        let stage = self.stage();
        let derived = match input {
            Some(inp) if self.derive => Some(
                derive_output(transforms, inp)
                    .map_err(|m| schema_failure(stage, &self.component, "DeriveSchema", m))?,
            ),
            Some(inp) => Some(inp.clone()),
            None => None,
        };
        match (&self.pinned, derived) {
            (Some(p), Some(d)) if matches!(p.kind(), SchemaKind::Avro { .. }) => {
                let pinned = AvroSchema::compile(Arc::clone(p)).map_err(|e| {
                    schema_failure(stage, &self.component, "ParseSchema", e.to_string())
                })?;
                check_pinned(&d, &pinned).map_err(|reason| {
                    schema_failure(
                        stage,
                        &self.component,
                        "SchemaMismatch",
                        format!("the output schema cannot hold the transformed records: {reason}"),
                    )
                })?;
                Ok(Some(Arc::clone(p)))
            }
            (Some(p), _) => Ok(Some(Arc::clone(p))),
            (None, Some(d)) => Ok(Some(Arc::clone(d.resolved()))),
            (None, None) if needs_schema(self.write) => Err(schema_failure(
                stage,
                &self.component,
                "NoOutputSchema",
                "the input has no schema to derive the output schema from: pin one \
                 (codec schema_file, or subject and version)"
                    .to_owned(),
            )),
            (None, None) => Ok(None),
        }
    }

    /// The subject output records of `topic` are written under.
    pub(crate) fn subject_for(
        &self,
        topic: &str,
        schema: &ResolvedSchema,
    ) -> Result<String, Failure> {
        if let Some(s) = &self.subject {
            return Ok(s.clone());
        }
        let kind = match self.side {
            Side::Key => SubjectKind::Key,
            Side::Value => SubjectKind::Value,
        };
        let name = record_full_name(schema);
        self.strategy
            .subject(topic, kind, name.as_deref())
            .map_err(|e| {
                schema_failure(
                    self.stage(),
                    &self.component,
                    "DeriveSubject",
                    e.to_string(),
                )
            })
    }

    /// An encoder for output records of `topic` whose input was decoded
    /// with `input`.
    pub(crate) fn build(
        &self,
        topic: &str,
        input: Option<&AvroSchema>,
        transforms: &[Box<dyn Transform>],
    ) -> Result<Arc<Codec>, Failure> {
        let stage = self.stage();
        let schema = self.output_schema(input, transforms)?;
        let mut b = Codec::builder(self.side)
            .read(WireFormat::Bytes)
            .write(self.write)
            .json_style(self.json_style);
        if let Some(r) = &self.resolver {
            b = b.resolver(Arc::clone(r));
        }
        if let Some(s) = &schema {
            b = b.output_schema(Arc::clone(s));
        }
        let mut subject = None;
        if uses_registry(self.write)
            && let Some(s) = &schema
        {
            let subj = self.subject_for(topic, s)?;
            self.register(&subj, s).map_err(|mut f| {
                f.subject = Some(subj.clone());
                f
            })?;
            b = b.output_subject(subj.clone());
            subject = Some(subj);
        }
        let codec = b.build().map_err(|e| {
            let mut f = Failure::codec(stage, &self.component, e);
            f.disposition = Disposition::Fatal;
            f.subject = subject;
            f
        })?;
        Ok(Arc::new(codec))
    }

    /// Looks the output schema up under `subject`, registering it when
    /// `auto_register` is on. The registry client caches the id, so the
    /// codec's own registration call later answers from that cache.
    fn register(&self, subject: &str, schema: &ResolvedSchema) -> Result<u32, Failure> {
        let Some(reg) = &self.registry else {
            return Ok(0);
        };
        let schema_type = match schema.kind() {
            SchemaKind::Json => SchemaType::Json,
            _ => SchemaType::Avro,
        };
        let def = SchemaDefinition::new(schema_type, schema.text());
        reg.block_on(reg.client().id_for(subject, &def, self.auto_register))
            .map_err(|e| {
                let (class, disposition) = match e.class() {
                    ErrorClass::Retriable => ("RegistryUnavailable", Disposition::Retriable),
                    ErrorClass::Poison if e.is_not_found() && !self.auto_register => {
                        ("SchemaNotRegistered", Disposition::Poison)
                    }
                    ErrorClass::Poison => ("RegisterSchema", Disposition::Poison),
                    _ if e.status() == Some(409) => ("IncompatibleSchema", Disposition::Poison),
                    _ => ("RegisterSchema", Disposition::Fatal),
                };
                let message = if class == "SchemaNotRegistered" {
                    format!(
                        "the output schema is not registered under subject {subject:?} and auto_register is off: {e}"
                    )
                } else {
                    format!("register the output schema under subject {subject:?}: {e}")
                };
                Failure::new(self.stage(), class, self.component.clone(), disposition, Message(message))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avro(text: &str) -> Arc<ResolvedSchema> {
        Arc::new(ResolvedSchema::avro(text).unwrap())
    }

    #[test]
    fn record_names_include_the_namespace() {
        let s = avro(r#"{"type":"record","name":"Reading","namespace":"health","fields":[]}"#);
        assert_eq!(record_full_name(&s).as_deref(), Some("health.Reading"));
        let s = avro(r#"{"type":"record","name":"a.b.C","namespace":"x","fields":[]}"#);
        assert_eq!(record_full_name(&s).as_deref(), Some("a.b.C"));
        assert_eq!(record_full_name(&avro(r#""string""#)), None);
    }

    fn encoders(pinned: Option<&str>) -> DerivedEncoders {
        DerivedEncoders {
            side: Side::Value,
            write: WireFormat::SingleObject,
            json_style: JsonStyle::Natural,
            resolver: None,
            registry: None,
            strategy: SubjectNameStrategy::TopicRecord,
            subject: None,
            pinned: pinned.map(avro),
            auto_register: true,
            derive: true,
            component: Cow::Borrowed("kbridge.codec.avro-single-object"),
        }
    }

    const V1: &str =
        r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int"}]}"#;

    #[test]
    fn a_pinned_schema_is_checked_against_the_derived_one() {
        let input = AvroSchema::parse(V1).unwrap();
        // a reader with an extra field without default cannot read v1 records
        let strict = r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}"#;
        let e = encoders(Some(strict))
            .output_schema(Some(&input), &[])
            .unwrap_err();
        assert_eq!(e.class, "SchemaMismatch");
        assert_eq!(e.disposition, Disposition::Poison);
        assert!(
            e.message().contains("the output schema cannot hold"),
            "{}",
            e.message()
        );
        let lenient = r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"long"},{"name":"b","type":"string","default":"x"}]}"#;
        let s = encoders(Some(lenient))
            .output_schema(Some(&input), &[])
            .unwrap()
            .unwrap();
        assert_eq!(s.text(), lenient);
        // no pin: the input schema passes through the (empty) transforms
        let s = encoders(None)
            .output_schema(Some(&input), &[])
            .unwrap()
            .unwrap();
        assert_eq!(s.fingerprint(), input.resolved().fingerprint());
        // no input schema and nothing pinned: cannot write Avro
        let e = encoders(None).output_schema(None, &[]).unwrap_err();
        assert_eq!(e.class, "NoOutputSchema");
    }

    #[test]
    fn subjects_follow_the_strategy_unless_pinned() {
        let e = encoders(None);
        let s = avro(V1);
        assert_eq!(e.subject_for("out", &s).unwrap(), "out-n.R");
        let pinned = DerivedEncoders {
            subject: Some("fixed-value".into()),
            ..encoders(None)
        };
        assert_eq!(pinned.subject_for("out", &s).unwrap(), "fixed-value");
        let built = e
            .build("out", Some(&AvroSchema::parse(V1).unwrap()), &[])
            .unwrap();
        let mut buf = Vec::new();
        let v = kbridge_codec::Value::Record(kbridge_codec::Record::from_fields([(
            "a",
            kbridge_codec::Value::Int(7),
        )]));
        built.encode(&v, &mut buf).unwrap();
        assert_eq!(&buf[..2], &kbridge_codec::SINGLE_OBJECT_MAGIC);
        assert_eq!(buf[buf.len() - 1], 14);
    }
}
