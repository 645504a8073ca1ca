//! `kbridge-transforms` — the built-in transforms users declare in the
//! pipeline file, their conditions, and the output schema they imply.
//!
//! Owns: every built-in transform as an implementation of the pipeline's
//! [`Transform`] trait, CEL conditions and computed values (the `cel`
//! crate: compiled once at build time, evaluated on lazy views of the
//! record), the parser from the configuration's raw `transforms` tables
//! ([`build`]), and output-schema derivation ([`derive_output_schema`],
//! [`check_output_schema`]). Depends only on the codec's value model, the
//! configuration's raw tables and the pipeline's trait; must not use the
//! source, the sink or the registry, nor do I/O (reading an environment
//! variable named by `salt_env` at build time aside). The pipeline cannot
//! depend on this crate (it would be a cycle): the binary (or a library
//! user) builds the transforms and hands them to the pipeline, which
//! derives output schemas through [`Transform::output_schema`] itself.
//! No feature flags.
//!
//! # Transforms
//! | `type` | what | schema change |
//! |---|---|---|
//! | `filter` | `keep` / `drop` records by a condition | — |
//! | `insert_field` | static `value`, `from` metadata (topic, partition, offset, timestamp, processing_time, key) or an `expression` | adds the field |
//! | `rename_fields` | `renames = { "path" = "new_name" }` | renames |
//! | `drop_fields` / `keep_fields` | nested paths | removes |
//! | `mask_fields` | fixed mask or salted SHA-256, type kept | — |
//! | `cast` | string, int, long, float, double, boolean, timestamps | changes types |
//! | `flatten` | `device.model` → `device_model` | flattens |
//! | `set_key` | key from a field, fields, or an expression | — (value schema) |
//! | `set_headers` / `drop_headers` | templates, expressions; names or `prefix*` | — |
//! | `route` | topic from a template, a regex, a timestamp pattern, an expression | — |
//! | `set_timestamp` | record timestamp (event time) from a field | — |
//!
//! Every transform takes `name` (for messages, metrics and the DLQ) and
//! `when`, a CEL condition: records for which it is false pass unchanged
//! (the derived schema then holds both shapes). `docs/transforms.md` has
//! every key with examples.
//!
//! Each transform names the top-level value fields it reads or edits
//! ([`Transform::value_fields`]: its paths' first fields, `value.f` in its
//! expressions and `when`), so the pipeline can decode only those;
//! `keep_fields`, `flatten` and any expression using `value` other than as
//! `value.f` answer `None` (the whole value).
//!
//! # Failures
//! A transform that cannot handle a record (missing field, impossible cast,
//! expression error, invalid topic) returns a poison
//! [`TransformError`](kbridge_pipeline::TransformError)
//! whose message names the transform by position, name and type, with the
//! field path: ``transforms[2] `mask-email` (mask_fields): missing field
//! (field `user.email`)``. Nothing panics and nothing is dropped silently.
//! Configuration problems are all reported at once by [`build`], each with
//! the offending key and the closest valid key.
//!
//! # Expressions
//! CEL ([`cel`](https://github.com/cel-rust/cel-rust)) with the strings
//! extension. Variables: `value`, `key`, `headers`, `topic`, `partition`,
//! `offset`, `timestamp`, `now`. Records are lazy views: an expression
//! reading two fields converts two fields, not the record.
//!
//! ```
//! use kbridge_codec::{Record, Value};
//! use kbridge_pipeline::{PipelineRecord, SourceMeta};
//!
//! let tables: Vec<kbridge_config::TransformTable> = serde_json::from_str(r#"[
//!     {"type": "filter", "drop": "value.value < 0.0"},
//!     {"type": "insert_field", "field": "source_topic", "from": "topic"},
//!     {"type": "route", "topic": "readings-{unit}"}
//! ]"#)?;
//! let mut transforms = kbridge_transforms::build(&tables)?;
//!
//! let source = SourceMeta {
//!     topic: "readings",
//!     partition: 0,
//!     offset: 7,
//!     timestamp: Some(1_767_225_600_000),
//!     timestamp_type: kbridge_source::TimestampType::CreateTime,
//! };
//! let value = Value::Record(Record::from_fields([
//!     ("value", Value::Double(72.0)),
//!     ("unit", Value::from("bpm")),
//! ]));
//! let mut out = Vec::new();
//! kbridge_transforms::apply_all(&mut transforms, PipelineRecord::new(value, source), &mut out)
//!     .map_err(|(_, e)| e)?;
//! assert_eq!(out.len(), 1);
//! assert_eq!(out[0].topic.as_deref(), Some("readings-bpm"));
//! assert_eq!(out[0].value.get("source_topic").and_then(Value::as_str), Some("readings"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod builtin;
mod error;
mod expr;
mod fast;
mod intern;
mod path;
mod schema;
mod spec;
mod template;

use kbridge_codec::{AvroSchema, SchemaRef};
use kbridge_config::TransformTable;
use kbridge_pipeline::Transform;

pub use builtin::TYPES;
pub use error::{Label, Problem, TransformsError};
/// Runs one record through transforms in order (the pipeline's own
/// chain runner, re-exported for library users and `kbridge test`).
pub use kbridge_pipeline::transform::apply_all;

/// Builds the transforms of a `transforms` list, in order. Every problem of
/// every table is reported together.
pub fn build(tables: &[TransformTable]) -> Result<Vec<Box<dyn Transform>>, TransformsError> {
    let mut problems = Vec::new();
    let mut out = Vec::with_capacity(tables.len());
    for (index, table) in tables.iter().enumerate() {
        if let Some(t) = builtin::build_one(index, table, &mut problems) {
            out.push(t);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(TransformsError::BuildTransforms { problems })
    }
}

/// The output value schema of `transforms` for records of `input`.
pub fn derive_output_schema(
    transforms: &[Box<dyn Transform>],
    input: &AvroSchema,
) -> Result<AvroSchema, TransformsError> {
    let mut schema = input.clone();
    for (i, t) in transforms.iter().enumerate() {
        schema = t.output_schema(&schema).map_err(|source| {
            let named = source.message.starts_with(&format!("transforms[{i}]"));
            TransformsError::DeriveSchema {
                transform: if named {
                    String::new()
                } else {
                    format!("transforms[{i}] `{}`: ", t.name())
                },
                source,
            }
        })?;
    }
    Ok(schema)
}

/// Derives the output schema and, with a pinned output schema, checks that
/// the pinned schema can hold every record the transforms produce (Avro
/// schema resolution: the derived schema as writer, the pinned one as
/// reader). Returns the schema to encode with: the pinned one, else the
/// derived one. The pipeline calls it at start-up, before consuming.
pub fn check_output_schema(
    transforms: &[Box<dyn Transform>],
    input: &AvroSchema,
    pinned: Option<&AvroSchema>,
) -> Result<AvroSchema, TransformsError> {
    let derived = derive_output_schema(transforms, input)?;
    let Some(pinned) = pinned else {
        return Ok(derived);
    };
    let canonical = |s: &AvroSchema| {
        s.resolved()
            .canonical_form()
            .unwrap_or(s.resolved().text())
            .to_string()
    };
    match pinned.plan_from(&derived, SchemaRef::Fixed) {
        Ok(_) => Ok(pinned.clone()),
        Err(e) => {
            let reason = match &e {
                kbridge_codec::CodecError::ResolveReader { path, reason, .. } => {
                    format!("{reason} at {path}")
                }
                other => other.to_string(),
            };
            Err(TransformsError::CheckOutputSchema {
                reason,
                derived: canonical(&derived),
                pinned: canonical(pinned),
            })
        }
    }
}
