//! Data types of the Confluent Schema Registry REST API, shared by the
//! client and the embedded registry. JSON field names follow Confluent's
//! (`schemaType`, `compatibilityLevel`, `is_compatible`, ...).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Kind of schema. Absent `schemaType` in the API means AVRO.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchemaType {
    #[default]
    Avro,
    Json,
    Protobuf,
}

impl SchemaType {
    /// The spelling used by the API: `AVRO`, `JSON`, `PROTOBUF`.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }

    /// True for AVRO (the API omits `schemaType` for it).
    pub fn is_avro(&self) -> bool {
        *self == SchemaType::Avro
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SchemaType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "JSON" => Ok(SchemaType::Json),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            other => Err(format!(
                "unknown schema type {other:?} (expected AVRO, JSON or PROTOBUF)"
            )),
        }
    }
}

/// A reference from one schema to a named type registered under another
/// subject: `name` is the Avro full name (or the import path for Protobuf).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: u32,
}

/// A schema as sent to `register`, `lookup` and the compatibility
/// endpoints, and as returned by `GET /schemas/ids/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaDefinition {
    pub schema: String,
    #[serde(default, skip_serializing_if = "SchemaType::is_avro")]
    pub schema_type: SchemaType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
}

impl SchemaDefinition {
    /// An Avro schema without references.
    pub fn avro(schema: impl Into<String>) -> Self {
        Self::new(SchemaType::Avro, schema)
    }

    /// A schema of any type without references.
    pub fn new(schema_type: SchemaType, schema: impl Into<String>) -> Self {
        SchemaDefinition {
            schema: schema.into(),
            schema_type,
            references: Vec::new(),
        }
    }

    /// Adds references (builder style).
    pub fn with_references(mut self, references: Vec<SchemaReference>) -> Self {
        self.references = references;
        self
    }
}

/// One version of a subject (`GET /subjects/{s}/versions/{v}`, lookup).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredSchema {
    pub subject: String,
    pub version: u32,
    pub id: u32,
    #[serde(default, skip_serializing_if = "SchemaType::is_avro")]
    pub schema_type: SchemaType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
    pub schema: String,
    /// Present (and true) only for soft-deleted versions fetched with
    /// `deleted=true` on registries that report it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl RegisteredSchema {
    /// The schema text, type and references, without subject and version.
    pub fn definition(&self) -> SchemaDefinition {
        SchemaDefinition {
            schema: self.schema.clone(),
            schema_type: self.schema_type,
            references: self.references.clone(),
        }
    }
}

/// A (subject, version) pair (`GET /schemas/ids/{id}/versions`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SubjectVersion {
    pub subject: String,
    pub version: u32,
}

/// Answer of the compatibility endpoints. `messages` holds the reasons when
/// the request asked for `verbose=true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompatibilityResult {
    pub is_compatible: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
}

/// Registry or subject mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    #[default]
    Readwrite,
    Readonly,
    ReadonlyOverride,
    Import,
}

impl Mode {
    /// The spelling used by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Readwrite => "READWRITE",
            Mode::Readonly => "READONLY",
            Mode::ReadonlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "READWRITE" => Ok(Mode::Readwrite),
            "READONLY" => Ok(Mode::Readonly),
            "READONLY_OVERRIDE" => Ok(Mode::ReadonlyOverride),
            "IMPORT" => Ok(Mode::Import),
            other => Err(format!(
                "unknown mode {other:?} (expected READWRITE, READONLY, READONLY_OVERRIDE or IMPORT)"
            )),
        }
    }
}

/// A version number or `latest` (the API also accepts `-1` for latest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionSelector {
    Latest,
    Number(u32),
}

impl fmt::Display for VersionSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSelector::Latest => f.write_str("latest"),
            VersionSelector::Number(n) => write!(f, "{n}"),
        }
    }
}

impl From<u32> for VersionSelector {
    fn from(n: u32) -> Self {
        VersionSelector::Number(n)
    }
}

impl FromStr for VersionSelector {
    type Err = String;
    /// Accepts `latest`, `-1` and 1..=2^31-1, like Confluent's registry.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("latest") || s == "-1" {
            return Ok(VersionSelector::Latest);
        }
        match s.parse::<i64>() {
            Ok(n) if (1..=i64::from(i32::MAX)).contains(&n) => Ok(VersionSelector::Number(
                u32::try_from(n).map_err(|e| e.to_string())?,
            )),
            _ => Err(format!(
                "The specified version '{s}' is not a valid version id. \
                 Allowed values are between [1, 2^31-1] and the string \"latest\""
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avro_type_is_omitted_and_defaulted() {
        let def = SchemaDefinition::avro("\"string\"");
        assert_eq!(
            serde_json::to_string(&def).unwrap(),
            r#"{"schema":"\"string\""}"#
        );
        let back: SchemaDefinition = serde_json::from_str(r#"{"schema":"\"int\""}"#).unwrap();
        assert_eq!(back.schema_type, SchemaType::Avro);
        let json = SchemaDefinition::new(SchemaType::Json, "{}");
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            r#"{"schema":"{}","schemaType":"JSON"}"#
        );
    }

    #[test]
    fn version_selector_parses_like_confluent() {
        assert_eq!(
            "latest".parse::<VersionSelector>(),
            Ok(VersionSelector::Latest)
        );
        assert_eq!("-1".parse::<VersionSelector>(), Ok(VersionSelector::Latest));
        assert_eq!(
            "7".parse::<VersionSelector>(),
            Ok(VersionSelector::Number(7))
        );
        assert!(
            "0".parse::<VersionSelector>()
                .unwrap_err()
                .contains("'0' is not a valid version")
        );
        assert!("abc".parse::<VersionSelector>().is_err());
        assert!("2147483648".parse::<VersionSelector>().is_err());
    }

    #[test]
    fn mode_and_type_round_trip() {
        assert_eq!("readonly".parse::<Mode>(), Ok(Mode::Readonly));
        assert_eq!(
            serde_json::to_string(&Mode::ReadonlyOverride).unwrap(),
            "\"READONLY_OVERRIDE\""
        );
        assert_eq!("protobuf".parse::<SchemaType>(), Ok(SchemaType::Protobuf));
        assert!("XML".parse::<SchemaType>().is_err());
    }
}
