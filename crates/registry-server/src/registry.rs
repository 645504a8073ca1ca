//! [`Registry`]: the REST API's semantics over the in-memory [`State`],
//! with every change appended to the store before it is applied.

use crate::error::{ApiError, ServerError};
use crate::record::{Record, SchemaValue};
use crate::schema::{self, SchemaBody};
use crate::state::{Identity, State, StoredSchema};
use crate::store::{Store, StoreConfig};
use kbridge_registry::compat::{self, CompatibilityLevel};
use kbridge_registry::error_code as code;
use kbridge_registry::{
    CompatibilityResult, Mode, RegisteredSchema, SchemaDefinition, SubjectVersion, VersionSelector,
};
use parking_lot::RwLock;

/// The embedded registry. Reads take a short lock on the state; writes are
/// serialized, appended to the store, then applied.
#[derive(Debug)]
pub struct Registry {
    state: RwLock<State>,
    write: tokio::sync::Mutex<()>,
    store: Store,
}

fn stored_identity(s: &StoredSchema) -> Identity {
    Identity {
        schema_type: s.schema_type,
        schema: s.schema.clone(),
        references: s.references.clone(),
    }
}

fn parse_version(raw: &str) -> Result<VersionSelector, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid_version(raw))
}

impl Registry {
    /// Opens the store and replays it (the Kafka store waits until it has
    /// read back everything written before it started).
    pub async fn open(config: &StoreConfig) -> Result<Registry, ServerError> {
        let (store, records) = Store::open(config).await?;
        let mut state = State::default();
        for r in &records {
            state.apply(r);
        }
        Ok(Registry {
            state: RwLock::new(state),
            write: tokio::sync::Mutex::new(()),
            store,
        })
    }

    /// An in-memory registry.
    pub fn in_memory() -> Registry {
        Registry {
            state: RwLock::new(State::default()),
            write: tokio::sync::Mutex::new(()),
            store: Store::Memory,
        }
    }

    /// Flushes the store (graceful shutdown).
    pub fn flush(&self) {
        self.store.flush();
    }

    async fn commit(&self, records: Vec<Record>) -> Result<(), ApiError> {
        if records.is_empty() {
            return Ok(());
        }
        self.store.append(&records).await.map_err(ApiError::store)?;
        let mut state = self.state.write();
        for r in &records {
            state.apply(r);
        }
        Ok(())
    }

    // ----- reads ---------------------------------------------------------

    /// `GET /subjects`.
    pub fn subjects(&self, deleted: bool, prefix: Option<&str>) -> Vec<String> {
        let st = self.state.read();
        st.subjects
            .iter()
            .filter(|(s, vs)| {
                prefix.is_none_or(|p| s.starts_with(p))
                    && vs.values().any(|e| deleted || !e.deleted)
            })
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// `GET /subjects/{s}/versions`.
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<u32>, ApiError> {
        let st = self.state.read();
        let versions: Vec<u32> = st
            .versions(subject, deleted)
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        if versions.is_empty() {
            return Err(ApiError::subject_not_found(subject));
        }
        Ok(versions)
    }

    /// `GET /subjects/{s}/versions/{v}`.
    pub fn version(
        &self,
        subject: &str,
        version: &str,
        deleted: bool,
    ) -> Result<RegisteredSchema, ApiError> {
        let selector = parse_version(version)?;
        let st = self.state.read();
        let versions = st.versions(subject, deleted);
        if versions.is_empty() {
            return Err(ApiError::subject_not_found(subject));
        }
        let found = match selector {
            VersionSelector::Latest => versions.last().copied(),
            VersionSelector::Number(n) => versions.iter().find(|(v, _)| *v == n).copied(),
        };
        let (v, entry) = found.ok_or_else(|| ApiError::version_not_found(version))?;
        let schema = st.schemas.get(&entry.id).ok_or_else(|| {
            ApiError::store(format!(
                "schema id {} of subject '{subject}' is missing",
                entry.id
            ))
        })?;
        Ok(RegisteredSchema {
            subject: subject.to_string(),
            version: v,
            id: entry.id,
            schema_type: schema.schema_type,
            references: schema.references.clone(),
            schema: schema.schema.clone(),
            deleted: entry.deleted,
        })
    }

    /// `GET /subjects/{s}/versions/{v}/referencedby`.
    pub fn referenced_by(&self, subject: &str, version: &str) -> Result<Vec<u32>, ApiError> {
        let v = self.version(subject, version, false)?;
        Ok(self.state.read().referenced_by(subject, v.version))
    }

    /// `GET /schemas/ids/{id}`.
    pub fn schema_by_id(&self, id: u32) -> Result<SchemaDefinition, ApiError> {
        let st = self.state.read();
        let s = st
            .schemas
            .get(&id)
            .ok_or_else(|| ApiError::schema_not_found(Some(id)))?;
        Ok(SchemaDefinition {
            schema: s.schema.clone(),
            schema_type: s.schema_type,
            references: s.references.clone(),
        })
    }

    /// `GET /schemas/ids/{id}/versions`.
    pub fn versions_for_id(&self, id: u32, deleted: bool) -> Result<Vec<SubjectVersion>, ApiError> {
        let st = self.state.read();
        if !st.schemas.contains_key(&id) {
            return Err(ApiError::schema_not_found(Some(id)));
        }
        Ok(st
            .subjects
            .iter()
            .flat_map(|(s, vs)| {
                vs.iter()
                    .filter(move |(_, e)| e.id == id && (deleted || !e.deleted))
                    .map(move |(v, _)| SubjectVersion {
                        subject: s.clone(),
                        version: *v,
                    })
            })
            .collect())
    }

    /// `GET /schemas/ids/{id}/subjects`.
    pub fn subjects_for_id(&self, id: u32, deleted: bool) -> Result<Vec<String>, ApiError> {
        let mut subjects: Vec<String> = self
            .versions_for_id(id, deleted)?
            .into_iter()
            .map(|sv| sv.subject)
            .collect();
        subjects.dedup();
        Ok(subjects)
    }

    /// `GET /config[/{s}]`.
    pub fn config(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<CompatibilityLevel, ApiError> {
        let st = self.state.read();
        match subject {
            None => Ok(st.global_level.unwrap_or_default()),
            Some(s) => match st.subject_levels.get(s) {
                Some(l) => Ok(*l),
                None if default_to_global => Ok(st.global_level.unwrap_or_default()),
                None => Err(ApiError::new(
                    code::SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
                    format!("Subject '{s}' does not have subject-level compatibility configured"),
                )),
            },
        }
    }

    /// `GET /mode[/{s}]`.
    pub fn mode(&self, subject: Option<&str>, default_to_global: bool) -> Result<Mode, ApiError> {
        let st = self.state.read();
        match subject {
            None => Ok(st.global_mode.unwrap_or_default()),
            Some(s) => match st.subject_modes.get(s) {
                Some(m) => Ok(*m),
                None if default_to_global => Ok(st.global_mode.unwrap_or_default()),
                None => Err(ApiError::new(
                    code::SUBJECT_MODE_NOT_CONFIGURED,
                    format!("Subject '{s}' does not have subject-level mode configured"),
                )),
            },
        }
    }

    /// `POST /subjects/{s}`: the (newest) version of `subject` holding the schema.
    pub fn lookup(
        &self,
        subject: &str,
        body: &SchemaBody,
        normalize: bool,
        deleted: bool,
    ) -> Result<RegisteredSchema, ApiError> {
        let st = self.state.read();
        let versions = st.versions(subject, deleted);
        if versions.is_empty() {
            return Err(ApiError::subject_not_found(subject));
        }
        let checked = schema::check(&st, body, normalize)?;
        versions
            .iter()
            .rev()
            .find_map(|(v, e)| {
                let s = st.schemas.get(&e.id)?;
                (stored_identity(s) == checked.identity).then(|| RegisteredSchema {
                    subject: subject.to_string(),
                    version: *v,
                    id: e.id,
                    schema_type: s.schema_type,
                    references: s.references.clone(),
                    schema: s.schema.clone(),
                    deleted: e.deleted,
                })
            })
            .ok_or_else(|| ApiError::schema_not_found(None))
    }

    /// `POST /compatibility/subjects/{s}/versions[/{v}]`.
    pub fn test_compatibility(
        &self,
        subject: &str,
        version: Option<&str>,
        body: &SchemaBody,
        normalize: bool,
        verbose: bool,
    ) -> Result<CompatibilityResult, ApiError> {
        let selector = version.map(parse_version).transpose()?;
        let st = self.state.read();
        let checked = schema::check(&st, body, normalize)?;
        let live = st.versions(subject, false);
        let against: Vec<(u32, u32)> = match selector {
            None => live.iter().map(|(v, e)| (*v, e.id)).collect(),
            Some(sel) => {
                if live.is_empty() {
                    return Err(ApiError::subject_not_found(subject));
                }
                let found = match sel {
                    VersionSelector::Latest => live.last(),
                    VersionSelector::Number(n) => live.iter().find(|(v, _)| *v == n),
                };
                let (v, e) = found
                    .ok_or_else(|| ApiError::version_not_found(version.unwrap_or_default()))?;
                vec![(*v, e.id)]
            }
        };
        let level = st.level(subject);
        let problems = incompatibilities(&st, level, &checked, &against)?;
        Ok(CompatibilityResult {
            is_compatible: problems.is_empty(),
            messages: if verbose { problems } else { Vec::new() },
        })
    }

    // ----- writes --------------------------------------------------------

    /// `POST /subjects/{s}/versions`: the id of the schema (registered now,
    /// or already under the subject).
    pub async fn register(
        &self,
        subject: &str,
        body: &SchemaBody,
        normalize: bool,
    ) -> Result<u32, ApiError> {
        if subject.is_empty() || subject.chars().any(char::is_control) {
            return Err(ApiError::new(
                code::INVALID_SUBJECT,
                format!("Invalid subject {subject:?}"),
            ));
        }
        let _writer = self.write.lock().await;
        let (id, records) = {
            let st = self.state.read();
            let mode = st.mode(Some(subject));
            if matches!(mode, Mode::Readonly | Mode::ReadonlyOverride) {
                return Err(ApiError::not_permitted(format!(
                    "Subject {subject} is in read-only mode"
                )));
            }
            let import = mode == Mode::Import;
            let wanted_id = body.id.filter(|i| *i > 0);
            let wanted_version = body.version.filter(|v| *v > 0);
            if !import && (wanted_id.is_some() || wanted_version.is_some()) {
                return Err(ApiError::not_permitted(
                    "Setting the schema id or version is only permitted in IMPORT mode",
                ));
            }
            let wanted_id = wanted_id
                .map(|i| {
                    u32::try_from(i).map_err(|_| ApiError::unprocessable(format!("Invalid id {i}")))
                })
                .transpose()?;
            let wanted_version = wanted_version
                .map(|v| u32::try_from(v).map_err(|_| ApiError::invalid_version(&v.to_string())))
                .transpose()?;
            let checked = schema::check(&st, body, normalize)?;
            let live = st.versions(subject, false);

            // Idempotent: the schema is already a live version of the subject.
            if let Some((_, e)) = live.iter().find(|(_, e)| {
                st.schemas
                    .get(&e.id)
                    .is_some_and(|s| stored_identity(s) == checked.identity)
            }) {
                if let Some(w) = wanted_id
                    && w != e.id
                {
                    return Err(ApiError::new(
                        code::ID_DOES_NOT_MATCH,
                        format!(
                            "Schema already registered with id {} instead of input id {w}",
                            e.id
                        ),
                    ));
                }
                return Ok(e.id);
            }

            let id = match wanted_id {
                Some(w) => {
                    if let Some(existing) = st.schemas.get(&w)
                        && stored_identity(existing) != checked.identity
                    {
                        return Err(ApiError::new(
                            code::ID_DOES_NOT_MATCH,
                            format!("Overwrite new schema with id {w} is not permitted."),
                        ));
                    }
                    w
                }
                None => st
                    .ids
                    .get(&checked.identity)
                    .copied()
                    .unwrap_or(st.max_id.saturating_add(1)),
            };

            if !import {
                let against: Vec<(u32, u32)> = live.iter().map(|(v, e)| (*v, e.id)).collect();
                let problems = incompatibilities(&st, st.level(subject), &checked, &against)?;
                if !problems.is_empty() {
                    return Err(ApiError::new(
                        code::INCOMPATIBLE_SCHEMA,
                        format!(
                            "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                            problems.join(", ")
                        ),
                    ));
                }
            }

            let all = st.versions(subject, true);
            let version = match wanted_version {
                Some(v) => {
                    if all.iter().any(|(existing, _)| *existing == v) {
                        return Err(ApiError::not_permitted(format!(
                            "Version {v} already exists for subject '{subject}'"
                        )));
                    }
                    v
                }
                None => all.last().map(|(v, _)| v + 1).unwrap_or(1),
            };
            let record = Record::Schema(SchemaValue {
                subject: subject.to_string(),
                version,
                id,
                schema_type: checked.identity.schema_type,
                references: checked.identity.references.clone(),
                schema: checked.identity.schema.clone(),
                deleted: false,
            });
            (id, vec![record])
        };
        self.commit(records).await?;
        Ok(id)
    }

    fn check_writable(st: &State, subject: &str) -> Result<(), ApiError> {
        if matches!(
            st.mode(Some(subject)),
            Mode::Readonly | Mode::ReadonlyOverride
        ) {
            return Err(ApiError::not_permitted(format!(
                "Subject {subject} is in read-only mode"
            )));
        }
        Ok(())
    }

    /// `DELETE /subjects/{s}`: soft (marks every live version deleted) or
    /// permanent (only after a soft delete). Returns the versions.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<u32>, ApiError> {
        let _writer = self.write.lock().await;
        let (versions, records) = {
            let st = self.state.read();
            let all = st.versions(subject, true);
            if all.is_empty() {
                return Err(ApiError::subject_not_found(subject));
            }
            Self::check_writable(&st, subject)?;
            let live: Vec<_> = all.iter().filter(|(_, e)| !e.deleted).copied().collect();
            if permanent {
                if !live.is_empty() {
                    return Err(ApiError::new(
                        code::SUBJECT_NOT_SOFT_DELETED,
                        format!(
                            "Subject '{subject}' was not deleted first before being permanently deleted"
                        ),
                    ));
                }
                let versions: Vec<u32> = all.iter().map(|(v, _)| *v).collect();
                let records = versions
                    .iter()
                    .map(|v| Record::SchemaTombstone {
                        subject: subject.to_string(),
                        version: *v,
                    })
                    .collect();
                (versions, records)
            } else {
                if live.is_empty() {
                    return Err(ApiError::new(
                        code::SUBJECT_SOFT_DELETED,
                        format!(
                            "Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
                        ),
                    ));
                }
                for (v, _) in &live {
                    Self::check_unreferenced(&st, subject, *v)?;
                }
                let records = live
                    .iter()
                    .map(|(v, e)| Self::soft_deleted(&st, subject, *v, e.id))
                    .collect::<Result<Vec<_>, _>>()?;
                (live.iter().map(|(v, _)| *v).collect(), records)
            }
        };
        self.commit(records).await?;
        Ok(versions)
    }

    fn check_unreferenced(st: &State, subject: &str, version: u32) -> Result<(), ApiError> {
        let by = st.referenced_by(subject, version);
        if by.is_empty() {
            Ok(())
        } else {
            Err(ApiError::new(
                code::REFERENCE_EXISTS,
                format!(
                    "One or more references exist to the schema {{subject={subject},version={version}}}: ids {by:?}"
                ),
            ))
        }
    }

    fn soft_deleted(st: &State, subject: &str, version: u32, id: u32) -> Result<Record, ApiError> {
        let s = st
            .schemas
            .get(&id)
            .ok_or_else(|| ApiError::store(format!("schema id {id} is missing")))?;
        Ok(Record::Schema(SchemaValue {
            subject: subject.to_string(),
            version,
            id,
            schema_type: s.schema_type,
            references: s.references.clone(),
            schema: s.schema.clone(),
            deleted: true,
        }))
    }

    /// `DELETE /subjects/{s}/versions/{v}`.
    pub async fn delete_version(
        &self,
        subject: &str,
        version: &str,
        permanent: bool,
    ) -> Result<u32, ApiError> {
        let selector = parse_version(version)?;
        let _writer = self.write.lock().await;
        let (v, records) = {
            let st = self.state.read();
            let all = st.versions(subject, true);
            if all.is_empty() {
                return Err(ApiError::subject_not_found(subject));
            }
            Self::check_writable(&st, subject)?;
            let found = match selector {
                VersionSelector::Latest if permanent => all.last(),
                VersionSelector::Latest => all.iter().rev().find(|(_, e)| !e.deleted),
                VersionSelector::Number(n) => all.iter().find(|(v, _)| *v == n),
            };
            let (v, entry) = *found.ok_or_else(|| ApiError::version_not_found(version))?;
            if permanent {
                if !entry.deleted {
                    return Err(ApiError::new(
                        code::VERSION_NOT_SOFT_DELETED,
                        format!(
                            "Subject '{subject}' Version {v} was not deleted first before being permanently deleted"
                        ),
                    ));
                }
                (
                    v,
                    vec![Record::SchemaTombstone {
                        subject: subject.to_string(),
                        version: v,
                    }],
                )
            } else {
                if entry.deleted {
                    return Err(ApiError::new(
                        code::VERSION_SOFT_DELETED,
                        format!(
                            "Subject '{subject}' Version {v} was soft deleted.Set permanent=true to delete permanently"
                        ),
                    ));
                }
                Self::check_unreferenced(&st, subject, v)?;
                (v, vec![Self::soft_deleted(&st, subject, v, entry.id)?])
            }
        };
        self.commit(records).await?;
        Ok(v)
    }

    /// `PUT /config[/{s}]`.
    pub async fn set_config(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<CompatibilityLevel, ApiError> {
        let _writer = self.write.lock().await;
        self.commit(vec![Record::Config {
            subject: subject.map(str::to_string),
            level: Some(level),
        }])
        .await?;
        Ok(level)
    }

    /// `DELETE /config[/{s}]`: the level removed (global: back to BACKWARD).
    pub async fn delete_config(
        &self,
        subject: Option<&str>,
    ) -> Result<CompatibilityLevel, ApiError> {
        let _writer = self.write.lock().await;
        let previous = self.config(subject, false)?;
        self.commit(vec![Record::Config {
            subject: subject.map(str::to_string),
            level: None,
        }])
        .await?;
        Ok(previous)
    }

    /// `PUT /mode[/{s}]`; IMPORT needs an empty registry (or subject) unless `force`.
    pub async fn set_mode(
        &self,
        subject: Option<&str>,
        mode: Mode,
        force: bool,
    ) -> Result<Mode, ApiError> {
        let _writer = self.write.lock().await;
        if mode == Mode::Import && !force {
            let st = self.state.read();
            let non_empty = match subject {
                None => st
                    .subjects
                    .values()
                    .any(|vs| vs.values().any(|e| !e.deleted)),
                Some(s) => !st.versions(s, false).is_empty(),
            };
            if non_empty {
                return Err(ApiError::not_permitted(
                    "Cannot import since found existing subjects",
                ));
            }
        }
        self.commit(vec![Record::Mode {
            subject: subject.map(str::to_string),
            mode: Some(mode),
        }])
        .await?;
        Ok(mode)
    }

    /// `DELETE /mode/{s}`: the subject's mode removed.
    pub async fn delete_mode(&self, subject: &str) -> Result<Mode, ApiError> {
        let _writer = self.write.lock().await;
        let previous = self.mode(Some(subject), false)?;
        self.commit(vec![Record::Mode {
            subject: Some(subject.to_string()),
            mode: None,
        }])
        .await?;
        Ok(previous)
    }
}

/// Reasons `checked` is incompatible with the given (version, id) pairs
/// (oldest first) at `level`, as Confluent's verbose messages. Only AVRO is
/// checked; JSON and PROTOBUF are always compatible here.
fn incompatibilities(
    st: &State,
    level: CompatibilityLevel,
    checked: &schema::Checked,
    against: &[(u32, u32)],
) -> Result<Vec<String>, ApiError> {
    let Some(new) = &checked.avro else {
        return Ok(Vec::new());
    };
    if level == CompatibilityLevel::None || against.is_empty() {
        return Ok(Vec::new());
    }
    let mut parsed = Vec::with_capacity(against.len());
    let mut texts = Vec::with_capacity(against.len());
    for (version, id) in against {
        let Some(stored) = st.schemas.get(id) else {
            continue;
        };
        if stored.schema_type != kbridge_registry::SchemaType::Avro {
            // A subject that changed type: nothing to compare with.
            return Ok(vec![format!(
                "{{errorType:'TYPE_MISMATCH', description:'The new schema is AVRO but version {version} is {}', additionalInfo:''}}",
                stored.schema_type
            )]);
        }
        parsed.push(schema::stored_avro(st, stored)?);
        texts.push((*version, stored.schema.as_str()));
    }
    let previous: Vec<compat::SchemaWithReferences<'_>> = parsed
        .iter()
        .map(|a| compat::SchemaWithReferences {
            schema: a.schema(),
            references: a.referenced(),
        })
        .collect();
    let new = compat::SchemaWithReferences {
        schema: new.schema(),
        references: new.referenced(),
    };
    let found = compat::check_with_references(level, new, &previous);
    let versions: Vec<compat::PreviousVersion<'_>> = texts
        .iter()
        .map(|(v, text)| compat::PreviousVersion {
            version: i32::try_from(*v).unwrap_or(i32::MAX),
            schema: text,
        })
        .collect();
    Ok(compat::confluent_messages(level, &found, &versions))
}
