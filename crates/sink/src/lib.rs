//! `kbridge-sink` — the Kafka sink.
//!
//! Will own: `KafkaSink::builder()` over rdkafka (fixed topic or per-record
//! routing, compression, batching, acks), the at-least-once idempotent
//! producer and the exactly-once transactional producer (fencing of a previous
//! run's transactions, offsets sent inside the transaction).
//!
//! Moves bytes and Kafka metadata; knows nothing of Avro.
