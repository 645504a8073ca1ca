//! `[codec.key]` and `[codec.value]`: wire formats and output schemas.

use crate::serde_util::string_enum;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;

/// `[codec]`: one format section for record keys, one for values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodecConfig {
    /// `[codec.key]`; defaults to raw `bytes`.
    pub key: FormatConfig,
    /// `[codec.value]`; defaults to `avro-confluent`.
    pub value: FormatConfig,
}

impl Default for CodecConfig {
    fn default() -> Self {
        CodecConfig {
            key: FormatConfig {
                format: Format::Bytes,
                ..FormatConfig::default()
            },
            value: FormatConfig::default(),
        }
    }
}

string_enum! {
    /// A wire format.
    pub enum Format {
        /// Confluent wire format: magic byte 0, 4-byte schema id, Avro binary.
        AvroConfluent = "avro-confluent",
        /// Confluent wire format with a 16-byte schema GUID (magic byte 1).
        AvroConfluentGuid = "avro-confluent-guid",
        /// Avro binary; schema id in a record header.
        AvroHeader = "avro-header",
        /// Avro binary with one schema from `schema_file`, no framing.
        AvroFixedSchema = "avro-fixed-schema",
        /// Avro single-object encoding (`C3 01` + 8-byte fingerprint).
        AvroSingleObject = "avro-single-object",
        /// Confluent wire format with a JSON Schema.
        JsonSchemaConfluent = "json-schema-confluent",
        /// Plain JSON, no schema.
        Json = "json",
        /// UTF-8 text.
        String = "string",
        /// Raw bytes, passed through.
        Bytes = "bytes",
    }
    default = AvroConfluent;
}

impl Format {
    /// Avro in any framing.
    pub fn is_avro(self) -> bool {
        matches!(
            self,
            Format::AvroConfluent
                | Format::AvroConfluentGuid
                | Format::AvroHeader
                | Format::AvroFixedSchema
                | Format::AvroSingleObject
        )
    }

    /// Schemas come from (and are registered in) the schema registry.
    pub fn uses_registry(self) -> bool {
        matches!(
            self,
            Format::AvroConfluent
                | Format::AvroConfluentGuid
                | Format::AvroHeader
                | Format::JsonSchemaConfluent
        )
    }
}

string_enum! {
    /// How the output subject is named (Confluent's subject name strategies).
    pub enum SubjectNameStrategy {
        /// `<topic>-key` / `<topic>-value`.
        Topic = "topic",
        /// The record's full name.
        Record = "record",
        /// `<topic>-<record full name>`.
        TopicRecord = "topic_record",
    }
    default = Topic;
}

/// A schema version: a number or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaVersion {
    /// The subject's latest version (cached for `schema_registry.latest_cache_ttl`).
    Latest,
    /// One registered version (1-based).
    Number(u32),
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaVersion::Latest => f.write_str("latest"),
            SchemaVersion::Number(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SchemaVersion::Latest => serializer.serialize_str("latest"),
            SchemaVersion::Number(n) => serializer.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VersionVisitor;
        fn number<E: de::Error>(v: i128) -> Result<SchemaVersion, E> {
            u32::try_from(v)
                .ok()
                .filter(|n| *n >= 1)
                .map(SchemaVersion::Number)
                .ok_or_else(|| {
                    E::custom(format!("invalid schema version `{v}`: versions start at 1"))
                })
        }
        impl Visitor<'_> for VersionVisitor {
            type Value = SchemaVersion;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version number or `latest`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SchemaVersion, E> {
                let v = v.trim();
                if v.eq_ignore_ascii_case("latest") {
                    return Ok(SchemaVersion::Latest);
                }
                match v.parse::<i128>() {
                    Ok(n) => number(n),
                    Err(_) => Err(E::custom(format!(
                        "invalid schema version `{v}`: expected a version number or `latest`"
                    ))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SchemaVersion, E> {
                number(i128::from(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SchemaVersion, E> {
                number(i128::from(v))
            }
        }
        deserializer.deserialize_any(VersionVisitor)
    }
}

/// `[codec.key]` / `[codec.value]`: how one side of a record is read and written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FormatConfig {
    /// Format of the input records.
    pub format: Format,
    /// Format of the output records; unset: same as `format`.
    pub output_format: Option<Format>,
    /// Avro schema file (`.avsc`): the writer schema for `avro-fixed-schema`,
    /// or the output schema when the input carries none.
    pub schema_file: Option<PathBuf>,
    /// Reader schema file (`.avsc`): decoded records are resolved to it.
    pub reader_schema_file: Option<PathBuf>,
    /// How the output subject is named when `subject` is unset.
    pub subject_name_strategy: SubjectNameStrategy,
    /// Register output schemas that the subject does not have yet.
    pub auto_register: bool,
    /// Pinned output subject (instead of the strategy).
    pub subject: Option<String>,
    /// Pinned output schema version of `subject` (a number or `latest`).
    pub version: Option<SchemaVersion>,
}

impl Default for FormatConfig {
    fn default() -> Self {
        FormatConfig {
            format: Format::default(),
            output_format: None,
            schema_file: None,
            reader_schema_file: None,
            subject_name_strategy: SubjectNameStrategy::default(),
            auto_register: true,
            subject: None,
            version: None,
        }
    }
}

impl FormatConfig {
    /// The output format (`output_format`, else `format`).
    pub fn output(&self) -> Format {
        self.output_format.unwrap_or(self.format)
    }
}
