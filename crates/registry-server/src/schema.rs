//! Validation and canonical text of incoming schemas.
//!
//! - AVRO: parsed with `apache-avro` (references resolved recursively from
//!   the registry's own subjects); stored as compact JSON (whitespace
//!   dropped, key order kept, like Confluent's canonical string), or, with
//!   `normalize=true`, as `apache-avro`'s serialization of the parsed schema
//!   (e.g. `{"type":"string"}` becomes `"string"`). Compatibility enforced.
//! - JSON: must be a JSON object or boolean; stored as compact JSON.
//!   Compatibility is not checked (always compatible).
//! - PROTOBUF: must be non-empty text; stored trimmed, not parsed.
//!   Compatibility is not checked (always compatible).

use crate::error::ApiError;
use crate::state::{Identity, State, StoredSchema};
use kbridge_registry::{AvroSchema, SchemaReference, SchemaType, parse_avro};
use serde::Deserialize;
use std::collections::HashSet;

/// Body of register, lookup and compatibility requests. Kept loose so that
/// a bad `schemaType` is a 42201 rather than a deserialization error.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaBody {
    #[serde(default)]
    pub schema: Option<String>,
    #[serde(default)]
    pub schema_type: Option<String>,
    #[serde(default)]
    pub references: Option<Vec<SchemaReference>>,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// A validated schema.
#[derive(Debug)]
pub struct Checked {
    pub identity: Identity,
    pub avro: Option<AvroSchema>,
}

/// Validates `body` and computes the text to store.
pub fn check(state: &State, body: &SchemaBody, normalize: bool) -> Result<Checked, ApiError> {
    let raw = body.schema.as_deref().unwrap_or_default();
    if raw.trim().is_empty() {
        return Err(ApiError::invalid_schema("Empty schema"));
    }
    let schema_type = match body.schema_type.as_deref() {
        None | Some("") => SchemaType::Avro,
        Some(t) => t
            .parse::<SchemaType>()
            .map_err(|_| ApiError::invalid_schema(format!("Invalid schema type {t}")))?,
    };
    let references = body.references.clone().unwrap_or_default();
    match schema_type {
        SchemaType::Avro => {
            let value: serde_json::Value = serde_json::from_str(raw)
                .map_err(|e| ApiError::invalid_schema(format!("not valid JSON: {e}")))?;
            let deps = dependencies(state, &references)?;
            let avro = parse_avro(raw, &deps).map_err(ApiError::invalid_schema)?;
            let text = if normalize {
                serde_json::to_string(avro.schema()).map_err(ApiError::invalid_schema)?
            } else {
                value.to_string()
            };
            Ok(Checked {
                identity: Identity {
                    schema_type,
                    schema: text,
                    references,
                },
                avro: Some(avro),
            })
        }
        SchemaType::Json => {
            let value: serde_json::Value = serde_json::from_str(raw)
                .map_err(|e| ApiError::invalid_schema(format!("not valid JSON: {e}")))?;
            if !(value.is_object() || value.is_boolean()) {
                return Err(ApiError::invalid_schema(
                    "a JSON schema must be a JSON object or a boolean",
                ));
            }
            for r in &references {
                stored(state, r)?;
            }
            Ok(Checked {
                identity: Identity {
                    schema_type,
                    schema: value.to_string(),
                    references,
                },
                avro: None,
            })
        }
        SchemaType::Protobuf => {
            for r in &references {
                stored(state, r)?;
            }
            Ok(Checked {
                identity: Identity {
                    schema_type,
                    schema: raw.trim().to_string(),
                    references,
                },
                avro: None,
            })
        }
    }
}

/// Parses a schema already stored (for compatibility checks).
pub fn stored_avro(state: &State, schema: &StoredSchema) -> Result<AvroSchema, ApiError> {
    let deps = dependencies(state, &schema.references)?;
    parse_avro(&schema.schema, &deps)
        .map_err(|e| ApiError::store(format!("stored schema does not parse: {e}")))
}

fn stored<'a>(state: &'a State, r: &SchemaReference) -> Result<&'a StoredSchema, ApiError> {
    state
        .subjects
        .get(&r.subject)
        .and_then(|vs| vs.get(&r.version))
        .and_then(|e| state.schemas.get(&e.id))
        .ok_or_else(|| {
            ApiError::invalid_schema(format!(
                "reference {:?} to subject '{}' version {} not found",
                r.name, r.subject, r.version
            ))
        })
}

/// Schema texts of every reference, recursively, dependencies first.
fn dependencies(state: &State, references: &[SchemaReference]) -> Result<Vec<String>, ApiError> {
    fn walk(
        state: &State,
        refs: &[SchemaReference],
        seen: &mut HashSet<(String, u32)>,
        out: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), ApiError> {
        if depth > 32 {
            return Err(ApiError::invalid_schema(
                "references nested more than 32 deep",
            ));
        }
        for r in refs {
            if !seen.insert((r.subject.clone(), r.version)) {
                continue;
            }
            let s = stored(state, r)?;
            if s.schema_type != SchemaType::Avro {
                return Err(ApiError::invalid_schema(format!(
                    "reference {:?} points to a {} schema",
                    r.name, s.schema_type
                )));
            }
            walk(state, &s.references, seen, out, depth + 1)?;
            out.push(s.schema.clone());
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(state, references, &mut HashSet::new(), &mut out, 0)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(schema: &str, t: Option<&str>) -> SchemaBody {
        SchemaBody {
            schema: Some(schema.to_string()),
            schema_type: t.map(str::to_string),
            references: None,
            id: None,
            version: None,
        }
    }

    #[test]
    fn avro_is_compacted_or_normalized() {
        let s = State::default();
        let raw = r#"{ "type" : "record", "name": "R", "fields": [ {"name": "a", "type": {"type": "string"}} ] }"#;
        let c = check(&s, &body(raw, None), false).unwrap();
        assert_eq!(
            c.identity.schema,
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"string"}}]}"#
        );
        let n = check(&s, &body(raw, None), true).unwrap();
        assert!(
            n.identity.schema.contains(r#""type":"string""#),
            "{}",
            n.identity.schema
        );
        assert!(
            !n.identity.schema.contains(r#"{"type":"string"}"#),
            "{}",
            n.identity.schema
        );
    }

    #[test]
    fn invalid_inputs_are_42201() {
        let s = State::default();
        for (schema, t, expect) in [
            ("", None, "Empty schema"),
            ("{\"type\":", None, "not valid JSON"),
            ("{\"type\":\"record\"}", None, "Invalid schema"),
            ("\"string\"", Some("XML"), "Invalid schema type XML"),
            ("[1]", Some("JSON"), "JSON object or a boolean"),
        ] {
            let err = check(&s, &body(schema, t), false).unwrap_err();
            assert_eq!(err.error_code, 42201, "{schema}");
            assert!(err.message.contains(expect), "{schema}: {}", err.message);
        }
        let mut b = body(
            "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"x\",\"type\":\"B\"}]}",
            None,
        );
        b.references = Some(vec![SchemaReference {
            name: "B".into(),
            subject: "b".into(),
            version: 1,
        }]);
        let err = check(&s, &b, false).unwrap_err();
        assert!(
            err.message.contains("subject 'b' version 1 not found"),
            "{}",
            err.message
        );
    }
}
