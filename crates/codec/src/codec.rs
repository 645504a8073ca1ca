//! [`Codec`]: Kafka key or value bytes (plus headers) to [`Value`]s and back,
//! in every wire format of [`WireFormat`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use crate::avro::{AvroSchema, ReadPlan};
use crate::error::{CodecError, FrameErrorKind};
use crate::json::JsonStyle;
use crate::resolver::{
    RegisteredId, ResolveError, ResolvedSchema, SchemaKind, SchemaRef, SchemaResolver,
};
use crate::value::Value;

mod skim;
pub use skim::{Skimmed, Skimmer};

/// Header carrying a value's schema id (Confluent's header-based ids).
pub const VALUE_SCHEMA_ID_HEADER: &str = "__value_schema_id";
/// Header carrying a key's schema id.
pub const KEY_SCHEMA_ID_HEADER: &str = "__key_schema_id";
/// The two marker bytes of Avro single-object encoding.
pub const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];

/// Whether a codec handles record keys or values (selects the schema-id
/// header name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The record key.
    Key,
    /// The record value.
    Value,
}

impl Side {
    /// The schema-id header for this side.
    pub fn schema_id_header(self) -> &'static str {
        match self {
            Side::Key => KEY_SCHEMA_ID_HEADER,
            Side::Value => VALUE_SCHEMA_ID_HEADER,
        }
    }
}

/// A wire format. On read, the four registry/self-describing Avro formats
/// ([`ConfluentId`](WireFormat::ConfluentId),
/// [`ConfluentGuid`](WireFormat::ConfluentGuid),
/// [`HeaderId`](WireFormat::HeaderId),
/// [`SingleObject`](WireFormat::SingleObject)) are all accepted whichever
/// of them is configured: a schema-id header wins when present, else the
/// first byte decides (0, 1, or `C3 01`). On write, exactly the configured
/// one is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireFormat {
    /// Magic byte 0, 4-byte big-endian schema id, datum.
    ConfluentId,
    /// Magic byte 1, 16-byte schema GUID, datum.
    ConfluentGuid,
    /// Bare datum; the id is in the `__value_schema_id` / `__key_schema_id`
    /// header (written as magic 1 + GUID when the registry has GUIDs, else
    /// magic 0 + id).
    HeaderId,
    /// `C3 01`, 8-byte little-endian CRC-64-AVRO fingerprint, datum.
    SingleObject,
    /// Bare datum under the schema given in configuration.
    AvroFixed,
    /// A JSON document.
    Json,
    /// UTF-8 text.
    String,
    /// Opaque bytes.
    Bytes,
}

impl WireFormat {
    /// Whether this is one of the self-describing Avro formats that read
    /// each other.
    pub fn is_framed_avro(self) -> bool {
        matches!(
            self,
            Self::ConfluentId | Self::ConfluentGuid | Self::HeaderId | Self::SingleObject
        )
    }
}

/// Read access to a record's headers (the pipeline wraps rdkafka's headers
/// in a newtype implementing this).
pub trait HeaderView {
    /// The value of the last header called `name`, if any (a header with a
    /// null value counts as absent).
    fn header(&self, name: &str) -> Option<&[u8]>;
}

/// No headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHeaders;

impl HeaderView for NoHeaders {
    fn header(&self, _: &str) -> Option<&[u8]> {
        None
    }
}

impl HeaderView for [(&str, Option<&[u8]>)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .rev()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| *v)
    }
}

impl HeaderView for [(&str, &[u8])] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

impl HeaderView for [(String, Vec<u8>)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

impl<H: HeaderView + ?Sized> HeaderView for &H {
    fn header(&self, name: &str) -> Option<&[u8]> {
        (**self).header(name)
    }
}

/// A decoded key or value and the schema it was written with.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<'a> {
    /// The value (borrowing from the payload).
    pub value: Value<'a>,
    /// The writer schema's identity; `None` for JSON, string, bytes and
    /// null payloads.
    pub schema: Option<SchemaRef>,
}

/// A header the caller must add to the produced record (header-based ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaHeader {
    /// `__value_schema_id` or `__key_schema_id`.
    pub name: &'static str,
    /// Magic byte + GUID, or magic byte + id.
    pub value: Vec<u8>,
}

/// What [`Codec::encode`] produced besides the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoded {
    /// A header to attach, for [`WireFormat::HeaderId`].
    pub header: Option<SchemaHeader>,
    /// The registered output schema id, for registry formats.
    pub schema_id: Option<u32>,
}

/// Builds a [`Codec`].
#[must_use]
pub struct CodecBuilder {
    side: Side,
    read: WireFormat,
    write: WireFormat,
    resolver: Option<Arc<dyn SchemaResolver>>,
    reader_schema: Option<Arc<ResolvedSchema>>,
    fixed_schema: Option<Arc<ResolvedSchema>>,
    output_schema: Option<Arc<ResolvedSchema>>,
    output_subject: Option<String>,
    known: Vec<Arc<ResolvedSchema>>,
    json_style: JsonStyle,
}

impl std::fmt::Debug for CodecBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodecBuilder")
            .field("side", &self.side)
            .field("read", &self.read)
            .field("write", &self.write)
            .field("output_subject", &self.output_subject)
            .finish_non_exhaustive()
    }
}

impl CodecBuilder {
    /// The format to read (see [`WireFormat`] for what framed Avro accepts).
    pub fn read(mut self, f: WireFormat) -> Self {
        self.read = f;
        self
    }

    /// The format to write.
    pub fn write(mut self, f: WireFormat) -> Self {
        self.write = f;
        self
    }

    /// Where schemas by id / GUID come from and output schemas get their id.
    pub fn resolver(mut self, r: Arc<dyn SchemaResolver>) -> Self {
        self.resolver = Some(r);
        self
    }

    /// Pins the reader schema: data written with any compatible writer
    /// schema is resolved to this one (defaults, promotions, ...).
    pub fn reader_schema(mut self, s: Arc<ResolvedSchema>) -> Self {
        self.reader_schema = Some(s);
        self
    }

    /// The schema of [`WireFormat::AvroFixed`] data (read and write).
    pub fn fixed_schema(mut self, s: Arc<ResolvedSchema>) -> Self {
        self.fixed_schema = Some(s);
        self
    }

    /// The schema values are encoded with (fields matched by name).
    pub fn output_schema(mut self, s: Arc<ResolvedSchema>) -> Self {
        self.output_schema = Some(s);
        self
    }

    /// The subject the output schema is registered under (registry formats).
    pub fn output_subject(mut self, subject: impl Into<String>) -> Self {
        self.output_subject = Some(subject.into());
        self
    }

    /// Another schema single-object payloads may carry (by fingerprint).
    pub fn known_schema(mut self, s: Arc<ResolvedSchema>) -> Self {
        self.known.push(s);
        self
    }

    /// The JSON form used for [`WireFormat::Json`] output.
    pub fn json_style(mut self, style: JsonStyle) -> Self {
        self.json_style = style;
        self
    }

    /// Checks the configuration and compiles the configured schemas.
    pub fn build(self) -> Result<Codec, CodecError> {
        let compile = |s: &Option<Arc<ResolvedSchema>>,
                       what: &str|
         -> Result<Option<AvroSchema>, CodecError> {
            match s {
                Some(s) if matches!(s.kind(), SchemaKind::Avro { .. }) => {
                    Ok(Some(AvroSchema::compile(Arc::clone(s))?))
                }
                Some(_) => Err(CodecError::config(format!("{what} must be an avro schema"))),
                None => Ok(None),
            }
        };
        let reader = compile(&self.reader_schema, "reader schema")?;
        let fixed = compile(&self.fixed_schema, "fixed schema")?;
        let output = match &self.output_schema {
            Some(s) if matches!(s.kind(), SchemaKind::Json) => None,
            _ => compile(&self.output_schema, "output schema")?,
        };
        if self.read.is_framed_avro()
            && matches!(
                self.read,
                WireFormat::ConfluentId | WireFormat::ConfluentGuid | WireFormat::HeaderId
            )
            && self.resolver.is_none()
        {
            return Err(CodecError::config(
                "reading registry-framed data needs a schema resolver",
            ));
        }
        if self.read == WireFormat::AvroFixed && fixed.is_none() {
            return Err(CodecError::config(
                "reading avro-fixed data needs a fixed schema",
            ));
        }
        match self.write {
            WireFormat::ConfluentId | WireFormat::ConfluentGuid | WireFormat::HeaderId => {
                if self.resolver.is_none() || self.output_subject.is_none() {
                    return Err(CodecError::config(
                        "writing registry-framed data needs a resolver and an output subject",
                    ));
                }
                if self.output_schema.is_none() {
                    return Err(CodecError::config(
                        "writing registry-framed data needs an output schema",
                    ));
                }
            }
            WireFormat::SingleObject if output.is_none() => {
                return Err(CodecError::config(
                    "writing single-object data needs an avro output schema",
                ));
            }
            WireFormat::AvroFixed if output.is_none() && fixed.is_none() => {
                return Err(CodecError::config(
                    "writing avro-fixed data needs an output or fixed schema",
                ));
            }
            _ => {}
        }
        let mut by_fp = HashMap::new();
        for s in [&reader, &fixed, &output].into_iter().flatten() {
            by_fp.insert(s.fingerprint(), s.clone());
        }
        for k in &self.known {
            let s = AvroSchema::compile(Arc::clone(k))?;
            by_fp.insert(s.fingerprint(), s);
        }
        Ok(Codec {
            side: self.side,
            read: self.read,
            write: self.write,
            resolver: self.resolver,
            reader,
            fixed,
            output,
            output_json_schema: self
                .output_schema
                .filter(|s| matches!(s.kind(), SchemaKind::Json)),
            output_subject: self.output_subject,
            json_style: self.json_style,
            by_fingerprint: by_fp,
            plans: RwLock::new(HashMap::default()),
            output_id: OnceLock::new(),
        })
    }
}

/// Where the writer schema of a payload is and where its datum starts.
enum Frame {
    Schema(SchemaRef, usize),
}

/// What a plan cache entry holds: the writer schema and the plan reading
/// it (as itself, or as the pinned reader schema). JSON-Schema payloads
/// have no plan.
#[derive(Debug, Clone)]
enum Cached {
    Avro {
        writer: AvroSchema,
        plan: Arc<ReadPlan>,
    },
    Json,
}

/// Decodes and encodes one side (key or value) of Kafka records. Share it
/// between threads (`&self` everywhere); schemas are fetched from the
/// resolver once per id and compiled once.
pub struct Codec {
    side: Side,
    read: WireFormat,
    write: WireFormat,
    resolver: Option<Arc<dyn SchemaResolver>>,
    reader: Option<AvroSchema>,
    fixed: Option<AvroSchema>,
    output: Option<AvroSchema>,
    output_json_schema: Option<Arc<ResolvedSchema>>,
    output_subject: Option<String>,
    json_style: JsonStyle,
    by_fingerprint: HashMap<u64, AvroSchema>,
    plans: RwLock<HashMap<SchemaRef, Cached, BuildHasherDefault<IdHasher>>>,
    output_id: OnceLock<RegisteredId>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("side", &self.side)
            .field("read", &self.read)
            .field("write", &self.write)
            .field("output_subject", &self.output_subject)
            .field("cached_schemas", &self.plans.read().len())
            .finish_non_exhaustive()
    }
}

fn be_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(0..4)?.try_into().ok()?))
}

fn guid(b: &[u8]) -> Option<[u8; 16]> {
    b.get(0..16)?.try_into().ok()
}

impl Codec {
    /// Starts a builder; by default it reads and writes Confluent-framed Avro.
    pub fn builder(side: Side) -> CodecBuilder {
        CodecBuilder {
            side,
            read: WireFormat::ConfluentId,
            write: WireFormat::ConfluentId,
            resolver: None,
            reader_schema: None,
            fixed_schema: None,
            output_schema: None,
            output_subject: None,
            known: Vec::new(),
            json_style: JsonStyle::Natural,
        }
    }

    /// Which side this codec handles.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The compiled output schema, if one is configured.
    pub fn output_schema(&self) -> Option<&AvroSchema> {
        self.output.as_ref().or(self.fixed.as_ref())
    }

    /// Decodes a key or value. `None` (a null payload, e.g. a tombstone)
    /// decodes to [`Value::Null`] with no schema.
    pub fn decode<'a>(
        &self,
        payload: Option<&'a [u8]>,
        headers: &(impl HeaderView + ?Sized),
    ) -> Result<Decoded<'a>, CodecError> {
        let Some(payload) = payload else {
            return Ok(Decoded {
                value: Value::Null,
                schema: None,
            });
        };
        match self.read {
            WireFormat::Bytes => Ok(Decoded {
                value: Value::Bytes(Cow::Borrowed(payload)),
                schema: None,
            }),
            WireFormat::String => match std::str::from_utf8(payload) {
                Ok(s) => Ok(Decoded {
                    value: Value::String(Cow::Borrowed(s)),
                    schema: None,
                }),
                Err(e) => Err(CodecError::DecodeString {
                    offset: e.valid_up_to(),
                }),
            },
            WireFormat::Json => Ok(Decoded {
                value: crate::json::parse_json(payload)?,
                schema: None,
            }),
            WireFormat::AvroFixed => {
                let Some(fixed) = &self.fixed else {
                    return Err(CodecError::config("no fixed schema"));
                };
                let value = match &self.reader {
                    Some(_) => self.with_cached(&SchemaRef::Fixed, |c| match c {
                        Cached::Avro { plan, .. } => plan.decode(payload),
                        Cached::Json => Err(CodecError::config("fixed schema is not avro")),
                    })?,
                    None => fixed.decode(payload)?,
                };
                Ok(Decoded {
                    value,
                    schema: Some(SchemaRef::Fixed),
                })
            }
            _ => {
                let Frame::Schema(sref, start) = self.frame(payload, headers)?;
                let body = payload.get(start..).unwrap_or_default();
                let value = self.with_cached(&sref, |c| match c {
                    Cached::Avro { plan, .. } => plan.decode(body).map_err(|e| e.offset_by(start)),
                    Cached::Json => crate::json::parse_json(body),
                })?;
                Ok(Decoded {
                    value,
                    schema: Some(sref),
                })
            }
        }
    }

    /// The Avro schema a value decoded from `sref` conforms to: the pinned
    /// reader schema if there is one, else the writer schema (`None` for
    /// JSON-Schema payloads). Served from the cache after the first decode.
    pub fn value_schema(&self, sref: &SchemaRef) -> Result<Option<AvroSchema>, CodecError> {
        if let Some(r) = &self.reader {
            return Ok(Some(r.clone()));
        }
        self.with_cached(sref, |c| {
            Ok(match c {
                Cached::Avro { writer, .. } => Some(writer.clone()),
                Cached::Json => None,
            })
        })
    }

    /// Renders a decoded value as JSON (for `kbridge consume`); the Avro
    /// style uses the value's schema for union wrappers.
    pub fn write_json(
        &self,
        decoded: &Decoded<'_>,
        style: JsonStyle,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let schema = match &decoded.schema {
            Some(sref) => self.value_schema(sref)?,
            None => None,
        };
        crate::json::write_json(
            &decoded.value,
            schema.as_ref().map(AvroSchema::graph),
            style,
            out,
        )
    }

    /// Decodes a framed Avro payload into a serde type with
    /// `serde_avro_fast` (strings may borrow from `payload`). The writer
    /// schema is used as is (no reader-schema resolution).
    pub fn decode_typed<'a, T: serde::Deserialize<'a>>(
        &self,
        payload: &'a [u8],
        headers: &(impl HeaderView + ?Sized),
    ) -> Result<T, CodecError> {
        let (schema, start) = match self.read {
            WireFormat::AvroFixed => (
                self.fixed
                    .clone()
                    .ok_or_else(|| CodecError::config("no fixed schema"))?,
                0,
            ),
            f if f.is_framed_avro() => {
                let Frame::Schema(sref, start) = self.frame(payload, headers)?;
                let body = payload.get(start..).unwrap_or_default();
                return self.with_cached(&sref, |c| match c {
                    Cached::Avro { writer, .. } => typed_from_slice(body, writer.typed()?),
                    Cached::Json => Err(CodecError::config("typed decoding needs an avro schema")),
                });
            }
            _ => {
                return Err(CodecError::config(
                    "typed decoding needs an avro read format",
                ));
            }
        };
        let typed = schema.typed()?;
        typed_from_slice(payload.get(start..).unwrap_or_default(), typed)
    }

    /// Encodes `value` in the configured write format into `out` (cleared
    /// first; reuse it across records). Registry formats register the
    /// output schema on first use (retriable if the registry is down).
    pub fn encode(&self, value: &Value<'_>, out: &mut Vec<u8>) -> Result<Encoded, CodecError> {
        out.clear();
        match self.write {
            WireFormat::Bytes => match value {
                Value::Bytes(b) | Value::Fixed(b) => out.extend_from_slice(b),
                Value::String(s) => out.extend_from_slice(s.as_bytes()),
                v => {
                    return Err(CodecError::encode(format!(
                        "bytes output needs a bytes or string value, not {}",
                        v.type_name()
                    )));
                }
            },
            WireFormat::String => match value {
                Value::String(s) | Value::Enum(_, s) => out.extend_from_slice(s.as_bytes()),
                v => {
                    return Err(CodecError::encode(format!(
                        "string output needs a string value, not {}",
                        v.type_name()
                    )));
                }
            },
            WireFormat::Json => crate::json::write_json(
                value,
                self.output.as_ref().map(|s| s.graph()),
                self.json_style,
                out,
            )?,
            _ => {
                let encoded = self.write_header(out)?;
                let schema = self
                    .output_schema()
                    .ok_or_else(|| CodecError::config("no output schema"))?;
                if self.output_json_schema.is_some() {
                    crate::json::write_json(value, None, self.json_style, out)?;
                } else {
                    schema.graph().encode(value, out)?;
                }
                return Ok(encoded);
            }
        }
        Ok(Encoded::default())
    }

    /// Encodes a serde value with `serde_avro_fast` under the output schema,
    /// in the configured (Avro) write format.
    pub fn encode_typed<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<Encoded, CodecError> {
        out.clear();
        if !(self.write.is_framed_avro() || self.write == WireFormat::AvroFixed) {
            return Err(CodecError::config(
                "typed encoding needs an avro write format",
            ));
        }
        let encoded = self.write_header(out)?;
        let schema = self
            .output_schema()
            .ok_or_else(|| CodecError::config("no output schema"))?;
        let typed = schema.typed()?;
        let mut cfg = serde_avro_fast::ser::SerializerConfig::new(typed);
        serde_avro_fast::to_datum(value, &mut *out, &mut cfg).map_err(|e| {
            CodecError::EncodeTyped {
                reason: e.to_string(),
            }
        })?;
        Ok(encoded)
    }

    /// Writes the framing for the configured format (registering the output
    /// schema on first use).
    fn write_header(&self, out: &mut Vec<u8>) -> Result<Encoded, CodecError> {
        match self.write {
            WireFormat::ConfluentId => {
                let id = self.output_id()?;
                out.push(0);
                out.extend_from_slice(&id.id.to_be_bytes());
                Ok(Encoded {
                    header: None,
                    schema_id: Some(id.id),
                })
            }
            WireFormat::ConfluentGuid => {
                let id = self.output_id()?;
                let Some(g) = id.guid else {
                    return Err(CodecError::config(format!(
                        "the registry gave schema id {} no guid",
                        id.id
                    )));
                };
                out.push(1);
                out.extend_from_slice(&g);
                Ok(Encoded {
                    header: None,
                    schema_id: Some(id.id),
                })
            }
            WireFormat::HeaderId => {
                let id = self.output_id()?;
                let value = match id.guid {
                    Some(g) => {
                        let mut v = Vec::with_capacity(17);
                        v.push(1);
                        v.extend_from_slice(&g);
                        v
                    }
                    None => {
                        let mut v = Vec::with_capacity(5);
                        v.push(0);
                        v.extend_from_slice(&id.id.to_be_bytes());
                        v
                    }
                };
                Ok(Encoded {
                    header: Some(SchemaHeader {
                        name: self.side.schema_id_header(),
                        value,
                    }),
                    schema_id: Some(id.id),
                })
            }
            WireFormat::SingleObject => {
                let s = self
                    .output_schema()
                    .ok_or_else(|| CodecError::config("no output schema"))?;
                out.extend_from_slice(&SINGLE_OBJECT_MAGIC);
                out.extend_from_slice(&s.fingerprint().to_le_bytes());
                Ok(Encoded::default())
            }
            _ => Ok(Encoded::default()),
        }
    }

    /// The registered id of the output schema (asked once, then cached).
    pub fn output_id(&self) -> Result<RegisteredId, CodecError> {
        if let Some(id) = self.output_id.get() {
            return Ok(*id);
        }
        let (Some(resolver), Some(subject)) = (&self.resolver, &self.output_subject) else {
            return Err(CodecError::config("no resolver or output subject"));
        };
        let schema = match (&self.output_json_schema, self.output_schema()) {
            (Some(js), _) => Arc::clone(js),
            (None, Some(s)) => Arc::clone(s.resolved()),
            (None, None) => return Err(CodecError::config("no output schema")),
        };
        let id = resolver
            .register_or_lookup(subject, &schema)
            .map_err(|source| CodecError::RegisterSchema {
                subject: subject.clone(),
                source,
            })?;
        Ok(*self.output_id.get_or_init(|| id))
    }

    /// Finds where the schema reference is: header first, then the prefix.
    fn frame(
        &self,
        payload: &[u8],
        headers: &(impl HeaderView + ?Sized),
    ) -> Result<Frame, CodecError> {
        let name = self.side.schema_id_header();
        if let Some(h) = headers.header(name) {
            let r = match h.first() {
                Some(0) if h.len() == 5 => be_u32(&h[1..]).map(SchemaRef::Id),
                Some(1) if h.len() == 17 => guid(&h[1..]).map(SchemaRef::Guid),
                _ => None,
            };
            return match r {
                Some(r) => Ok(Frame::Schema(r, 0)),
                None => Err(CodecError::frame(FrameErrorKind::BadHeader(name))),
            };
        }
        let short = |needed| {
            CodecError::frame(FrameErrorKind::Truncated {
                needed,
                got: payload.len(),
            })
        };
        match payload.first() {
            Some(0) => Ok(Frame::Schema(
                SchemaRef::Id(payload.get(1..5).and_then(be_u32).ok_or_else(|| short(5))?),
                5,
            )),
            Some(1) => Ok(Frame::Schema(
                SchemaRef::Guid(payload.get(1..17).and_then(guid).ok_or_else(|| short(17))?),
                17,
            )),
            Some(0xC3) => {
                if payload.get(1) != Some(&0x01) {
                    return Err(CodecError::frame(FrameErrorKind::UnknownMagic(0xC3)));
                }
                let fp = payload
                    .get(2..10)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_le_bytes)
                    .ok_or_else(|| short(10))?;
                Ok(Frame::Schema(SchemaRef::Fingerprint(fp), 10))
            }
            Some(&b) => Err(CodecError::frame(FrameErrorKind::UnknownMagic(b))),
            None => Err(CodecError::frame(FrameErrorKind::Truncated {
                needed: 1,
                got: 0,
            })),
        }
    }

    /// Runs `f` on the writer schema and plan for `sref`, from the cache
    /// (under its read lock: no reference counting per record) or resolved
    /// and compiled once.
    fn with_cached<T>(
        &self,
        sref: &SchemaRef,
        f: impl FnOnce(&Cached) -> Result<T, CodecError>,
    ) -> Result<T, CodecError> {
        {
            let plans = self.plans.read();
            if let Some(c) = plans.get(sref) {
                return f(c);
            }
        }
        let c = self.compile_for(sref)?;
        let r = f(&c);
        self.plans.write().insert(sref.clone(), c);
        r
    }

    fn compile_for(&self, sref: &SchemaRef) -> Result<Cached, CodecError> {
        let fetched = self.fetch(sref)?;
        let c = match fetched {
            None => Cached::Json,
            Some(writer) => {
                let plan = match &self.reader {
                    Some(reader) if reader.fingerprint() != writer.fingerprint() => {
                        Arc::new(reader.plan_from(&writer, sref.clone())?)
                    }
                    _ => Arc::clone(writer.identity_plan()),
                };
                Cached::Avro { writer, plan }
            }
        };
        Ok(c)
    }

    fn fetch(&self, sref: &SchemaRef) -> Result<Option<AvroSchema>, CodecError> {
        let resolved = match sref {
            SchemaRef::Fixed => return Ok(self.fixed.clone()),
            SchemaRef::Fingerprint(fp) => {
                return match self.by_fingerprint.get(fp) {
                    Some(s) => Ok(Some(s.clone())),
                    None => Err(CodecError::frame(FrameErrorKind::UnknownFingerprint(*fp))),
                };
            }
            // without a resolver (single-object setups) an id is unknown
            SchemaRef::Id(id) => match &self.resolver {
                Some(r) => r.schema_by_id(*id),
                None => Err(ResolveError::NotFound { what: sref.clone() }),
            },
            SchemaRef::Guid(g) => match &self.resolver {
                Some(r) => r.schema_by_guid(g),
                None => Err(ResolveError::NotFound { what: sref.clone() }),
            },
        }
        .map_err(|source| CodecError::ResolveSchema {
            schema: sref.clone(),
            source,
        })?;
        match resolved.kind() {
            SchemaKind::Json => Ok(None),
            // a registry schema we cannot compile fails its records, not the pipeline
            _ => AvroSchema::compile(resolved)
                .map(Some)
                .map_err(|e| CodecError::ResolveSchema {
                    schema: sref.clone(),
                    source: ResolveError::InvalidSchema {
                        reason: e.to_string(),
                    },
                }),
        }
    }
}

/// serde_avro_fast over a slice, with its sequence cap lowered from 10^9
/// to what the payload can hold (items of at least one byte) or
/// [`crate::avro::MAX_EMPTY_ITEMS`]: a few bytes claiming a billion nulls
/// must not spin the CPU.
fn typed_from_slice<'a, T: serde::Deserialize<'a>>(
    body: &'a [u8],
    schema: &serde_avro_fast::Schema,
) -> Result<T, CodecError> {
    let mut cfg = serde_avro_fast::de::DeserializerConfig::new(schema);
    cfg.max_seq_size = body.len().max(crate::avro::MAX_EMPTY_ITEMS);
    let mut state = serde_avro_fast::de::DeserializerState::with_config(
        serde_avro_fast::de::read::SliceRead::new(body),
        cfg,
    );
    T::deserialize(state.deserializer()).map_err(|e| CodecError::DecodeTyped {
        reason: e.to_string(),
    })
}

/// A cheap hasher for the per-record plan lookup (SipHash costs more than
/// the lookup is worth). Keys are schema references that resolved, so the
/// registry bounds them: no hash flooding from payloads.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl IdHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}
