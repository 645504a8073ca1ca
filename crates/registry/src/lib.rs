//! `kbridge-registry` — a client of the Confluent Schema Registry REST API.
//!
//! Will own: the async client (every endpoint, failover, retries, auth, TLS),
//! the caches (schema by id for the life of the process, id by subject and
//! schema, latest version with a TTL), subject name strategies, typed errors
//! carrying the registry's `error_code`, and the Avro compatibility engine.
//!
//! Depends on `kbridge-config` only; knows nothing of Kafka.

pub mod compat;
