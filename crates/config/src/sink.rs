//! `[sink]` and `[dead_letter]`: where records are written and where the
//! ones that fail go.

use crate::serde_util::{duration, size, string_enum};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[sink]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SinkConfig {
    /// Output topic. `{topic}` is replaced by the source record's topic
    /// (`{topic}.v2`). Unset: transforms must route every record.
    pub topic: Option<String>,
    /// `at_least_once` (idempotent producer, commit after delivery) or
    /// `exactly_once` (transactions with the consumer offsets inside).
    pub delivery_guarantee: DeliveryGuarantee,
    /// Exactly-once: transactional ids are `<prefix>-<instance>`.
    pub transactional_id_prefix: String,
    /// Exactly-once: commit the transaction after this many records…
    pub transaction_max_records: u64,
    /// …or after this long, whichever comes first.
    #[serde(with = "duration")]
    pub transaction_max_duration: Duration,
    /// Back-pressure: at most this many records sent but not yet acknowledged.
    pub max_in_flight_records: u64,
    /// Back-pressure: at most this many bytes sent but not yet acknowledged.
    #[serde(with = "size")]
    pub max_in_flight_bytes: u64,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            topic: None,
            delivery_guarantee: DeliveryGuarantee::default(),
            transactional_id_prefix: "kbridge".to_string(),
            transaction_max_records: 10_000,
            transaction_max_duration: Duration::from_millis(100),
            max_in_flight_records: 100_000,
            max_in_flight_bytes: 64 << 20,
        }
    }
}

string_enum! {
    /// `sink.delivery_guarantee`.
    pub enum DeliveryGuarantee {
        /// Idempotent producer; offsets committed after delivery reports.
        /// Records may repeat after a crash, never go missing.
        AtLeastOnce = "at_least_once",
        /// Transactional producer; outputs and offsets commit atomically.
        ExactlyOnce = "exactly_once",
    }
    default = AtLeastOnce;
}

/// `[dead_letter]`: records that fail to decode, transform or encode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadLetterConfig {
    /// Write failed records to the dead-letter topic.
    pub enabled: bool,
    /// Dead-letter topic; `{topic}` is replaced by the source topic.
    pub topic: String,
    /// `none`: stop at the first failed record. `all`: skip failed records
    /// (to the dead-letter topic when enabled) and keep going.
    pub tolerance: Tolerance,
    /// Add the error context headers (`__connect.errors.*`, `kbridge.error.*`).
    pub context_headers: bool,
}

impl Default for DeadLetterConfig {
    fn default() -> Self {
        DeadLetterConfig {
            enabled: false,
            topic: "{topic}.dlq".to_string(),
            tolerance: Tolerance::default(),
            context_headers: true,
        }
    }
}

impl DeadLetterConfig {
    /// The dead-letter topic for records read from `source_topic`.
    pub fn topic_for(&self, source_topic: &str) -> String {
        self.topic.replace("{topic}", source_topic)
    }
}

impl SinkConfig {
    /// The output topic for records read from `source_topic`, if configured.
    pub fn topic_for(&self, source_topic: &str) -> Option<String> {
        self.topic
            .as_ref()
            .map(|t| t.replace("{topic}", source_topic))
    }
}

string_enum! {
    /// `dead_letter.tolerance` (Kafka Connect's `errors.tolerance`).
    pub enum Tolerance {
        /// A failed record stops the pipeline.
        None = "none",
        /// Failed records are skipped (dead-lettered when enabled).
        All = "all",
    }
    default = None;
}
