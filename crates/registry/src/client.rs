//! [`RegistryClient`]: every endpoint of the Schema Registry REST API.

use crate::RegistryError;
use crate::cache::Caches;
use crate::compat::CompatibilityLevel;
use crate::parsed::{AvroSchema, ParsedSchema, parse_avro};
use crate::transport::{Call, RegistryClientBuilder, Transport};
use crate::types::{
    CompatibilityResult, Mode, RegisteredSchema, SchemaDefinition, SchemaReference, SchemaType,
    SubjectVersion, VersionSelector,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Everything but RFC 3986 unreserved characters is escaped, so subjects
/// with `/`, `:` or spaces stay one path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// Async client of a Confluent-compatible Schema Registry. Cheap to clone
/// (one shared connection pool and cache).
///
/// ```no_run
/// # async fn demo() -> Result<(), kbridge_registry::RegistryError> {
/// use kbridge_registry::{RegistryClient, SchemaDefinition};
/// let client = RegistryClient::builder(["http://localhost:8081"]).build()?;
/// client.check_reachable().await?;
/// let id = client
///     .register("orders-value", &SchemaDefinition::avro(r#""string""#), false)
///     .await?;
/// let parsed = client.schema(id).await?; // cached from now on
/// assert!(parsed.avro().is_some());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    cache: Caches,
}

#[derive(Deserialize)]
struct IdResponse {
    id: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigResponse {
    compatibility_level: Option<CompatibilityLevel>,
    compatibility: Option<CompatibilityLevel>,
}

#[derive(Serialize)]
struct ConfigRequest {
    compatibility: CompatibilityLevel,
}

#[derive(Serialize, Deserialize)]
struct ModeBody {
    mode: Mode,
}

fn flag(name: &str, value: bool) -> String {
    format!("{name}={value}")
}

impl RegistryClient {
    /// Starts a builder for one or more base URLs (each may also be a
    /// comma-separated list, as in `schema.registry.url`).
    pub fn builder<I, S>(urls: I) -> RegistryClientBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        RegistryClientBuilder::new(urls)
    }

    pub(crate) fn from_parts(transport: Transport, latest_ttl: Duration) -> Self {
        RegistryClient {
            inner: Arc::new(Inner {
                transport,
                cache: Caches::new(latest_ttl),
            }),
        }
    }

    /// The base URLs (credentials removed).
    pub fn urls(&self) -> &[String] {
        self.inner.transport.bases()
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: Option<Vec<u8>>,
        operation: &str,
    ) -> Result<T, RegistryError> {
        let call = Call {
            method,
            path,
            body,
            operation,
        };
        let (url, bytes) = self.inner.transport.send(&call).await?;
        serde_json::from_slice(&bytes).map_err(|source| RegistryError::DecodeResponse {
            operation: operation.to_string(),
            url,
            source,
        })
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: String,
        operation: &str,
    ) -> Result<T, RegistryError> {
        self.call(Method::GET, path, None, operation).await
    }

    async fn send_json<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        path: String,
        body: &B,
        operation: &str,
    ) -> Result<T, RegistryError> {
        let bytes = serde_json::to_vec(body).map_err(|source| RegistryError::DecodeResponse {
            operation: operation.to_string(),
            url: path.clone(),
            source,
        })?;
        self.call(method, path, Some(bytes), operation).await
    }

    async fn get_text(&self, path: String, operation: &str) -> Result<String, RegistryError> {
        let call = Call {
            method: Method::GET,
            path,
            body: None,
            operation,
        };
        let (_, bytes) = self.inner.transport.send(&call).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Start-up check: one request per base URL, no retries. Fails fast with
    /// every URL's reason when none answers, and with the registry's answer
    /// when it refuses the credentials.
    pub async fn check_reachable(&self) -> Result<(), RegistryError> {
        let mut failures = Vec::new();
        let call = Call {
            method: Method::GET,
            path: "/config".to_string(),
            body: None,
            operation: "check that the schema registry is reachable",
        };
        for idx in 0..self.inner.transport.bases().len() {
            match self.inner.transport.probe(idx, &call).await {
                Ok(()) => return Ok(()),
                Err(
                    e @ RegistryError::Registry {
                        status: 401 | 403, ..
                    },
                ) => return Err(e),
                Err(e) => failures.push(format!(
                    "{}: {}",
                    self.inner.transport.bases()[idx],
                    error_chain(&e)
                )),
            }
        }
        Err(RegistryError::Unreachable {
            details: failures.join("; "),
        })
    }

    // ----- schemas by id -------------------------------------------------

    /// `GET /schemas/ids/{id}` (optionally `?subject=`), uncached.
    pub async fn schema_by_id(
        &self,
        id: u32,
        subject: Option<&str>,
    ) -> Result<SchemaDefinition, RegistryError> {
        let path = match subject {
            Some(s) => format!("/schemas/ids/{id}?subject={}", enc(s)),
            None => format!("/schemas/ids/{id}"),
        };
        self.get(path, &format!("get schema id {id}")).await
    }

    /// The parsed schema with this id, fetched and parsed once for the life
    /// of the client (ids are immutable); concurrent calls for an id not yet
    /// cached share one request. Avro references are resolved recursively.
    pub async fn schema(&self, id: u32) -> Result<Arc<ParsedSchema>, RegistryError> {
        let cell = self.inner.cache.schema_cell(id);
        cell.get_or_try_init(|| async {
            let def = self.schema_by_id(id, None).await?;
            self.parse(id, def).await.map(Arc::new)
        })
        .await
        .cloned()
    }

    async fn parse(&self, id: u32, def: SchemaDefinition) -> Result<ParsedSchema, RegistryError> {
        let what = format!("id {id}");
        let (avro, json) = match def.schema_type {
            SchemaType::Avro => (Some(self.resolve_avro(&def, &what).await?), None),
            SchemaType::Json => {
                let value = serde_json::from_str(&def.schema)
                    .map_err(|source| RegistryError::ParseJsonSchema { what, source })?;
                (None, Some(value))
            }
            SchemaType::Protobuf => (None, None),
        };
        Ok(ParsedSchema::new(
            id,
            def.schema_type,
            def.schema,
            def.references,
            avro,
            json,
        ))
    }

    /// Parses an Avro schema, fetching its references (and theirs) from the
    /// registry. `what` names the schema in errors (`id 7`, a file name).
    pub async fn resolve_avro(
        &self,
        def: &SchemaDefinition,
        what: &str,
    ) -> Result<AvroSchema, RegistryError> {
        let mut seen = HashSet::new();
        let mut deps = Vec::new();
        self.collect_references(&def.references, what, &mut seen, &mut deps, 0)
            .await?;
        parse_avro(&def.schema, &deps).map_err(|source| RegistryError::ParseAvroSchema {
            what: what.to_string(),
            source,
        })
    }

    /// Depth-first: a reference's own references come before it.
    fn collect_references<'a>(
        &'a self,
        refs: &'a [SchemaReference],
        what: &'a str,
        seen: &'a mut HashSet<(String, u32)>,
        out: &'a mut Vec<String>,
        depth: usize,
    ) -> Pin<Box<dyn Future<Output = Result<(), RegistryError>> + Send + 'a>> {
        Box::pin(async move {
            for r in refs {
                let fail = |reason: String| RegistryError::ResolveReference {
                    what: what.to_string(),
                    name: r.name.clone(),
                    subject: r.subject.clone(),
                    version: r.version,
                    reason,
                };
                if depth > 32 {
                    return Err(fail("references nested more than 32 deep".to_string()));
                }
                if !seen.insert((r.subject.clone(), r.version)) {
                    continue;
                }
                let referenced = self
                    .version(&r.subject, VersionSelector::Number(r.version), false)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                if referenced.schema_type != SchemaType::Avro {
                    return Err(fail(format!(
                        "the referenced schema is {}, not AVRO",
                        referenced.schema_type
                    )));
                }
                self.collect_references(&referenced.references, what, seen, out, depth + 1)
                    .await?;
                out.push(referenced.schema);
            }
            Ok(())
        })
    }

    /// `GET /schemas/types`.
    pub async fn schema_types(&self) -> Result<Vec<String>, RegistryError> {
        self.get("/schemas/types".to_string(), "list schema types")
            .await
    }

    /// `GET /schemas/ids/{id}/subjects`.
    pub async fn subjects_for_id(
        &self,
        id: u32,
        deleted: bool,
    ) -> Result<Vec<String>, RegistryError> {
        self.get(
            format!("/schemas/ids/{id}/subjects?{}", flag("deleted", deleted)),
            &format!("list subjects of schema id {id}"),
        )
        .await
    }

    /// `GET /schemas/ids/{id}/versions`.
    pub async fn versions_for_id(
        &self,
        id: u32,
        deleted: bool,
    ) -> Result<Vec<SubjectVersion>, RegistryError> {
        self.get(
            format!("/schemas/ids/{id}/versions?{}", flag("deleted", deleted)),
            &format!("list subject versions of schema id {id}"),
        )
        .await
    }

    // ----- subjects and versions -----------------------------------------

    /// `GET /subjects` (`deleted=true` includes soft-deleted subjects).
    pub async fn subjects(&self, deleted: bool) -> Result<Vec<String>, RegistryError> {
        self.get(
            format!("/subjects?{}", flag("deleted", deleted)),
            "list subjects",
        )
        .await
    }

    /// `GET /subjects/{s}/versions`.
    pub async fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<u32>, RegistryError> {
        self.get(
            format!(
                "/subjects/{}/versions?{}",
                enc(subject),
                flag("deleted", deleted)
            ),
            &format!("list versions of subject '{subject}'"),
        )
        .await
    }

    /// `GET /subjects/{s}/versions/{v}` (uncached).
    pub async fn version(
        &self,
        subject: &str,
        version: VersionSelector,
        deleted: bool,
    ) -> Result<RegisteredSchema, RegistryError> {
        let mut schema: RegisteredSchema = self
            .get(
                format!(
                    "/subjects/{}/versions/{version}?{}",
                    enc(subject),
                    flag("deleted", deleted)
                ),
                &format!("get version {version} of subject '{subject}'"),
            )
            .await?;
        if schema.subject.is_empty() {
            schema.subject = subject.to_string();
        }
        Ok(schema)
    }

    /// `GET /subjects/{s}/versions/{v}/schema`: the schema text only.
    pub async fn version_schema_text(
        &self,
        subject: &str,
        version: VersionSelector,
    ) -> Result<String, RegistryError> {
        self.get_text(
            format!("/subjects/{}/versions/{version}/schema", enc(subject)),
            &format!("get schema text of version {version} of subject '{subject}'"),
        )
        .await
    }

    /// The latest version of `subject`, answered from a cache for the
    /// builder's `latest_ttl`.
    pub async fn latest(&self, subject: &str) -> Result<Arc<RegisteredSchema>, RegistryError> {
        if let Some(hit) = self.inner.cache.latest(subject) {
            return Ok(hit);
        }
        let fresh = Arc::new(
            self.version(subject, VersionSelector::Latest, false)
                .await?,
        );
        self.inner.cache.put_latest(subject, fresh.clone());
        Ok(fresh)
    }

    /// `GET /subjects/{s}/versions/{v}/referencedby`: ids of schemas that
    /// reference this version.
    pub async fn referenced_by(
        &self,
        subject: &str,
        version: VersionSelector,
    ) -> Result<Vec<u32>, RegistryError> {
        self.get(
            format!("/subjects/{}/versions/{version}/referencedby", enc(subject)),
            &format!("list schemas referencing version {version} of subject '{subject}'"),
        )
        .await
    }

    /// `POST /subjects/{s}/versions`: registers (idempotently) and returns
    /// the id, which is cached for [`RegistryClient::id_for`].
    pub async fn register(
        &self,
        subject: &str,
        schema: &SchemaDefinition,
        normalize: bool,
    ) -> Result<u32, RegistryError> {
        let response: IdResponse = self
            .send_json(
                Method::POST,
                format!(
                    "/subjects/{}/versions?{}",
                    enc(subject),
                    flag("normalize", normalize)
                ),
                schema,
                &format!("register schema under subject '{subject}'"),
            )
            .await?;
        self.inner.cache.put_id(subject, schema, response.id);
        Ok(response.id)
    }

    /// `POST /subjects/{s}`: the version of `subject` holding this schema.
    pub async fn lookup(
        &self,
        subject: &str,
        schema: &SchemaDefinition,
        normalize: bool,
        deleted: bool,
    ) -> Result<RegisteredSchema, RegistryError> {
        let mut found: RegisteredSchema = self
            .send_json(
                Method::POST,
                format!(
                    "/subjects/{}?{}&{}",
                    enc(subject),
                    flag("normalize", normalize),
                    flag("deleted", deleted)
                ),
                schema,
                &format!("look up schema under subject '{subject}'"),
            )
            .await?;
        if found.subject.is_empty() {
            found.subject = subject.to_string();
        }
        Ok(found)
    }

    /// The id to encode `schema` with under `subject`: from the cache, else
    /// registered (`auto_register`) or looked up. Cached for the life of
    /// the client.
    pub async fn id_for(
        &self,
        subject: &str,
        schema: &SchemaDefinition,
        auto_register: bool,
    ) -> Result<u32, RegistryError> {
        if let Some(id) = self.inner.cache.id(subject, schema) {
            return Ok(id);
        }
        let id = if auto_register {
            self.register(subject, schema, false).await?
        } else {
            self.lookup(subject, schema, false, false).await?.id
        };
        self.inner.cache.put_id(subject, schema, id);
        Ok(id)
    }

    /// `DELETE /subjects/{s}` (soft, or `permanent` after a soft delete):
    /// the versions deleted.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<u32>, RegistryError> {
        let out = self
            .call(
                Method::DELETE,
                format!(
                    "/subjects/{}?{}",
                    enc(subject),
                    flag("permanent", permanent)
                ),
                None,
                &format!("delete subject '{subject}'"),
            )
            .await;
        self.inner.cache.forget_subject(subject);
        out
    }

    /// `DELETE /subjects/{s}/versions/{v}`: the version deleted.
    pub async fn delete_version(
        &self,
        subject: &str,
        version: VersionSelector,
        permanent: bool,
    ) -> Result<u32, RegistryError> {
        let out = self
            .call(
                Method::DELETE,
                format!(
                    "/subjects/{}/versions/{version}?{}",
                    enc(subject),
                    flag("permanent", permanent)
                ),
                None,
                &format!("delete version {version} of subject '{subject}'"),
            )
            .await;
        self.inner.cache.forget_subject(subject);
        out
    }

    // ----- compatibility ---------------------------------------------------

    /// `POST /compatibility/subjects/{s}/versions/{v}` when `version` is
    /// given, else `.../versions` (every version the subject's level
    /// covers). With `verbose` the answer lists the reasons.
    pub async fn test_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSelector>,
        schema: &SchemaDefinition,
        verbose: bool,
    ) -> Result<CompatibilityResult, RegistryError> {
        let path = match version {
            Some(v) => format!(
                "/compatibility/subjects/{}/versions/{v}?{}",
                enc(subject),
                flag("verbose", verbose)
            ),
            None => format!(
                "/compatibility/subjects/{}/versions?{}",
                enc(subject),
                flag("verbose", verbose)
            ),
        };
        self.send_json(
            Method::POST,
            path,
            schema,
            &format!("test compatibility with subject '{subject}'"),
        )
        .await
    }

    // ----- config and mode -----------------------------------------------

    fn config_path(subject: Option<&str>) -> String {
        match subject {
            Some(s) => format!("/config/{}", enc(s)),
            None => "/config".to_string(),
        }
    }

    fn level(
        response: ConfigResponse,
        operation: &str,
    ) -> Result<CompatibilityLevel, RegistryError> {
        response
            .compatibility_level
            .or(response.compatibility)
            .ok_or_else(|| RegistryError::Registry {
                operation: operation.to_string(),
                status: 200,
                error_code: 0,
                message: "answer has no compatibility level".to_string(),
            })
    }

    /// `GET /config` or `GET /config/{s}`; with `default_to_global` a
    /// subject without its own level answers the global one.
    pub async fn config(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<CompatibilityLevel, RegistryError> {
        let op = match subject {
            Some(s) => format!("get compatibility level of subject '{s}'"),
            None => "get global compatibility level".to_string(),
        };
        let path = match subject {
            Some(_) => format!(
                "{}?{}",
                Self::config_path(subject),
                flag("defaultToGlobal", default_to_global)
            ),
            None => Self::config_path(None),
        };
        let response: ConfigResponse = self.get(path, &op).await?;
        Self::level(response, &op)
    }

    /// `PUT /config[/{s}]`.
    pub async fn set_config(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<CompatibilityLevel, RegistryError> {
        let op = match subject {
            Some(s) => format!("set compatibility level of subject '{s}'"),
            None => "set global compatibility level".to_string(),
        };
        let response: ConfigResponse = self
            .send_json(
                Method::PUT,
                Self::config_path(subject),
                &ConfigRequest {
                    compatibility: level,
                },
                &op,
            )
            .await?;
        Self::level(response, &op)
    }

    /// `DELETE /config[/{s}]`: the level that was removed.
    pub async fn delete_config(
        &self,
        subject: Option<&str>,
    ) -> Result<CompatibilityLevel, RegistryError> {
        let op = match subject {
            Some(s) => format!("delete compatibility level of subject '{s}'"),
            None => "delete global compatibility level".to_string(),
        };
        let response: ConfigResponse = self
            .call(Method::DELETE, Self::config_path(subject), None, &op)
            .await?;
        Self::level(response, &op)
    }

    fn mode_path(subject: Option<&str>) -> String {
        match subject {
            Some(s) => format!("/mode/{}", enc(s)),
            None => "/mode".to_string(),
        }
    }

    /// `GET /mode` or `GET /mode/{s}?defaultToGlobal=true`.
    pub async fn mode(&self, subject: Option<&str>) -> Result<Mode, RegistryError> {
        let path = match subject {
            Some(_) => format!("{}?defaultToGlobal=true", Self::mode_path(subject)),
            None => Self::mode_path(None),
        };
        let body: ModeBody = self.get(path, "get mode").await?;
        Ok(body.mode)
    }

    /// `PUT /mode[/{s}]` (`force` allows IMPORT on a non-empty registry).
    pub async fn set_mode(
        &self,
        subject: Option<&str>,
        mode: Mode,
        force: bool,
    ) -> Result<Mode, RegistryError> {
        let body: ModeBody = self
            .send_json(
                Method::PUT,
                format!("{}?{}", Self::mode_path(subject), flag("force", force)),
                &ModeBody { mode },
                &format!("set mode {mode}"),
            )
            .await?;
        Ok(body.mode)
    }

    /// `DELETE /mode/{s}`: the subject's mode that was removed.
    pub async fn delete_mode(&self, subject: &str) -> Result<Mode, RegistryError> {
        let body: ModeBody = self
            .call(
                Method::DELETE,
                Self::mode_path(Some(subject)),
                None,
                &format!("delete mode of subject '{subject}'"),
            )
            .await?;
        Ok(body.mode)
    }
}

/// `error: cause: cause` on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_one_path_segment() {
        assert_eq!(enc("orders-value"), "orders-value");
        assert_eq!(enc("a/b:c d"), "a%2Fb%3Ac%20d");
        assert_eq!(enc("com.acme.Order_v1~x"), "com.acme.Order_v1~x");
    }
}
