//! `kbridge-codec` — Kafka bytes to records and back, with no I/O of its own.
//!
//! Will own: the wire formats (Confluent id prefix, GUID prefix, header-based
//! schema ids, plain JSON, UTF-8, raw bytes, fixed-schema Avro, single-object
//! encoding), the record value model transforms work on, Avro schema
//! resolution on read, logical types, JSON <-> Avro, and typed serde access.
//! Schemas arrive through a resolver trait; the registry client implements it.
//!
//! Must not perform network or file I/O.
