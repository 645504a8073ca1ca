//! `[schema_registry]`: where schemas live and how to authenticate.

use crate::Secret;
use crate::kafka::TlsConfig;
use crate::serde_util::{duration, list};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[schema_registry]`: a Confluent-compatible Schema Registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchemaRegistryConfig {
    /// Base URL, or several (tried in order): a string, a comma-separated
    /// string or an array.
    #[serde(deserialize_with = "list::deserialize")]
    pub url: Vec<String>,
    /// HTTP basic auth user (Confluent Cloud: the API key).
    pub username: Option<String>,
    /// HTTP basic auth password (Confluent Cloud: the API secret).
    pub password: Option<Secret>,
    /// Bearer token sent as `Authorization: Bearer …` (instead of basic auth).
    pub bearer_token: Option<Secret>,
    /// TLS: CA bundle, client certificate and key, host name verification.
    pub ssl: TlsConfig,
    /// Timeout of one HTTP request.
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// Retries of a failed request (5xx, connection errors) after the first try.
    pub retries: u32,
    /// Wait before the first retry (doubles each retry).
    #[serde(with = "duration")]
    pub retry_backoff: Duration,
    /// How long "latest version of a subject" lookups are cached (ids and
    /// versions are immutable and cached forever).
    #[serde(with = "duration")]
    pub latest_cache_ttl: Duration,
}

impl Default for SchemaRegistryConfig {
    fn default() -> Self {
        SchemaRegistryConfig {
            url: vec!["http://localhost:8081".to_string()],
            username: None,
            password: None,
            bearer_token: None,
            ssl: TlsConfig::default(),
            request_timeout: Duration::from_secs(30),
            retries: 3,
            retry_backoff: Duration::from_millis(200),
            latest_cache_ttl: Duration::from_secs(300),
        }
    }
}
