//! Consumer-group lag: per partition the committed offset, the log start and
//! end offsets and the lag, with totals.
//!
//! The log end comes from ListOffsets (the high watermark). Brokers that
//! under-report it (tansu does) show a smaller lag; a committed offset past
//! the reported end is counted in [`GroupLag::committed_past_end`] rather
//! than hidden.

use crate::{AdminError, Cluster};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

/// One partition of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The group's committed offset (the next record it will read), if any.
    pub committed: Option<i64>,
    /// First offset still in the log.
    pub log_start: i64,
    /// Offset after the last record (high watermark).
    pub log_end: i64,
    /// Records between the committed offset (or the log start, when none
    /// is committed or it was deleted) and the log end; never negative.
    pub lag: i64,
}

/// `lag --group G`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupLag {
    /// The group.
    pub group: String,
    /// Group state as the broker reports it (`Stable`, `Empty`, ...), if
    /// the broker lists the group.
    pub state: Option<String>,
    /// Active members.
    pub members: usize,
    /// Partitions, by topic then partition.
    pub partitions: Vec<PartitionLag>,
    /// Sum of the lags.
    pub total_lag: i64,
    /// Partitions whose committed offset is beyond the reported log end
    /// (a stale high watermark from the broker).
    pub committed_past_end: usize,
}

/// The lag of one partition: from the committed offset (clamped at the log
/// start; the log start when nothing is committed) to the end, at least 0.
pub fn partition_lag(committed: Option<i64>, log_start: i64, log_end: i64) -> i64 {
    let from = committed.unwrap_or(log_start).max(log_start);
    (log_end - from).max(0)
}

/// Committed offsets and lag of `group`, on `topic` or on every partition
/// of the topics where the group has committed offsets. An unknown group (not listed by the
/// broker, or `Dead`, and without committed offsets) is
/// [`AdminError::GroupNotFound`]; a missing topic [`AdminError::TopicNotFound`].
pub fn group_lag(
    cluster: &Cluster,
    group: &str,
    topic: Option<&str>,
) -> Result<GroupLag, AdminError> {
    let consumer: BaseConsumer =
        cluster
            .consumer_config(Some(group), &[])
            .create()
            .map_err(|source| AdminError::CreateClient {
                client: "consumer",
                source,
            })?;
    let timeout = cluster.timeout();

    let groups = consumer
        .fetch_group_list(Some(group), timeout)
        .map_err(|source| AdminError::DescribeGroup {
            group: group.to_string(),
            source,
        })?;
    let listed = groups
        .groups()
        .iter()
        .find(|g| g.name() == group && g.state() != "Dead");
    let state = listed.map(|g| g.state().to_string());
    let members = listed.map_or(0, |g| g.members().len());

    let mut wanted = TopicPartitionList::new();
    match topic {
        Some(t) => {
            for p in crate::topics::partitions_with(cluster, &consumer, t)? {
                wanted.add_partition(t, p.partition);
            }
        }
        None => {
            let md = cluster.metadata(&consumer, None)?;
            for t in md.topics() {
                if t.error().is_some() || t.name().starts_with("__") {
                    continue;
                }
                for p in t.partitions() {
                    wanted.add_partition(t.name(), p.id());
                }
            }
        }
    }
    let committed = if wanted.count() == 0 {
        TopicPartitionList::new()
    } else {
        consumer
            .committed_offsets(wanted, timeout)
            .map_err(|source| AdminError::FetchCommitted {
                group: group.to_string(),
                source,
            })?
    };

    let committed_offset =
        |elem: &rdkafka::topic_partition_list::TopicPartitionListElem<'_>| match elem.offset() {
            Offset::Offset(o) if o >= 0 => Some(o),
            _ => None,
        };
    // without --topic: every partition of the topics the group committed on
    let topics_with_commits: std::collections::BTreeSet<String> = committed
        .elements()
        .iter()
        .filter(|e| committed_offset(e).is_some())
        .map(|e| e.topic().to_string())
        .collect();
    let any_committed = !topics_with_commits.is_empty();
    let mut rows = Vec::new();
    for elem in committed.elements() {
        let offset = committed_offset(&elem);
        if topic.is_none() && !topics_with_commits.contains(elem.topic()) {
            continue;
        }
        let (log_start, log_end) = consumer
            .fetch_watermarks(elem.topic(), elem.partition(), timeout)
            .map_err(|source| AdminError::FetchWatermarks {
                topic: elem.topic().to_string(),
                partition: elem.partition(),
                source,
            })?;
        rows.push(PartitionLag {
            topic: elem.topic().to_string(),
            partition: elem.partition(),
            committed: offset,
            log_start,
            log_end,
            lag: partition_lag(offset, log_start, log_end),
        });
    }
    if listed.is_none() && !any_committed {
        return Err(AdminError::GroupNotFound {
            group: group.to_string(),
        });
    }
    rows.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(GroupLag {
        group: group.to_string(),
        state,
        members,
        total_lag: rows.iter().map(|r| r.lag).sum(),
        committed_past_end: rows
            .iter()
            .filter(|r| r.committed.is_some_and(|c| c > r.log_end))
            .count(),
        partitions: rows,
    })
}

#[cfg(test)]
mod tests {
    use super::partition_lag;

    #[test]
    fn lag_is_end_minus_committed_clamped_at_the_log_start() {
        assert_eq!(partition_lag(Some(3), 0, 10), 7);
        assert_eq!(partition_lag(Some(10), 0, 10), 0);
        // retention deleted records the group never read: lag from the log start
        assert_eq!(partition_lag(Some(2), 5, 10), 5);
        // nothing committed: everything retained is lag
        assert_eq!(partition_lag(None, 4, 10), 6);
        // a committed offset past a stale end is never a negative lag
        assert_eq!(partition_lag(Some(12), 0, 10), 0);
    }
}
