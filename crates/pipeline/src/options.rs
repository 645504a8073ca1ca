//! The knobs of a pipeline: delivery guarantee, transaction size,
//! in-flight limits, the dead-letter policy, event time, retries.

use std::time::Duration;

use crate::watermark::{LatePolicy, WatermarkConfig};

/// What a pipeline promises about its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Guarantee {
    /// Idempotent producer; source offsets are committed only after the
    /// delivery reports of everything they cover. A crash may repeat
    /// records, never lose one.
    #[default]
    AtLeastOnce,
    /// Transactional producer; outputs, dead-letter records and the source
    /// offsets commit atomically. Needs a sink built with `exactly_once`.
    ExactlyOnce,
}

/// When an exactly-once pipeline commits its open transaction: after this
/// many input records or this long, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionLimits {
    /// Input records per transaction.
    pub max_records: u64,
    /// Longest time a transaction stays open.
    pub max_duration: Duration,
}

impl Default for TransactionLimits {
    /// 10,000 records or 100 ms.
    fn default() -> Self {
        TransactionLimits {
            max_records: 10_000,
            max_duration: Duration::from_millis(100),
        }
    }
}

/// Backpressure: how much may be sent and not yet acknowledged. When
/// either limit is reached the pipeline stops reading and serves delivery
/// reports until it is back under.
///
/// The record count is enforced by the pipeline in both modes. Bytes are
/// counted exactly under at-least-once; under exactly-once (no success
/// reports) they are capped by the producer queue
/// (`queue.buffering.max.kbytes`, which [`crate::Pipeline::from_config`]
/// sets from the same limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Records sent and not yet acknowledged.
    pub max_in_flight_records: usize,
    /// Key + value bytes sent and not yet acknowledged.
    pub max_in_flight_bytes: u64,
}

impl Default for Limits {
    /// 100,000 records, 64 MiB.
    fn default() -> Self {
        Limits {
            max_in_flight_records: 100_000,
            max_in_flight_bytes: 64 << 20,
        }
    }
}

/// What happens to a record that fails a stage (Kafka Connect's
/// `errors.tolerance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tolerance {
    /// The first failed record stops the pipeline; what was durably
    /// written before it is committed, the record itself is not.
    #[default]
    None,
    /// Failed records go to the dead-letter topic (when enabled) and the
    /// pipeline goes on.
    All,
}

/// The dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Write failed records to the dead-letter topic. With
    /// [`Tolerance::All`] and no dead-letter topic, failed records are
    /// skipped (logged and counted).
    pub enabled: bool,
    /// The dead-letter topic; `{topic}` is replaced by the source topic.
    pub topic: String,
    /// Stop at the first failed record, or go on.
    pub tolerance: Tolerance,
    /// Add the error context headers (`__connect.errors.*`,
    /// `kbridge.error.*`) to dead-letter records.
    pub context_headers: bool,
}

impl Default for DeadLetter {
    /// Enabled, `{topic}.dlq`, tolerance `all`, with context headers.
    fn default() -> Self {
        DeadLetter {
            enabled: true,
            topic: "{topic}.dlq".to_owned(),
            tolerance: Tolerance::All,
            context_headers: true,
        }
    }
}

impl DeadLetter {
    /// The dead-letter topic for records read from `source_topic`.
    pub fn topic_for(&self, source_topic: &str) -> String {
        self.topic.replace("{topic}", source_topic)
    }
}

/// Event time: watermarks over the output records' timestamps (after the
/// transforms, so a `set_timestamp` transform moves them), and what to do
/// with records behind the watermark.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventTime {
    /// Out-of-orderness bound, idle timeout, allowed lateness.
    pub watermarks: WatermarkConfig,
    /// Keep, drop or side-route late records (counted in every case).
    pub late: LatePolicy,
}

/// Backoff of retriable failures (registry down, broker unavailable):
/// `initial`, doubling up to `max`, for as long as it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First wait.
    pub initial: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Default for RetryPolicy {
    /// 100 ms doubling up to 5 s.
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt` (1 = the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// Where outputs go when a transform does not route them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTopic {
    /// Every record to this topic.
    Fixed(String),
    /// Per source topic: `{topic}` is replaced by the record's source topic
    /// (`{topic}.v2`).
    Template(String),
    /// Transforms must route every record (a record without a topic is a
    /// dead-letter record).
    Routed,
}

impl OutputTopic {
    /// `Template` when `name` contains `{topic}`, else `Fixed`.
    pub fn from_template(name: &str) -> Self {
        if name.contains("{topic}") {
            OutputTopic::Template(name.to_owned())
        } else {
            OutputTopic::Fixed(name.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_up_to_the_maximum() {
        let r = RetryPolicy::default();
        let ms: Vec<u128> = (1..=8).map(|a| r.delay(a).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(r.delay(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn templates_are_recognised() {
        assert_eq!(
            OutputTopic::from_template("{topic}.v2"),
            OutputTopic::Template("{topic}.v2".into())
        );
        assert_eq!(
            OutputTopic::from_template("out"),
            OutputTopic::Fixed("out".into())
        );
        assert_eq!(DeadLetter::default().topic_for("orders"), "orders.dlq");
    }
}
