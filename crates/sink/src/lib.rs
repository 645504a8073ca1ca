//! `kbridge-sink` — the Kafka sink.
//!
//! Owns [`KafkaSink`] (built with [`KafkaSink::builder`]): a producer over
//! rdkafka's `BaseProducer`, driven synchronously by the caller's loop. A
//! fixed topic or per-record routing ([`OutRecord`]: topic, key, partition,
//! headers, timestamp, bytes borrowed), compression, linger, batch size,
//! acks, idempotence (on by default), TLS/SASL ([`Security`]) and a
//! librdkafka passthrough.
//!
//! Delivery guarantees ([`DeliveryGuarantee`]):
//! - at-least-once: idempotent producer; every [`KafkaSink::send`] carries a
//!   `u64` token that comes back in its [`Delivery`] report
//!   ([`KafkaSink::poll_deliveries`]), so the caller commits source offsets
//!   only for durable records. Failures carry a copy of the record and an
//!   [`ErrorClass`]: poison (dead-letter it), retriable (resend it), fatal.
//! - exactly-once: transactional producer with
//!   `transactional.id = <prefix>-<instance>`; `build` runs
//!   `init_transactions`, fencing an earlier instance and aborting its open
//!   transaction; [`KafkaSink::begin_transaction`],
//!   [`KafkaSink::send_offsets`] (source offsets plus group metadata),
//!   [`KafkaSink::commit_transaction`] (drains in-flight records with short
//!   polls first), [`KafkaSink::abort_transaction`]; errors classified
//!   abortable / retriable / fatal.
//!
//! A full producer queue is backpressure: `send` serves delivery reports and
//! retries, it never drops a record.
//!
//! [`KafkaSinkBuilder::from_config`] builds from kbridge's configuration.
//!
//! Moves bytes and Kafka metadata; knows nothing of Avro. Depends only on
//! `kbridge-config` among kbridge crates. No feature flags.

mod config;
mod error;
mod sink;

pub use error::{ErrorClass, SinkError};
pub use kbridge_kafka_client::{Sasl, SaslMechanism, Secret, Security, SecurityProtocol, Tls};
pub use sink::{
    Acks, Compression, Delivered, Delivery, DeliveryFailure, DeliveryGuarantee, DeliveryReports,
    FailedRecord, KafkaSink, KafkaSinkBuilder, OutRecord,
};

/// rdkafka types that appear in this crate's API.
pub use rdkafka::consumer::ConsumerGroupMetadata;
pub use rdkafka::message::OwnedHeaders;
pub use rdkafka::{Offset, TopicPartitionList};
