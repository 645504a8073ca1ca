//! `kbridge-source` — the Kafka source.
//!
//! Will own: `KafkaSource::builder()` over rdkafka (topics or a regex, group,
//! every starting-offset mode, stop offsets for bounded replays, discovery,
//! security, librdkafka passthrough), the record it yields (key, value,
//! headers, topic, partition, offset, timestamp) and offset tracking that
//! commits only contiguous completed offsets.
//!
//! Moves bytes and Kafka metadata; knows nothing of Avro.
