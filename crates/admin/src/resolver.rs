//! [`RegistryResolver`]: the codec's synchronous [`SchemaResolver`] over the
//! async [`RegistryClient`], for the tools' blocking consume and produce
//! loops.

use crate::AdminError;
use kbridge_codec::{
    RegisteredId, ResolveError, ResolvedSchema, SchemaKind, SchemaRef, SchemaResolver,
};
use kbridge_registry::{
    ErrorClass, ParsedSchema, RegistryClient, RegistryError, SchemaDefinition, SchemaType,
};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an id whose lookup failed with a transient error (registry
/// down, 5xx) is answered from memory before the registry is asked again.
const UNAVAILABLE_COOLDOWN: Duration = Duration::from_secs(1);

/// Resolves schemas through a [`RegistryClient`] on a private
/// current-thread runtime. Call it from plain threads, never from inside an
/// async runtime (it blocks).
pub struct RegistryResolver {
    client: RegistryClient,
    runtime: tokio::runtime::Runtime,
    /// Ids that failed: answered from here so a reader does not pay the
    /// client's retries again for every record of an unknown id. The
    /// failure keeps its class: an unknown or invalid schema stays poison
    /// for the whole run, an unreachable registry stays retriable and is
    /// asked again after [`UNAVAILABLE_COOLDOWN`].
    failed: Mutex<HashMap<u32, Failed>>,
}

/// A remembered lookup failure (the error itself is not `Clone`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failed {
    NotFound,
    Invalid(String),
    Rejected(String),
    Unavailable { reason: String, until: Instant },
}

impl Failed {
    fn of(e: &ResolveError, now: Instant) -> Failed {
        match e {
            ResolveError::NotFound { .. } => Failed::NotFound,
            ResolveError::InvalidSchema { reason } => Failed::Invalid(reason.clone()),
            ResolveError::Rejected { reason } => Failed::Rejected(reason.clone()),
            other => Failed::Unavailable {
                reason: other.to_string(),
                until: now + UNAVAILABLE_COOLDOWN,
            },
        }
    }

    /// The error to answer with, or `None` once a transient failure is old
    /// enough to ask the registry again.
    fn answer(&self, id: u32, now: Instant) -> Option<ResolveError> {
        Some(match self {
            Failed::NotFound => ResolveError::NotFound {
                what: SchemaRef::Id(id),
            },
            Failed::Invalid(reason) => ResolveError::InvalidSchema {
                reason: reason.clone(),
            },
            Failed::Rejected(reason) => ResolveError::Rejected {
                reason: reason.clone(),
            },
            Failed::Unavailable { reason, until } => {
                if now >= *until {
                    return None;
                }
                ResolveError::Unavailable {
                    reason: format!("schema id {id}: {reason} (failed less than a second ago)"),
                    source: None,
                }
            }
        })
    }
}

impl std::fmt::Debug for RegistryResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryResolver")
            .field("urls", &self.client.urls())
            .finish_non_exhaustive()
    }
}

impl RegistryResolver {
    /// Wraps `client`.
    pub fn new(client: RegistryClient) -> Result<Self, AdminError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| AdminError::Runtime { source })?;
        Ok(RegistryResolver {
            client,
            runtime,
            failed: Mutex::new(HashMap::new()),
        })
    }

    /// The registry client.
    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// Runs a registry call to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

fn resolve_error(what: SchemaRef, e: RegistryError) -> ResolveError {
    match e.class() {
        ErrorClass::Poison if e.is_not_found() => ResolveError::NotFound { what },
        ErrorClass::Poison => ResolveError::InvalidSchema {
            reason: e.to_string(),
        },
        ErrorClass::Retriable => ResolveError::Unavailable {
            reason: e.to_string(),
            source: Some(Box::new(e)),
        },
        // a transport failure that exhausted its retries is still transient
        _ if e.status().is_none() && !matches!(e, RegistryError::ParseAvroSchema { .. }) => {
            ResolveError::Unavailable {
                reason: e.to_string(),
                source: Some(Box::new(e)),
            }
        }
        _ => ResolveError::Rejected {
            reason: e.to_string(),
        },
    }
}

/// The codec's view of a registered schema: Avro with its references
/// inlined (the registry client resolved them), or JSON Schema.
pub fn resolved_from_parsed(parsed: &ParsedSchema) -> Result<ResolvedSchema, ResolveError> {
    match parsed.schema_type() {
        SchemaType::Avro => {
            if parsed.references().is_empty() {
                return ResolvedSchema::avro(parsed.raw());
            }
            let avro = parsed.avro().ok_or_else(|| ResolveError::InvalidSchema {
                reason: format!("schema id {} did not parse as avro", parsed.id()),
            })?;
            let inlined = serde_json::to_string(avro.resolved()).map_err(|e| {
                ResolveError::InvalidSchema {
                    reason: format!("inline references of schema id {}: {e}", parsed.id()),
                }
            })?;
            ResolvedSchema::avro(&inlined)
        }
        SchemaType::Json => ResolvedSchema::json_schema(parsed.raw()),
        SchemaType::Protobuf => Err(ResolveError::InvalidSchema {
            reason: format!(
                "schema id {} is PROTOBUF, which kbridge cannot decode",
                parsed.id()
            ),
        }),
    }
}

impl SchemaResolver for RegistryResolver {
    fn schema_by_id(&self, id: u32) -> Result<Arc<ResolvedSchema>, ResolveError> {
        let now = Instant::now();
        if let Some(e) = self
            .failed
            .lock()
            .ok()
            .and_then(|f| f.get(&id).and_then(|failed| failed.answer(id, now)))
        {
            return Err(e);
        }
        let resolved = self
            .block_on(self.client.schema(id))
            .map_err(|e| resolve_error(SchemaRef::Id(id), e))
            .and_then(|parsed| resolved_from_parsed(&parsed));
        match resolved {
            Ok(r) => {
                if let Ok(mut f) = self.failed.lock() {
                    f.remove(&id);
                }
                Ok(Arc::new(r))
            }
            Err(e) => {
                if let Ok(mut f) = self.failed.lock() {
                    f.insert(id, Failed::of(&e, Instant::now()));
                }
                Err(e)
            }
        }
    }

    fn register_or_lookup(
        &self,
        subject: &str,
        schema: &ResolvedSchema,
    ) -> Result<RegisteredId, ResolveError> {
        let schema_type = match schema.kind() {
            SchemaKind::Json => SchemaType::Json,
            _ => SchemaType::Avro,
        };
        let def = SchemaDefinition::new(schema_type, schema.text());
        let id = self
            .block_on(self.client.id_for(subject, &def, true))
            .map_err(|e| resolve_error(SchemaRef::Fixed, e))?;
        Ok(RegisteredId { id, guid: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbridge_codec::Disposition;

    #[test]
    fn remembered_failures_keep_their_class() {
        let now = Instant::now();
        let cases = [
            ResolveError::NotFound {
                what: SchemaRef::Id(7),
            },
            ResolveError::InvalidSchema {
                reason: "bad".into(),
            },
            ResolveError::Rejected {
                reason: "forbidden".into(),
            },
            ResolveError::Unavailable {
                reason: "503".into(),
                source: None,
            },
        ];
        for e in cases {
            let again = Failed::of(&e, now).answer(7, now).expect("answered");
            assert_eq!(again.disposition(), e.disposition(), "{e}");
        }
        let not_found = Failed::of(
            &ResolveError::NotFound {
                what: SchemaRef::Id(7),
            },
            now,
        );
        assert_eq!(
            not_found.answer(7, now).unwrap().to_string(),
            "schema id 7 not found"
        );
        assert_eq!(
            Failed::of(
                &ResolveError::NotFound {
                    what: SchemaRef::Id(7)
                },
                now
            )
            .answer(7, now + Duration::from_secs(3600))
            .map(|e| e.disposition()),
            Some(Disposition::Poison),
            "an unknown id stays poison"
        );
    }

    #[test]
    fn an_unreachable_registry_is_asked_again_after_the_cooldown() {
        let now = Instant::now();
        let down = Failed::of(
            &ResolveError::Unavailable {
                reason: "connection refused".into(),
                source: None,
            },
            now,
        );
        let e = down.answer(3, now).expect("within the cooldown");
        assert!(e.is_retriable());
        assert!(e.to_string().contains("schema id 3"), "{e}");
        assert!(down.answer(3, now + UNAVAILABLE_COOLDOWN).is_none());
    }

    #[test]
    fn unreachable_registry_is_retriable_on_every_lookup() {
        let client = RegistryClient::builder(["http://127.0.0.1:9"])
            .timeout(Duration::from_millis(500))
            .retry(kbridge_registry::RetryPolicy {
                max_retries: 0,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(1),
            })
            .build()
            .unwrap();
        let r = RegistryResolver::new(client).unwrap();
        for _ in 0..3 {
            let e = r.schema_by_id(5).unwrap_err();
            assert!(e.is_retriable(), "{e}");
        }
    }
}
