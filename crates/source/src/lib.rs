//! `kbridge-source` — the Kafka source.
//!
//! Owns [`KafkaSource`] (built with [`KafkaSource::builder`]): a consumer-group
//! consumer over rdkafka's `BaseConsumer`, driven synchronously by the
//! caller's loop through [`KafkaSource::poll`]. It covers topic lists and
//! patterns, every start-offset mode ([`StartOffsets`]), bounded replays
//! ([`StopOffsets`] and [`SourceEvent::Finished`]), partition and topic
//! discovery, TLS/SASL ([`Security`]) and a librdkafka passthrough. Records
//! ([`SourceRecord`]) borrow the consumer's buffer: key, value, headers,
//! topic, partition, offset, timestamp and its type, without copying.
//!
//! Offsets are never committed behind the caller's back
//! (`enable.auto.commit=false`, `enable.auto.offset.store=false`):
//! - at-least-once: [`OffsetTracker`] turns completions (delivery reports)
//!   into the next offsets to commit, never past a gap, and
//!   [`KafkaSource::commit`] commits them;
//! - exactly-once: [`KafkaSource::pending_offsets`] and
//!   [`KafkaSource::group_metadata`] go into the producer transaction,
//!   [`KafkaSource::mark_committed`] after it commits, [`KafkaSource::rewind`]
//!   after it aborts.
//!
//! Rebalances surface as events: [`SourceEvent::Revoked`] hands the
//! partitions to the caller, who finishes or abandons their in-flight work;
//! they are released on the next `poll`. Assignments apply the start policy
//! per partition before [`SourceEvent::Assigned`] is returned.
//!
//! [`KafkaSourceBuilder::from_config`] builds from kbridge's configuration.
//!
//! Moves bytes and Kafka metadata; knows nothing of Avro. Depends only on
//! `kbridge-config` among kbridge crates. No feature flags.

mod config;
mod context;
mod error;
mod headers;
mod offsets;
mod source;
mod tracker;

pub use error::{ErrorClass, SourceError};
pub use headers::{RecordHeader, RecordHeaders};
pub use kbridge_kafka_client::{Sasl, SaslMechanism, Secret, Security, SecurityProtocol, Tls};
pub use offsets::{
    Fallback, Isolation, PartitionOffsets, StartOffsets, StopOffsets, TopicPartition,
    parse_timestamp_millis,
};
pub use source::{
    KafkaSource, KafkaSourceBuilder, Revocation, SourceEvent, SourceRecord, Subscription,
    TimestampType,
};
pub use tracker::{OffsetTracker, Ticket};

/// rdkafka types that appear in this crate's API.
pub use rdkafka::consumer::{CommitMode, ConsumerGroupMetadata};
pub use rdkafka::{Offset, TopicPartitionList};
