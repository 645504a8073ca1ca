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

/// Resolves schemas through a [`RegistryClient`] on a private
/// current-thread runtime. Call it from plain threads, never from inside an
/// async runtime (it blocks).
pub struct RegistryResolver {
    client: RegistryClient,
    runtime: tokio::runtime::Runtime,
    /// Ids that failed once: answered from here so a reader does not pay
    /// the client's retries again for every record of an unknown id.
    failed: Mutex<HashMap<u32, String>>,
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
        if let Some(reason) = self.failed.lock().ok().and_then(|f| f.get(&id).cloned()) {
            return Err(ResolveError::Unavailable {
                reason: format!("schema id {id}: {reason} (failed earlier in this run)"),
                source: None,
            });
        }
        let resolved = self
            .block_on(self.client.schema(id))
            .map_err(|e| resolve_error(SchemaRef::Id(id), e))
            .and_then(|parsed| resolved_from_parsed(&parsed));
        match resolved {
            Ok(r) => Ok(Arc::new(r)),
            Err(e) => {
                if let Ok(mut f) = self.failed.lock() {
                    f.insert(id, e.to_string());
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
