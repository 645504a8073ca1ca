//! The registry's in-memory model, built only by applying [`Record`]s, so
//! that a live change and a replayed one take the same path.

use crate::record::{Record, SchemaValue};
use kbridge_registry::compat::CompatibilityLevel;
use kbridge_registry::{Mode, SchemaReference, SchemaType};
use std::collections::{BTreeMap, HashMap};
use tracing::warn;

/// What makes two registrations "the same schema" (and so the same id).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    pub schema_type: SchemaType,
    pub schema: String,
    pub references: Vec<SchemaReference>,
}

#[derive(Debug, Clone)]
pub struct StoredSchema {
    pub schema_type: SchemaType,
    pub schema: String,
    pub references: Vec<SchemaReference>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionEntry {
    pub id: u32,
    pub deleted: bool,
}

#[derive(Debug, Default)]
pub struct State {
    /// subject → version → entry (soft-deleted versions included).
    pub subjects: BTreeMap<String, BTreeMap<u32, VersionEntry>>,
    /// id → schema, while some version (deleted or not) uses it.
    pub schemas: BTreeMap<u32, StoredSchema>,
    /// Same schema → same id, across subjects and re-registrations.
    pub ids: HashMap<Identity, u32>,
    /// Highest id ever seen (ids are never reused).
    pub max_id: u32,
    pub global_level: Option<CompatibilityLevel>,
    pub subject_levels: HashMap<String, CompatibilityLevel>,
    pub global_mode: Option<Mode>,
    pub subject_modes: HashMap<String, Mode>,
}

impl State {
    /// Applies one change.
    pub fn apply(&mut self, record: &Record) {
        match record {
            Record::Schema(v) => self.apply_schema(v),
            Record::SchemaTombstone { subject, version } => {
                let Some(versions) = self.subjects.get_mut(subject) else {
                    return;
                };
                let removed = versions.remove(version);
                if versions.is_empty() {
                    self.subjects.remove(subject);
                }
                if let Some(entry) = removed
                    && !self.id_in_use(entry.id)
                {
                    self.schemas.remove(&entry.id);
                }
            }
            Record::Config { subject, level } => match (subject, level) {
                (None, l) => self.global_level = *l,
                (Some(s), Some(l)) => {
                    self.subject_levels.insert(s.clone(), *l);
                }
                (Some(s), None) => {
                    self.subject_levels.remove(s);
                }
            },
            Record::Mode { subject, mode } => match (subject, mode) {
                (None, m) => self.global_mode = *m,
                (Some(s), Some(m)) => {
                    self.subject_modes.insert(s.clone(), *m);
                }
                (Some(s), None) => {
                    self.subject_modes.remove(s);
                }
            },
            Record::Noop { .. } => {}
        }
    }

    fn apply_schema(&mut self, v: &SchemaValue) {
        let identity = Identity {
            schema_type: v.schema_type,
            schema: v.schema.clone(),
            references: v.references.clone(),
        };
        if let Some(existing) = self.schemas.get(&v.id)
            && (existing.schema != v.schema || existing.schema_type != v.schema_type)
        {
            warn!(id = v.id, subject = %v.subject, version = v.version, "schema id reused for a different schema; keeping the first");
        } else {
            self.schemas.entry(v.id).or_insert_with(|| StoredSchema {
                schema_type: v.schema_type,
                schema: v.schema.clone(),
                references: v.references.clone(),
            });
        }
        self.ids.entry(identity).or_insert(v.id);
        self.max_id = self.max_id.max(v.id);
        self.subjects.entry(v.subject.clone()).or_default().insert(
            v.version,
            VersionEntry {
                id: v.id,
                deleted: v.deleted,
            },
        );
    }

    fn id_in_use(&self, id: u32) -> bool {
        self.subjects
            .values()
            .any(|versions| versions.values().any(|e| e.id == id))
    }

    /// Versions of `subject`, soft-deleted ones only when `deleted`.
    pub fn versions(&self, subject: &str, deleted: bool) -> Vec<(u32, VersionEntry)> {
        self.subjects
            .get(subject)
            .map(|vs| {
                vs.iter()
                    .filter(|(_, e)| deleted || !e.deleted)
                    .map(|(v, e)| (*v, *e))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The compatibility level in force for `subject`.
    pub fn level(&self, subject: &str) -> CompatibilityLevel {
        self.subject_levels
            .get(subject)
            .copied()
            .or(self.global_level)
            .unwrap_or_default()
    }

    /// The mode in force for `subject` (or the registry when `None`).
    pub fn mode(&self, subject: Option<&str>) -> Mode {
        subject
            .and_then(|s| self.subject_modes.get(s).copied())
            .or(self.global_mode)
            .unwrap_or_default()
    }

    /// Ids of schemas with a live version that references `subject`/`version`.
    pub fn referenced_by(&self, subject: &str, version: u32) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .subjects
            .values()
            .flat_map(|vs| vs.values())
            .filter(|e| !e.deleted)
            .map(|e| e.id)
            .filter(|id| {
                self.schemas.get(id).is_some_and(|s| {
                    s.references
                        .iter()
                        .any(|r| r.subject == subject && r.version == version)
                })
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(subject: &str, version: u32, id: u32, schema: &str, deleted: bool) -> Record {
        Record::Schema(SchemaValue {
            subject: subject.into(),
            version,
            id,
            schema_type: SchemaType::Avro,
            references: vec![],
            schema: schema.into(),
            deleted,
        })
    }

    #[test]
    fn tombstones_drop_versions_and_unused_schemas_but_not_the_max_id() {
        let mut s = State::default();
        s.apply(&reg("a", 1, 1, "\"int\"", false));
        s.apply(&reg("b", 1, 1, "\"int\"", false));
        s.apply(&reg("a", 2, 2, "\"long\"", false));
        s.apply(&reg("a", 2, 2, "\"long\"", true));
        assert_eq!(s.versions("a", false).len(), 1);
        assert_eq!(s.versions("a", true).len(), 2);
        s.apply(&Record::SchemaTombstone {
            subject: "a".into(),
            version: 2,
        });
        assert!(!s.schemas.contains_key(&2));
        assert_eq!(s.max_id, 2);
        s.apply(&Record::SchemaTombstone {
            subject: "a".into(),
            version: 1,
        });
        assert!(s.schemas.contains_key(&1), "still used by subject b");
        assert!(!s.subjects.contains_key("a"));
    }

    #[test]
    fn levels_and_modes_fall_back_to_global_then_default() {
        let mut s = State::default();
        assert_eq!(s.level("x"), CompatibilityLevel::Backward);
        s.apply(&Record::Config {
            subject: None,
            level: Some(CompatibilityLevel::Full),
        });
        s.apply(&Record::Config {
            subject: Some("x".into()),
            level: Some(CompatibilityLevel::None),
        });
        assert_eq!(s.level("x"), CompatibilityLevel::None);
        assert_eq!(s.level("y"), CompatibilityLevel::Full);
        s.apply(&Record::Mode {
            subject: Some("x".into()),
            mode: Some(Mode::Readonly),
        });
        assert_eq!(s.mode(Some("x")), Mode::Readonly);
        assert_eq!(s.mode(Some("y")), Mode::Readwrite);
    }
}
