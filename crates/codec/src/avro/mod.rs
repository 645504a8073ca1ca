//! Avro: schemas compiled once into a graph ([`AvroSchema`]), decode plans
//! with schema resolution ([`ReadPlan`]), and the encoder.

pub(crate) mod graph;
pub(crate) mod read;
pub(crate) mod splice;
pub(crate) mod write;

use std::sync::{Arc, OnceLock};

pub use graph::SchemaGraph;
pub use read::{MAX_DEPTH, MAX_EMPTY_ITEMS, ReadPlan};

use crate::error::CodecError;
use crate::json::JsonStyle;
use crate::resolver::{ResolvedSchema, SchemaKind, SchemaRef};
use crate::value::Value;

/// An Avro schema compiled for decoding and encoding. Cheap to clone
/// (shared); compile once per schema, never per message.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    resolved: Arc<ResolvedSchema>,
    graph: Arc<SchemaGraph>,
    identity: OnceLock<Arc<ReadPlan>>,
    typed: OnceLock<Result<Arc<serde_avro_fast::Schema>, String>>,
}

impl AvroSchema {
    /// Compiles a resolved Avro schema.
    pub fn compile(resolved: Arc<ResolvedSchema>) -> Result<AvroSchema, CodecError> {
        let SchemaKind::Avro {
            schema, references, ..
        } = resolved.kind()
        else {
            return Err(CodecError::parse_schema("not an avro schema"));
        };
        let graph = Arc::new(SchemaGraph::compile(schema, references)?);
        Ok(AvroSchema {
            inner: Arc::new(Inner {
                resolved,
                graph,
                identity: OnceLock::new(),
                typed: OnceLock::new(),
            }),
        })
    }

    /// Parses and compiles Avro schema JSON text.
    pub fn parse(text: &str) -> Result<AvroSchema, CodecError> {
        let r = ResolvedSchema::avro(text).map_err(CodecError::parse_schema)?;
        Self::compile(Arc::new(r))
    }

    /// The schema as resolved (text, parsed form, fingerprint).
    pub fn resolved(&self) -> &Arc<ResolvedSchema> {
        &self.inner.resolved
    }

    /// The compiled graph.
    pub fn graph(&self) -> &SchemaGraph {
        &self.inner.graph
    }

    /// CRC-64-AVRO fingerprint of the canonical form.
    pub fn fingerprint(&self) -> u64 {
        self.inner.resolved.fingerprint().unwrap_or(0)
    }

    /// The plan that reads data written with this schema as itself.
    pub fn identity_plan(&self) -> &Arc<ReadPlan> {
        self.inner
            .identity
            .get_or_init(|| Arc::new(ReadPlan::new(Arc::clone(&self.inner.graph))))
    }

    /// A plan that reads data written with `writer` as this schema.
    pub fn plan_from(
        &self,
        writer: &AvroSchema,
        writer_ref: SchemaRef,
    ) -> Result<ReadPlan, CodecError> {
        ReadPlan::resolve(
            Arc::clone(&writer.inner.graph),
            &self.inner.graph,
            writer_ref,
        )
    }

    /// Decodes one bare datum (no framing) written with this schema.
    pub fn decode<'a>(&self, datum: &'a [u8]) -> Result<Value<'a>, CodecError> {
        self.identity_plan().decode(datum)
    }

    /// Appends the datum of `value` to `out` (no framing). On error `out`
    /// is restored to its previous length.
    pub fn encode(&self, value: &Value<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        let len = out.len();
        self.inner
            .graph
            .encode(value, out)
            .inspect_err(|_| out.truncate(len))
    }

    /// Parses JSON text under this schema (see [`crate::json`]).
    pub fn value_from_json(
        &self,
        text: &str,
        style: JsonStyle,
    ) -> Result<Value<'static>, CodecError> {
        crate::json::parse_json_with_schema(text, &self.inner.graph, style)
    }

    /// Renders a value of this schema as JSON into `out`.
    pub fn write_json(
        &self,
        value: &Value<'_>,
        style: JsonStyle,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        crate::json::write_json(value, Some(&self.inner.graph), style, out)
    }

    /// The schema for `serde_avro_fast` (typed structs), built once.
    pub(crate) fn typed(&self) -> Result<&Arc<serde_avro_fast::Schema>, CodecError> {
        self.inner
            .typed
            .get_or_init(|| {
                let SchemaKind::Avro {
                    schema, references, ..
                } = self.inner.resolved.kind()
                else {
                    return Err("not an avro schema".to_string());
                };
                let text = if references.is_empty() {
                    self.inner.resolved.text().to_string()
                } else {
                    let mut s = (**schema).clone();
                    s.denormalize(references).map_err(|e| e.to_string())?;
                    serde_json::to_string(&s).map_err(|e| e.to_string())?
                };
                text.parse::<serde_avro_fast::Schema>()
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(CodecError::parse_schema)
    }
}
