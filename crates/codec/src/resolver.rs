//! How the codec obtains schemas: the [`SchemaResolver`] trait (the registry
//! client implements it; the codec never does I/O), the parsed
//! [`ResolvedSchema`] it returns, and [`MemoryResolver`] for tests and
//! fixed setups.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use apache_avro::rabin::Rabin;
use parking_lot::Mutex;

use crate::error::Disposition;

/// A schema the codec can use: parsed once, when it is resolved.
#[derive(Clone)]
pub struct ResolvedSchema {
    kind: SchemaKind,
    text: String,
}

/// What kind of schema a [`ResolvedSchema`] holds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SchemaKind {
    /// An Avro schema, with the schemas it references (Schema Registry
    /// references) and its CRC-64-AVRO (Rabin) fingerprint.
    Avro {
        /// The parsed schema.
        schema: Box<apache_avro::Schema>,
        /// Referenced schemas (named types the main schema uses).
        references: Vec<apache_avro::Schema>,
        /// Rabin fingerprint of the parsing canonical form.
        fingerprint: u64,
        /// The parsing canonical form (per the specification).
        canonical: String,
    },
    /// A JSON Schema: payloads are JSON documents (not validated here).
    Json,
}

impl fmt::Debug for ResolvedSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            SchemaKind::Avro { .. } => "avro",
            SchemaKind::Json => "json",
        };
        f.debug_struct("ResolvedSchema")
            .field("kind", &kind)
            .field("text", &self.text)
            .finish()
    }
}

impl ResolvedSchema {
    /// Parses an Avro schema (JSON text).
    pub fn avro(text: &str) -> Result<Self, ResolveError> {
        Self::avro_with_references(text, &[])
    }

    /// Parses an Avro schema that uses named types from `references`
    /// (the texts of the referenced schemas, dependencies first).
    pub fn avro_with_references(text: &str, references: &[&str]) -> Result<Self, ResolveError> {
        let invalid = |e: apache_avro::Error| ResolveError::InvalidSchema {
            reason: e.to_string(),
        };
        let (schema, references) = if references.is_empty() {
            (
                apache_avro::Schema::parse_str(text).map_err(invalid)?,
                Vec::new(),
            )
        } else {
            apache_avro::Schema::parse_str_with_list(text, references).map_err(invalid)?
        };
        // CRC-64-AVRO of the parsing canonical form. apache-avro's
        // canonical form keeps decimal precision/scale, which the spec (and
        // Java, fastavro, Confluent) strip: fix that, then hash the result
        // (a standalone schema whose canonical form is itself).
        let canonical = if references.is_empty() {
            schema.canonical_form()
        } else {
            schema
                .independent_canonical_form(&references)
                .map_err(invalid)?
        };
        let canonical = spec_canonical(&canonical).map_err(|e| ResolveError::InvalidSchema {
            reason: e.to_string(),
        })?;
        let fp = apache_avro::Schema::parse_str(&canonical)
            .map_err(invalid)?
            .fingerprint::<Rabin>();
        let mut le = [0u8; 8];
        for (d, s) in le.iter_mut().zip(&fp.bytes) {
            *d = *s;
        }
        let fingerprint = u64::from_le_bytes(le);
        Ok(Self {
            kind: SchemaKind::Avro {
                schema: Box::new(schema),
                references,
                fingerprint,
                canonical,
            },
            text: text.to_string(),
        })
    }

    /// A JSON Schema (kept as text; payloads under it are parsed as JSON).
    pub fn json_schema(text: &str) -> Result<Self, ResolveError> {
        serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
            ResolveError::InvalidSchema {
                reason: e.to_string(),
            }
        })?;
        Ok(Self {
            kind: SchemaKind::Json,
            text: text.to_string(),
        })
    }

    /// The schema as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The kind and parsed form.
    pub fn kind(&self) -> &SchemaKind {
        &self.kind
    }

    /// The parsed Avro schema, if this is one.
    pub fn avro_schema(&self) -> Option<&apache_avro::Schema> {
        match &self.kind {
            SchemaKind::Avro { schema, .. } => Some(schema),
            SchemaKind::Json => None,
        }
    }

    /// The CRC-64-AVRO fingerprint of the parsing canonical form (Avro only).
    pub fn fingerprint(&self) -> Option<u64> {
        match &self.kind {
            SchemaKind::Avro { fingerprint, .. } => Some(*fingerprint),
            SchemaKind::Json => None,
        }
    }

    /// The parsing canonical form (Avro only).
    pub fn canonical_form(&self) -> Option<&str> {
        match &self.kind {
            SchemaKind::Avro { canonical, .. } => Some(canonical),
            SchemaKind::Json => None,
        }
    }

    /// Whether two schemas have the same parsing canonical form (Avro) or
    /// the same text (JSON Schema).
    pub fn same_as(&self, other: &ResolvedSchema) -> bool {
        match (&self.kind, &other.kind) {
            (SchemaKind::Avro { fingerprint: a, .. }, SchemaKind::Avro { fingerprint: b, .. }) => {
                a == b
            }
            (SchemaKind::Json, SchemaKind::Json) => self.text == other.text,
            _ => false,
        }
    }
}

/// Removes what apache-avro keeps but the specification's [STRIP] rule
/// drops (decimal `precision` / `scale`), then applies [PRIMITIVE] again.
fn spec_canonical(apache: &str) -> Result<String, serde_json::Error> {
    fn strip(j: &mut serde_json::Value) {
        match j {
            serde_json::Value::Object(m) => {
                m.shift_remove("precision");
                m.shift_remove("scale");
                for v in m.values_mut() {
                    strip(v);
                }
                if m.len() == 1
                    && let Some(serde_json::Value::String(t)) = m.get("type")
                {
                    *j = serde_json::Value::String(t.clone());
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut j: serde_json::Value = serde_json::from_str(apache)?;
    strip(&mut j);
    serde_json::to_string(&j)
}

/// Which schema was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SchemaRef {
    /// A registry schema id (Confluent magic 0, or a header).
    Id(u32),
    /// A registry schema GUID (Confluent magic 1, or a header).
    Guid([u8; 16]),
    /// An Avro single-object fingerprint.
    Fingerprint(u64),
    /// The fixed schema from configuration.
    Fixed,
}

impl fmt::Display for SchemaRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "id {id}"),
            Self::Guid(g) => write!(f, "guid {}", uuid::Uuid::from_bytes(*g)),
            Self::Fingerprint(fp) => write!(f, "fingerprint {fp:#018x}"),
            Self::Fixed => f.write_str("fixed (configured)"),
        }
    }
}

/// The id (and GUID, when the registry has one) a schema is registered under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisteredId {
    /// The registry's integer id.
    pub id: u32,
    /// The registry's GUID, if it assigns them.
    pub guid: Option<[u8; 16]>,
}

/// Why a schema could not be resolved. The pipeline acts on
/// [`ResolveError::disposition`]: an unknown id is poison (dead-letter the
/// record), an unreachable registry is retriable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The registry does not know the schema (HTTP 404 / error 40403).
    #[error("schema {what} not found")]
    NotFound {
        /// What was asked for.
        what: SchemaRef,
    },
    /// The registry could not be reached or failed (5xx, timeout).
    #[error("registry unavailable: {reason}")]
    Unavailable {
        /// What happened.
        reason: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The registry refused the request (incompatible schema, forbidden).
    #[error("registry rejected the request: {reason}")]
    Rejected {
        /// What the registry said.
        reason: String,
    },
    /// The registry returned a schema that does not parse.
    #[error("invalid schema: {reason}")]
    InvalidSchema {
        /// The parser's message.
        reason: String,
    },
}

impl ResolveError {
    /// Poison for unknown/invalid schemas, retriable for an unreachable
    /// registry, fatal when the registry refuses.
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::NotFound { .. } | Self::InvalidSchema { .. } => Disposition::Poison,
            Self::Unavailable { .. } => Disposition::Retriable,
            Self::Rejected { .. } => Disposition::Fatal,
        }
    }

    /// The record should go to the dead-letter queue.
    pub fn is_poison(&self) -> bool {
        self.disposition() == Disposition::Poison
    }

    /// The same request may succeed later.
    pub fn is_retriable(&self) -> bool {
        self.disposition() == Disposition::Retriable
    }
}

/// Where the codec gets schemas. Synchronous: the pipeline's implementation
/// answers from its cache and blocks its own thread on a miss. The codec
/// caches compiled plans per id, so each id is asked for once.
pub trait SchemaResolver: Send + Sync {
    /// The schema registered under `id`.
    fn schema_by_id(&self, id: u32) -> Result<Arc<ResolvedSchema>, ResolveError>;

    /// The schema registered under `guid`. By default: not found.
    fn schema_by_guid(&self, guid: &[u8; 16]) -> Result<Arc<ResolvedSchema>, ResolveError> {
        Err(ResolveError::NotFound {
            what: SchemaRef::Guid(*guid),
        })
    }

    /// Registers `schema` under `subject` (or finds it already registered)
    /// and returns its id.
    fn register_or_lookup(
        &self,
        subject: &str,
        schema: &ResolvedSchema,
    ) -> Result<RegisteredId, ResolveError>;
}

impl<R: SchemaResolver + ?Sized> SchemaResolver for Arc<R> {
    fn schema_by_id(&self, id: u32) -> Result<Arc<ResolvedSchema>, ResolveError> {
        (**self).schema_by_id(id)
    }
    fn schema_by_guid(&self, guid: &[u8; 16]) -> Result<Arc<ResolvedSchema>, ResolveError> {
        (**self).schema_by_guid(guid)
    }
    fn register_or_lookup(
        &self,
        subject: &str,
        schema: &ResolvedSchema,
    ) -> Result<RegisteredId, ResolveError> {
        (**self).register_or_lookup(subject, schema)
    }
}

/// A fixed, in-memory resolver: schemas added up front, registrations
/// assigned increasing ids. For tests and registry-less setups.
#[derive(Debug, Default)]
pub struct MemoryResolver {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    by_id: HashMap<u32, (Option<[u8; 16]>, Arc<ResolvedSchema>)>,
    subjects: HashMap<String, Vec<u32>>,
    next_id: u32,
    unavailable: bool,
    lookups: u64,
}

impl MemoryResolver {
    /// An empty resolver; registered ids start at 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `schema` under `id` (and `guid`, if given).
    pub fn insert(
        &self,
        id: u32,
        guid: Option<[u8; 16]>,
        schema: ResolvedSchema,
    ) -> Arc<ResolvedSchema> {
        let schema = Arc::new(schema);
        let mut inner = self.inner.lock();
        inner.by_id.insert(id, (guid, Arc::clone(&schema)));
        inner.next_id = inner.next_id.max(id);
        schema
    }

    /// Adds `schema` under `id` (and `guid`) and also lists it under `subject`.
    pub fn insert_for_subject(
        &self,
        subject: &str,
        id: u32,
        guid: Option<[u8; 16]>,
        schema: ResolvedSchema,
    ) {
        self.insert(id, guid, schema);
        self.inner
            .lock()
            .subjects
            .entry(subject.to_string())
            .or_default()
            .push(id);
    }

    /// Makes every call fail with [`ResolveError::Unavailable`] (or stop failing).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.inner.lock().unavailable = unavailable;
    }

    /// How many lookups by id or GUID reached this resolver.
    pub fn lookups(&self) -> u64 {
        self.inner.lock().lookups
    }
}

fn unavailable() -> ResolveError {
    ResolveError::Unavailable {
        reason: "memory resolver set unavailable".into(),
        source: None,
    }
}

impl SchemaResolver for MemoryResolver {
    fn schema_by_id(&self, id: u32) -> Result<Arc<ResolvedSchema>, ResolveError> {
        let mut inner = self.inner.lock();
        if inner.unavailable {
            return Err(unavailable());
        }
        inner.lookups += 1;
        inner
            .by_id
            .get(&id)
            .map(|(_, s)| Arc::clone(s))
            .ok_or(ResolveError::NotFound {
                what: SchemaRef::Id(id),
            })
    }

    fn schema_by_guid(&self, guid: &[u8; 16]) -> Result<Arc<ResolvedSchema>, ResolveError> {
        let mut inner = self.inner.lock();
        if inner.unavailable {
            return Err(unavailable());
        }
        inner.lookups += 1;
        inner
            .by_id
            .values()
            .find(|(g, _)| g.as_ref() == Some(guid))
            .map(|(_, s)| Arc::clone(s))
            .ok_or(ResolveError::NotFound {
                what: SchemaRef::Guid(*guid),
            })
    }

    fn register_or_lookup(
        &self,
        subject: &str,
        schema: &ResolvedSchema,
    ) -> Result<RegisteredId, ResolveError> {
        let mut inner = self.inner.lock();
        if inner.unavailable {
            return Err(unavailable());
        }
        let known = inner.subjects.get(subject).and_then(|ids| {
            ids.iter()
                .copied()
                .find(|id| inner.by_id.get(id).is_some_and(|(_, s)| s.same_as(schema)))
        });
        if let Some(id) = known {
            let guid = inner.by_id.get(&id).and_then(|(g, _)| *g);
            return Ok(RegisteredId { id, guid });
        }
        inner.next_id += 1;
        let id = inner.next_id;
        inner.by_id.insert(id, (None, Arc::new(schema.clone())));
        inner
            .subjects
            .entry(subject.to_string())
            .or_default()
            .push(id);
        Ok(RegisteredId { id, guid: None })
    }
}
