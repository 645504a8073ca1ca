//! `kbridge-config` — configuration for every kbridge crate and the CLI.
//!
//! Owns: figment layering (built-in defaults < TOML/YAML file < environment
//! (`KBRIDGE_*` with `__` nesting, plus the plain `KAFKA_*` /
//! `SCHEMA_REGISTRY_URL` names) < CLI overrides), the typed sections (kafka,
//! consumer, producer, schema registry, source, sink, dead letter, metrics,
//! logging), validation that reports every problem at once with where each
//! value came from, and the redacting [`Secret`] type.
//!
//! Must not depend on any other kbridge crate: it is the bottom layer.
