//! `kbridge-registry` — a client of the Confluent Schema Registry REST API
//! (also Karapace, Redpanda and Apicurio in Confluent mode).
//!
//! Owns:
//! - [`RegistryClient`]: every endpoint of the REST API (schemas by id,
//!   subjects, versions, register, lookup, soft/permanent delete,
//!   compatibility, config, mode), over a [transport](RegistryClientBuilder)
//!   with several base URLs and failover, timeouts, retries with jittered
//!   exponential backoff (connection errors, 5xx and 429 only), basic auth, a
//!   refreshable bearer [`TokenProvider`], and TLS with a custom CA and a
//!   client certificate.
//! - Caches: [`ParsedSchema`] by id for the life of the process (concurrent
//!   misses for one id make a single request), id by (subject, schema) for
//!   encoders, latest version by subject with a TTL.
//! - [`SubjectNameStrategy`] (topic, record, topic-record).
//! - The REST API's data types ([`types`]) and `error_code`s
//!   ([`error_code`]), shared with the embedded registry.
//! - Avro schema references, resolved recursively into a [`ParsedSchema`].
//! - The Avro compatibility engine ([`compat`]), which needs no network.
//!
//! Errors are one [`RegistryError`] enum carrying the registry's
//! `error_code` and message; [`RegistryError::class`] tells a pipeline
//! whether to dead-letter, retry or stop.
//!
//! Must not depend on Kafka, on the codecs or on the pipeline. Of
//! `kbridge-config` it uses only the redacting [`Secret`]; the `kbridge` CLI
//! builds a client from `[schema_registry]` (`commands::schema::client`).

mod cache;
mod client;
pub mod compat;
mod error;
mod parsed;
mod strategy;
mod transport;
pub mod types;

pub use client::RegistryClient;
pub use error::{ErrorClass, RegistryError, error_code};
pub use kbridge_config::Secret;
pub use parsed::{AvroSchema, ParsedSchema, parse_avro};
pub use strategy::{SubjectKind, SubjectNameStrategy};
pub use transport::{
    Auth, RegistryClientBuilder, RetryPolicy, StaticToken, TlsOptions, TokenFuture, TokenProvider,
};
pub use types::{
    CompatibilityResult, Mode, RegisteredSchema, SchemaDefinition, SchemaReference, SchemaType,
    SubjectVersion, VersionSelector,
};
