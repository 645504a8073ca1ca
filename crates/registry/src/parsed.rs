//! [`ParsedSchema`]: a registered schema parsed once, for the codecs.

use crate::types::{SchemaReference, SchemaType};
use apache_avro::Schema;

/// A parsed Avro schema with the named types its references bring in.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    schema: Schema,
    referenced: Vec<Schema>,
    resolved: Schema,
}

impl AvroSchema {
    /// The schema as written: names defined by references appear as
    /// `Schema::Ref`, to be looked up in [`AvroSchema::referenced`].
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The named types defined by the references (dependencies first).
    pub fn referenced(&self) -> &[Schema] {
        &self.referenced
    }

    /// The schema with every reference inlined: self-contained, ready for a
    /// datum reader/writer or the compatibility engine. Same as
    /// [`AvroSchema::schema`] when there are no references.
    pub fn resolved(&self) -> &Schema {
        &self.resolved
    }

    /// Full name of the top-level named type (`None` for primitives,
    /// arrays, maps and unions).
    pub fn full_name(&self) -> Option<String> {
        self.resolved.name().map(|n| n.fullname(None))
    }
}

/// Parses an Avro schema whose references' schema texts are `dependencies`
/// (in any order; they may depend on each other).
pub fn parse_avro(
    raw: &str,
    dependencies: &[impl AsRef<str>],
) -> Result<AvroSchema, apache_avro::Error> {
    if dependencies.is_empty() {
        let schema = Schema::parse_str(raw)?;
        return Ok(AvroSchema {
            resolved: schema.clone(),
            schema,
            referenced: Vec::new(),
        });
    }
    let (schema, referenced) = Schema::parse_str_with_list(raw, dependencies)?;
    let mut resolved = schema.clone();
    resolved.denormalize(&referenced)?;
    Ok(AvroSchema {
        schema,
        referenced,
        resolved,
    })
}

/// A schema the registry knows by id, parsed once and cached by
/// [`RegistryClient::schema`](crate::RegistryClient::schema) for the life of
/// the process (ids are immutable).
///
/// - [`id`](Self::id), [`schema_type`](Self::schema_type), the registry's
///   [`raw`](Self::raw) text and its [`references`](Self::references);
/// - for AVRO, [`avro`](Self::avro): the parsed schema with every reference
///   resolved recursively (fetched from the subjects/versions they name);
/// - for JSON, [`json`](Self::json): the schema document as a JSON value;
/// - PROTOBUF is carried as text only.
#[derive(Debug, Clone)]
pub struct ParsedSchema {
    id: u32,
    schema_type: SchemaType,
    raw: String,
    references: Vec<SchemaReference>,
    avro: Option<AvroSchema>,
    json: Option<serde_json::Value>,
}

impl ParsedSchema {
    pub(crate) fn new(
        id: u32,
        schema_type: SchemaType,
        raw: String,
        references: Vec<SchemaReference>,
        avro: Option<AvroSchema>,
        json: Option<serde_json::Value>,
    ) -> Self {
        ParsedSchema {
            id,
            schema_type,
            raw,
            references,
            avro,
            json,
        }
    }

    /// The registry id (the 4 bytes after the magic byte in the wire format).
    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn schema_type(&self) -> SchemaType {
        self.schema_type
    }

    /// The schema text exactly as the registry returned it.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    pub fn references(&self) -> &[SchemaReference] {
        &self.references
    }

    /// The parsed Avro schema (`Some` iff the type is AVRO).
    pub fn avro(&self) -> Option<&AvroSchema> {
        self.avro.as_ref()
    }

    /// The JSON Schema document (`Some` iff the type is JSON).
    pub fn json(&self) -> Option<&serde_json::Value> {
        self.json.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_inlined_in_the_resolved_schema() {
        let address = r#"{"type":"record","name":"Address","namespace":"acme","fields":[{"name":"city","type":"string"}]}"#;
        let customer = r#"{"type":"record","name":"Customer","namespace":"acme","fields":[{"name":"home","type":"acme.Address"}]}"#;
        let parsed = parse_avro(customer, &[address]).unwrap();
        assert_eq!(parsed.full_name().as_deref(), Some("acme.Customer"));
        assert_eq!(parsed.referenced().len(), 1);
        let canonical = parsed.resolved().canonical_form();
        assert!(
            canonical.contains(r#""name":"acme.Address""#),
            "{canonical}"
        );
        assert!(parse_avro(customer, &[] as &[&str]).is_err());
    }
}
