//! `kbridge-config` — configuration for every kbridge crate and the CLI.
//!
//! Owns: figment layering, the typed sections, validation that reports every
//! problem at once with where each value came from, the redacting [`Secret`]
//! type, and the mapping of the Kafka sections to librdkafka properties.
//! Must not depend on any other kbridge crate (it is the bottom layer), nor
//! on rdkafka: other crates put [`ClientProperties`] into
//! `rdkafka::ClientConfig`.
//!
//! # Layers
//! Lowest precedence first; a later layer replaces a value, tables merge key
//! by key:
//! 1. built-in defaults (the `Default` impls: brokers `localhost:9092`,
//!    registry `http://localhost:8081`, …);
//! 2. the file ([`LoadOptions::file`], `--config FILE`): TOML, YAML or JSON
//!    by extension;
//! 3. environment: first the plain aliases that Kafka deployments already
//!    use (`KAFKA_BROKERS`, `KAFKA_BOOTSTRAP_SERVERS`, `KAFKA_TOPIC`,
//!    `KAFKA_GROUP_ID`, `KAFKA_AUTO_OFFSET_RESET`,
//!    `KAFKA_PARTITION_DISCOVERY_INTERVAL_MS`, `KAFKA_SECURITY_PROTOCOL`,
//!    `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`,
//!    `SCHEMA_REGISTRY_URL`, `RUST_LOG`), then `KBRIDGE_<SECTION>__<KEY>`
//!    (`KBRIDGE_KAFKA__BROKERS=a:9092,b:9092`), which **wins over any alias**
//!    for the same key. `KAFKA_BROKERS` wins over `KAFKA_BOOTSTRAP_SERVERS`.
//!    Empty variables count as unset. Lists are comma-separated or a JSON
//!    array. `KBRIDGE_CONFIG` and `KBRIDGE_BIN` are not keys
//!    ([`RESERVED_ENV_VARS`]);
//! 4. overrides ([`LoadOptions::overrides`], `--set dotted.key=value`), in order.
//!
//! Below a librdkafka passthrough map the rest of a variable name is one
//! property, `_` standing for `.`:
//! `KBRIDGE_CONSUMER__LIBRDKAFKA__FETCH_ERROR_BACKOFF_MS=100`;
//! with `--set`: `--set consumer.librdkafka.fetch.error.backoff.ms=100`.
//!
//! # Problems
//! [`Config::load`] collects every problem before it returns: file syntax,
//! unknown keys (with the closest valid key), invalid values (each one: an
//! invalid value is dropped and extraction runs again), then cross-key
//! checks (SASL without credentials, exactly-once without idempotence, `acks`
//! other than `all` with idempotence, committed offsets without a group,
//! both `topics` and `topic_regex`, passthrough keys that typed keys own, …).
//! Each [`Problem`] renders as `key: message (set by SOURCE)`.
//!
//! # API
//! - [`Config::load`]\([`LoadOptions`] { file, overrides, env: [`EnvVars`] }\)
//!   → [`Config`] or [`ConfigError::Validate`] with every [`Problem`]
//!   (`key`, [`Source`], `message`); [`Config::validate`] runs the cross-key
//!   checks on a `Config` built in code.
//! - `Config` has one public field per section ([`KafkaConfig`],
//!   [`ConsumerConfig`], [`ProducerConfig`], [`SchemaRegistryConfig`],
//!   [`SourceConfig`], [`SinkConfig`], [`CodecConfig`], [`DeadLetterConfig`],
//!   [`MetricsConfig`], [`LoggingConfig`]), `shutdown_timeout` and
//!   `transforms`. Every section implements `Default`.
//! - [`Config::client_config_for_consumer`], [`Config::client_config_for_producer`],
//!   [`Config::client_config_for_admin`]: the final librdkafka properties
//!   ([`ClientProperties`], redacting `Debug`).
//! - [`Config::to_toml_string`], [`Config::to_json_string`]: what
//!   `kbridge config show` prints; [`reference_markdown`]: the key table of
//!   `docs/configuration.md`.
//!
//! # Transforms
//! `transforms` is an array of tables kept as raw JSON values
//! ([`TransformTable`]); the pipeline parses them. Values in it are not
//! redacted.
//!
//! ```
//! use kbridge_config::{Config, EnvVars, LoadOptions};
//!
//! let config = Config::load(LoadOptions {
//!     file: None,
//!     overrides: vec!["producer.compression=zstd".into()],
//!     env: EnvVars::from_pairs([("KAFKA_BROKERS", "a:9092,b:9092")]),
//! })
//! .unwrap();
//! assert_eq!(config.kafka.brokers, ["a:9092", "b:9092"]);
//! let producer = config.client_config_for_producer();
//! assert_eq!(producer.get("bootstrap.servers"), Some("a:9092,b:9092"));
//! assert_eq!(producer.get("compression.type"), Some("zstd"));
//! ```

mod client;
mod codec;
mod error;
mod kafka;
mod keys;
mod load;
mod observability;
mod registry;
mod secret;
mod serde_util;
mod sink;
mod source;
mod validate;

#[cfg(test)]
mod tests;

pub use client::{
    Acks, ClientProperties, Compression, ConsumerConfig, IsolationLevel, LibrdkafkaOptions,
    ProducerConfig,
};
pub use codec::{CodecConfig, Format, FormatConfig, SchemaVersion, SubjectNameStrategy};
pub use error::{ConfigError, Problem, Problems, Source};
pub use kafka::{
    KafkaConfig, OauthbearerMethod, SaslConfig, SaslMechanism, SecurityProtocol, TlsConfig,
};
pub use keys::{ENV_PREFIX, RESERVED_ENV_VARS, reference_markdown};
pub use load::{EnvVars, LoadOptions};
pub use observability::{LogFormat, LoggingConfig, MetricsConfig};
pub use registry::SchemaRegistryConfig;
pub use secret::Secret;
/// "Did you mean" helpers that other crates' configuration messages share.
pub use serde_util::{closest, one_of};
pub use sink::{DeadLetterConfig, DeliveryGuarantee, SinkConfig, Tolerance};
pub use source::{
    OffsetReset, PartitionOffsets, SourceConfig, StartingOffsets, StopOffsets, Timestamp,
};

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One `[[transforms]]` table, unparsed.
pub type TransformTable = serde_json::Map<String, serde_json::Value>;

/// The whole configuration. Each crate reads its own section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How long a stopping pipeline may drain and commit before it exits.
    #[serde(with = "serde_util::duration")]
    pub shutdown_timeout: Duration,
    /// `[kafka]`: the cluster connection.
    pub kafka: KafkaConfig,
    /// `[consumer]`.
    pub consumer: ConsumerConfig,
    /// `[producer]`.
    pub producer: ProducerConfig,
    /// `[schema_registry]`.
    pub schema_registry: SchemaRegistryConfig,
    /// `[source]`.
    pub source: SourceConfig,
    /// `[sink]`.
    pub sink: SinkConfig,
    /// `[codec.key]`, `[codec.value]`.
    pub codec: CodecConfig,
    /// `[dead_letter]`.
    pub dead_letter: DeadLetterConfig,
    /// `[metrics]`.
    pub metrics: MetricsConfig,
    /// `[logging]`.
    pub logging: LoggingConfig,
    /// `[[transforms]]`, kept raw (see the crate docs).
    pub transforms: Vec<TransformTable>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            shutdown_timeout: Duration::from_secs(30),
            kafka: KafkaConfig::default(),
            consumer: ConsumerConfig::default(),
            producer: ProducerConfig::default(),
            schema_registry: SchemaRegistryConfig::default(),
            source: SourceConfig::default(),
            sink: SinkConfig::default(),
            codec: CodecConfig::default(),
            dead_letter: DeadLetterConfig::default(),
            metrics: MetricsConfig::default(),
            logging: LoggingConfig::default(),
            transforms: Vec::new(),
        }
    }
}

impl Config {
    /// The effective configuration as TOML, secrets shown as `***`.
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Render {
            format: "toml",
            message: e.to_string(),
        })
    }

    /// The effective configuration as pretty JSON, secrets shown as `***`.
    pub fn to_json_string(&self) -> Result<String, ConfigError> {
        serde_json::to_string_pretty(self).map_err(|e| ConfigError::Render {
            format: "json",
            message: e.to_string(),
        })
    }
}
