//! `kbridge-codec` — Kafka bytes to records and back, with no I/O of its own.
//!
//! Owns the wire formats ([`WireFormat`]: Confluent id prefix, GUID prefix,
//! header-based schema ids, Avro single-object encoding, fixed-schema Avro,
//! plain JSON, UTF-8, raw bytes), the record value model transforms work on
//! ([`Value`]), Avro schema resolution on read, logical types, JSON <-> Avro
//! ([`json`]), and typed serde access ([`Codec::decode_typed`]).
//!
//! Must not perform network or file I/O, and depends on no other kbridge
//! crate: schemas arrive through the [`SchemaResolver`] trait (the registry
//! client implements it; [`MemoryResolver`] serves tests). No feature flags.
//!
//! # Value model
//! A [`Value`] is one enum for Avro data and JSON documents alike. Records
//! and JSON objects are [`Record`]s (ordered [`Fields`], looked up by name);
//! maps are [`Value::Map`]; unions carry no wrapper (the encoder picks the
//! branch from the value's type, and a record's `name` when several record
//! branches exist), so decode → encode under the same schema is byte-exact.
//! Strings and bytes are `Cow`s borrowing the input; field names and enum
//! symbols borrow interned schema names, so decoding allocates one `Vec`
//! per record, array and map, and nothing per field. Logical types have
//! their own variants, exact ([`Decimal`] keeps the unscaled integer).
//! Edit by name or by [`Path`] (`device.battery_pct`, `tags["tz"]`,
//! `items[0]`): [`Value::get_path`], [`Value::set_path`],
//! [`Value::remove_path`], [`Value::rename_path`].
//!
//! # Codec
//! A [`Codec`] handles one side (key or value). Decoding takes the payload
//! and a [`HeaderView`] and returns a [`Decoded`] (value + writer
//! [`SchemaRef`]); encoding writes the configured format into a reused
//! buffer and returns an [`Encoded`] (a header to attach for header-based
//! ids). Schemas are fetched once per id and compiled once into a
//! [`ReadPlan`] (with resolution to a pinned reader schema, if set).
//! Errors are one [`CodecError`] with [`CodecError::disposition`].
//!
//! ```
//! use std::sync::Arc;
//! use kbridge_codec::{Codec, MemoryResolver, NoHeaders, ResolvedSchema, Side, Value, WireFormat, Path};
//!
//! let schema = r#"{"type":"record","name":"Reading","fields":[
//!     {"name":"unit","type":"string"},
//!     {"name":"value","type":"double"},
//!     {"name":"battery","type":["null","int"],"default":null}]}"#;
//! let resolver = Arc::new(MemoryResolver::new());
//! resolver.insert(7, None, ResolvedSchema::avro(schema)?);
//!
//! let codec = Codec::builder(Side::Value)
//!     .resolver(resolver.clone())
//!     .read(WireFormat::ConfluentId)
//!     .write(WireFormat::ConfluentId)
//!     .output_schema(Arc::new(ResolvedSchema::avro(schema)?))
//!     .output_subject("readings-value")
//!     .build()?;
//!
//! // magic 0, id 7, then the datum: "bpm", 72.0, branch 1 (int) 80
//! let mut payload = vec![0, 0, 0, 0, 7, 6, b'b', b'p', b'm'];
//! payload.extend_from_slice(&72.0f64.to_le_bytes());
//! payload.extend_from_slice(&[2, 160, 1]);
//!
//! let mut decoded = codec.decode(Some(&payload), &NoHeaders)?;
//! assert_eq!(decoded.value.get("unit").and_then(Value::as_str), Some("bpm"));
//! decoded.value.set_path(&Path::parse("unit")?, Value::from("BPM"))?;
//! decoded.value.set_path(&Path::parse("battery")?, Value::Null)?;
//!
//! let mut out = Vec::new();
//! let encoded = codec.encode(&decoded.value, &mut out)?;
//! let id = encoded.schema_id.unwrap(); // registered under "readings-value"
//! assert_eq!(&out[..5], &[0, (id >> 24) as u8, (id >> 16) as u8, (id >> 8) as u8, id as u8]);
//! assert_eq!(&out[5..9], &[6, b'B', b'P', b'M']);
//! assert_eq!(out[out.len() - 1], 0); // union branch 0: null
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod avro;
mod codec;
mod error;
mod intern;
pub mod json;
mod resolver;
mod value;

pub use avro::{AvroSchema, ReadPlan, SchemaGraph};
pub use codec::{
    Codec, CodecBuilder, Decoded, Encoded, HeaderView, KEY_SCHEMA_ID_HEADER, NoHeaders,
    SINGLE_OBJECT_MAGIC, SchemaHeader, Side, Skimmed, Skimmer, VALUE_SCHEMA_ID_HEADER, WireFormat,
};
pub use error::{CodecError, DatumErrorKind, Disposition, FieldPath, FrameErrorKind, PathSegment};
pub use json::JsonStyle;
pub use resolver::{
    MemoryResolver, RegisteredId, ResolveError, ResolvedSchema, SchemaKind, SchemaRef,
    SchemaResolver,
};
pub use value::{Decimal, Duration, Field, Fields, Path, Record, Value};
