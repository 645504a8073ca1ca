//! `kbridge-registry-server` — an embedded, Confluent-compatible Schema Registry.
//!
//! Will own: the HTTP server (same paths, status codes, `error_code`s and
//! content type as Confluent's), compatibility enforcement on register,
//! modes, soft/permanent delete, and the `memory` and `kafka` (compacted
//! `_schemas` topic) stores.
//!
//! Depends on `kbridge-registry` for the API types and the compatibility engine.
