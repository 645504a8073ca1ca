//! The change records the store persists, in the layout of Confluent's
//! `_schemas` topic: a JSON key naming what changed (`keytype` SCHEMA,
//! CONFIG, MODE or NOOP) and a JSON value (`null` = deleted, a tombstone
//! that compaction eventually drops).

use kbridge_registry::compat::CompatibilityLevel;
use kbridge_registry::{Mode, SchemaReference, SchemaType};
use serde::{Deserialize, Serialize};

/// One version of one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaValue {
    pub subject: String,
    pub version: u32,
    pub id: u32,
    #[serde(default)]
    pub schema_type: SchemaType,
    #[serde(default)]
    pub references: Vec<SchemaReference>,
    pub schema: String,
    #[serde(default)]
    pub deleted: bool,
}

/// A change to the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A version registered or soft-deleted (`deleted: true`).
    Schema(SchemaValue),
    /// A version permanently deleted.
    SchemaTombstone { subject: String, version: u32 },
    /// Compatibility level set (`Some`) or removed (`None`); `subject`
    /// `None` is the global level.
    Config {
        subject: Option<String>,
        level: Option<CompatibilityLevel>,
    },
    /// Mode set or removed.
    Mode {
        subject: Option<String>,
        mode: Option<Mode>,
    },
    /// A marker the Kafka store writes at start and waits to read back.
    Noop { marker: String },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "keytype", rename_all = "UPPERCASE")]
enum Key {
    Schema {
        subject: String,
        version: u32,
        #[serde(default)]
        magic: u8,
    },
    Config {
        subject: Option<String>,
        #[serde(default)]
        magic: u8,
    },
    Mode {
        subject: Option<String>,
        #[serde(default)]
        magic: u8,
    },
    Noop {
        #[serde(default)]
        magic: u8,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigValue {
    compatibility_level: CompatibilityLevel,
}

#[derive(Serialize, Deserialize)]
struct ModeValue {
    mode: Mode,
}

#[derive(Serialize, Deserialize)]
struct NoopValue {
    marker: String,
}

/// Why a record read back could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeRecordError(String);

impl Record {
    /// Encodes to (key, value) bytes; `None` value is a tombstone.
    pub fn encode(&self) -> (Vec<u8>, Option<Vec<u8>>) {
        // Serializing these plain structs to JSON cannot fail.
        fn json<T: Serialize>(v: &T) -> Vec<u8> {
            serde_json::to_vec(v).unwrap_or_default()
        }
        match self {
            Record::Schema(v) => (
                json(&Key::Schema {
                    subject: v.subject.clone(),
                    version: v.version,
                    magic: 1,
                }),
                Some(json(v)),
            ),
            Record::SchemaTombstone { subject, version } => (
                json(&Key::Schema {
                    subject: subject.clone(),
                    version: *version,
                    magic: 1,
                }),
                None,
            ),
            Record::Config { subject, level } => (
                json(&Key::Config {
                    subject: subject.clone(),
                    magic: 0,
                }),
                level.map(|l| {
                    json(&ConfigValue {
                        compatibility_level: l,
                    })
                }),
            ),
            Record::Mode { subject, mode } => (
                json(&Key::Mode {
                    subject: subject.clone(),
                    magic: 0,
                }),
                mode.map(|m| json(&ModeValue { mode: m })),
            ),
            Record::Noop { marker } => (
                json(&Key::Noop { magic: 0 }),
                Some(json(&NoopValue {
                    marker: marker.clone(),
                })),
            ),
        }
    }

    /// Decodes a record read from the topic. Unknown key types give
    /// `Ok(None)` (written by a newer registry: skipped).
    pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<Record>, DecodeRecordError> {
        let raw: serde_json::Value = serde_json::from_slice(key)
            .map_err(|e| DecodeRecordError(format!("key is not json: {e}")))?;
        let keytype = raw
            .get("keytype")
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
        if !matches!(keytype.as_str(), "SCHEMA" | "CONFIG" | "MODE" | "NOOP") {
            return Ok(None);
        }
        let key: Key = serde_json::from_value(raw)
            .map_err(|e| DecodeRecordError(format!("bad {keytype} key: {e}")))?;
        let bad_value =
            |e: serde_json::Error| DecodeRecordError(format!("bad {keytype} value: {e}"));
        Ok(Some(match key {
            Key::Schema {
                subject, version, ..
            } => match value {
                None => Record::SchemaTombstone { subject, version },
                Some(v) => Record::Schema(serde_json::from_slice(v).map_err(bad_value)?),
            },
            Key::Config { subject, .. } => Record::Config {
                subject,
                level: match value {
                    None => None,
                    Some(v) => Some(
                        serde_json::from_slice::<ConfigValue>(v)
                            .map_err(bad_value)?
                            .compatibility_level,
                    ),
                },
            },
            Key::Mode { subject, .. } => Record::Mode {
                subject,
                mode: match value {
                    None => None,
                    Some(v) => Some(
                        serde_json::from_slice::<ModeValue>(v)
                            .map_err(bad_value)?
                            .mode,
                    ),
                },
            },
            Key::Noop { .. } => Record::Noop {
                marker: match value {
                    None => String::new(),
                    Some(v) => {
                        serde_json::from_slice::<NoopValue>(v)
                            .map_err(bad_value)?
                            .marker
                    }
                },
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(r: Record) {
        let (k, v) = r.encode();
        assert_eq!(Record::decode(&k, v.as_deref()).unwrap(), Some(r));
    }

    #[test]
    fn every_record_round_trips() {
        round_trip(Record::Schema(SchemaValue {
            subject: "a/b:c".into(),
            version: 3,
            id: 9,
            schema_type: SchemaType::Json,
            references: vec![SchemaReference {
                name: "n".into(),
                subject: "s".into(),
                version: 1,
            }],
            schema: "{}".into(),
            deleted: true,
        }));
        round_trip(Record::SchemaTombstone {
            subject: "s".into(),
            version: 1,
        });
        round_trip(Record::Config {
            subject: None,
            level: Some(CompatibilityLevel::FullTransitive),
        });
        round_trip(Record::Config {
            subject: Some("s".into()),
            level: None,
        });
        round_trip(Record::Mode {
            subject: None,
            mode: Some(Mode::Import),
        });
        round_trip(Record::Noop {
            marker: "m-1".into(),
        });
    }

    #[test]
    fn schema_key_uses_confluents_layout() {
        let (k, _) = Record::SchemaTombstone {
            subject: "s".into(),
            version: 2,
        }
        .encode();
        assert_eq!(
            String::from_utf8(k).unwrap(),
            r#"{"keytype":"SCHEMA","subject":"s","version":2,"magic":1}"#
        );
    }

    #[test]
    fn unknown_and_broken_records() {
        assert_eq!(
            Record::decode(br#"{"keytype":"DELETE_SUBJECT","subject":"s"}"#, None).unwrap(),
            None
        );
        assert!(Record::decode(b"not json", None).is_err());
        assert!(
            Record::decode(
                br#"{"keytype":"SCHEMA","subject":"s","version":1}"#,
                Some(b"{")
            )
            .is_err()
        );
    }
}
