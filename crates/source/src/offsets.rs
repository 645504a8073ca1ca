//! Where a source starts and where a bounded replay stops.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::SourceError;

/// A topic and one of its partitions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic[partition]`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.topic, self.partition)
    }
}

/// Per-partition offsets.
pub type PartitionOffsets = BTreeMap<TopicPartition, i64>;

/// Where to start when there is no committed offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fallback {
    /// The first offset still in the log.
    #[default]
    Earliest,
    /// The end of the log (only records produced from now on).
    Latest,
}

/// Where reading starts.
///
/// Explicit positions (`Earliest`, `Latest`, `Timestamp`, `Offsets`) apply
/// the first time this source is assigned a partition and override the
/// group's committed offset; if the partition comes back in a later
/// rebalance of the same run, the committed offset is used (and the explicit
/// position again if there is none). In a group of several instances use
/// `Committed`: an explicit position would be applied by every instance that
/// receives the partition for the first time.
///
/// Partitions that did not exist when the source was built (added later, or
/// in topics created later and matched by a pattern) always start at their
/// committed offset or else the earliest offset, whatever the policy, so
/// records written between their creation and their discovery are not lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartOffsets {
    /// The earliest offset.
    Earliest,
    /// The end of each partition. On tansu 0.6 "the end" is the base offset
    /// of the newest stored batch plus one, so the rest of that batch is
    /// read too.
    Latest,
    /// The group's committed offset, else the fallback.
    Committed {
        /// Used when the group has no committed offset for a partition.
        fallback: Fallback,
    },
    /// The first record whose timestamp is at or after this many
    /// milliseconds since the epoch (the end if there is none). Records
    /// before it are skipped on the client too, so a broker that answers
    /// timestamp look-ups per batch rather than per record (tansu 0.6)
    /// still starts at the right record.
    Timestamp(i64),
    /// These offsets; unlisted partitions use the committed offset, else
    /// `fallback`.
    Offsets {
        /// Start offset per partition.
        offsets: PartitionOffsets,
        /// For partitions not listed that have no committed offset.
        fallback: Fallback,
    },
}

impl Default for StartOffsets {
    fn default() -> Self {
        StartOffsets::Committed {
            fallback: Fallback::Earliest,
        }
    }
}

impl StartOffsets {
    /// `Timestamp` from RFC 3339 text or epoch milliseconds.
    pub fn timestamp(text: &str) -> Result<Self, SourceError> {
        parse_timestamp_millis(text).map(StartOffsets::Timestamp)
    }
}

/// Where a bounded replay stops. Stop offsets are exclusive: a partition is
/// finished once every record before its stop offset has been returned.
///
/// Partitions that a stop policy does not cover (not in the map, or created
/// after the source started with `LatestAtStart`) are finished at once and
/// not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopOffsets {
    /// The high watermark of each partition when the source was built.
    ///
    /// On tansu (0.6) `ListOffsets(latest)` can under-report the high
    /// watermark (it picks the newest batch object, not the highest offset),
    /// so a replay may stop a few records short there; use `Offsets` for an
    /// exact bound on such brokers.
    LatestAtStart,
    /// These offsets, per partition.
    Offsets(PartitionOffsets),
    /// Records before the first one whose timestamp is at or after this
    /// many milliseconds since the epoch, and before the high watermark
    /// seen when the partition is first assigned. Checked on each record,
    /// so it needs no timestamp index on the broker.
    Timestamp(i64),
}

impl StopOffsets {
    /// `Timestamp` from RFC 3339 text or epoch milliseconds.
    pub fn timestamp(text: &str) -> Result<Self, SourceError> {
        parse_timestamp_millis(text).map(StopOffsets::Timestamp)
    }
}

/// Parses `2026-11-01T00:00:00Z` (RFC 3339, any offset) or epoch
/// milliseconds (`1793491200000`) into epoch milliseconds.
pub fn parse_timestamp_millis(text: &str) -> Result<i64, SourceError> {
    let t = text.trim();
    let err = || SourceError::ParseTimestamp {
        input: text.to_owned(),
    };
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse::<i64>().map_err(|_| err());
    }
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.timestamp_millis())
        .map_err(|_| err())
}

/// `isolation.level`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Isolation {
    /// Only committed transactional records (the default).
    #[default]
    ReadCommitted,
    /// Everything, including records of open and aborted transactions.
    ReadUncommitted,
}

impl Isolation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read_committed",
            Isolation::ReadUncommitted => "read_uncommitted",
        }
    }
}

/// Comma-separated `topic[partition]` list for messages.
pub(crate) fn list<'a>(parts: impl IntoIterator<Item = &'a TopicPartition>) -> String {
    let mut s = String::new();
    for (i, tp) in parts.into_iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&tp.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_and_epoch_millis() {
        assert_eq!(
            parse_timestamp_millis("2026-11-01T00:00:00Z").unwrap(),
            1_793_491_200_000
        );
        assert_eq!(
            parse_timestamp_millis("2026-11-01T01:00:00+01:00").unwrap(),
            1_793_491_200_000
        );
        assert_eq!(
            parse_timestamp_millis("2026-11-01T00:00:00.250Z").unwrap(),
            1_793_491_200_250
        );
        assert_eq!(
            parse_timestamp_millis(" 1793491200000 ").unwrap(),
            1_793_491_200_000
        );
        assert_eq!(
            StartOffsets::timestamp("0").unwrap(),
            StartOffsets::Timestamp(0)
        );
    }

    #[test]
    fn rejects_other_timestamp_text() {
        for bad in [
            "",
            "yesterday",
            "2026-11-01",
            "-5",
            "1.5",
            "99999999999999999999",
        ] {
            let e = parse_timestamp_millis(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "parse timestamp {bad:?}: expected RFC 3339 (2026-11-01T00:00:00Z) or epoch milliseconds"
                )
            );
        }
    }

    #[test]
    fn default_start_is_committed_then_earliest() {
        assert_eq!(
            StartOffsets::default(),
            StartOffsets::Committed {
                fallback: Fallback::Earliest
            }
        );
    }

    #[test]
    fn lists_partitions() {
        let parts = [TopicPartition::new("a", 0), TopicPartition::new("b", 3)];
        assert_eq!(list(&parts), "a[0], b[3]");
    }
}
