//! Per-source-topic and per-partition state of a running pipeline, found
//! by (topic, partition) without allocating on the hot path.

use std::collections::HashMap;

use kbridge_metrics::{Metrics, PartitionMetrics, SourceTopicMetrics};
use kbridge_source::TopicPartition;

use super::outputs::Tally;
use crate::options::DeadLetter;
use crate::watermark::PartitionSlot;

/// One input topic.
#[derive(Debug)]
pub(crate) struct SourceTopic {
    pub(crate) metrics: SourceTopicMetrics,
    /// Consumed since the last [`Parts::flush_consumed`].
    pub(crate) consumed: Tally,
    /// The dead-letter topic of its records.
    pub(crate) dlq: String,
}

/// One assigned partition.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) tp: TopicPartition,
    pub(crate) topic: usize,
    /// `None` once revoked (dropping the handle drops its series).
    pub(crate) metrics: Option<PartitionMetrics>,
    pub(crate) watermark: Option<PartitionSlot>,
    pub(crate) live: bool,
    /// Bumped when the partition is rewound: records polled before that
    /// and still waiting in a batch are ignored (they come again).
    pub(crate) generation: u32,
    /// Next offset after the last record handled since the last
    /// transaction commit (exactly-once: what the transaction commits).
    pub(crate) next: Option<i64>,
}

/// The tables.
#[derive(Debug)]
pub(crate) struct Parts {
    metrics: Metrics,
    pub(crate) topics: Vec<SourceTopic>,
    topic_index: HashMap<String, usize>,
    parts: Vec<Part>,
    index: HashMap<String, HashMap<i32, u32>>,
    free: Vec<u32>,
    last: Option<u32>,
}

impl Parts {
    pub(crate) fn new(metrics: Metrics) -> Self {
        Parts {
            metrics,
            topics: Vec::new(),
            topic_index: HashMap::new(),
            parts: Vec::new(),
            index: HashMap::new(),
            free: Vec::new(),
            last: None,
        }
    }

    fn topic_of(&mut self, name: &str, dlq: &DeadLetter) -> usize {
        if let Some(&i) = self.topic_index.get(name) {
            return i;
        }
        let i = self.topics.len();
        self.topics.push(SourceTopic {
            metrics: self.metrics.source_topic(name),
            consumed: Tally::default(),
            dlq: dlq.topic_for(name),
        });
        self.topic_index.insert(name.to_owned(), i);
        i
    }

    /// The slot of a partition, creating it (assigned) if needed.
    #[inline]
    pub(crate) fn slot(&mut self, topic: &str, partition: i32, dlq: &DeadLetter) -> u32 {
        if let Some(i) = self.last {
            let p = &self.parts[i as usize];
            if p.tp.partition == partition && p.tp.topic == topic {
                return i;
            }
        }
        let i = match self.index.get(topic).and_then(|m| m.get(&partition)) {
            Some(&i) => i,
            None => self.add(topic, partition, dlq),
        };
        self.last = Some(i);
        i
    }

    fn add(&mut self, topic: &str, partition: i32, dlq: &DeadLetter) -> u32 {
        let t = self.topic_of(topic, dlq);
        let part = Part {
            tp: TopicPartition::new(topic, partition),
            topic: t,
            metrics: Some(self.metrics.partition(topic, partition)),
            watermark: None,
            live: true,
            generation: 0,
            next: None,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.parts[i as usize] = part;
                i
            }
            None => {
                self.parts.push(part);
                (self.parts.len() - 1) as u32
            }
        };
        self.index
            .entry(topic.to_owned())
            .or_default()
            .insert(partition, i);
        i
    }

    /// Forgets a partition (revoked); its metrics series disappear.
    pub(crate) fn remove(&mut self, tp: &TopicPartition) -> Option<u32> {
        let i = self.index.get_mut(&tp.topic)?.remove(&tp.partition)?;
        let p = &mut self.parts[i as usize];
        p.live = false;
        p.watermark = None;
        p.metrics = None;
        self.free.push(i);
        if self.last == Some(i) {
            self.last = None;
        }
        Some(i)
    }

    pub(crate) fn get(&self, slot: u32) -> &Part {
        &self.parts[slot as usize]
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Part {
        &mut self.parts[slot as usize]
    }

    pub(crate) fn topic(&self, slot: u32) -> &SourceTopic {
        &self.topics[self.parts[slot as usize].topic]
    }

    /// One record of `bytes` consumed from the partition in `slot`,
    /// added to the metrics at the next [`flush_consumed`](Self::flush_consumed).
    #[inline]
    pub(crate) fn consumed(&mut self, slot: u32, bytes: u64) {
        let t = self.parts[slot as usize].topic;
        self.topics[t].consumed.add(bytes);
    }

    /// Adds the records consumed so far to the metrics.
    pub(crate) fn flush_consumed(&mut self) {
        for t in &mut self.topics {
            if let Some(c) = t.consumed.take() {
                t.metrics.consumed_batch(c.records, c.bytes);
            }
        }
    }

    /// The slot of an assigned partition, if it is assigned.
    pub(crate) fn find(&self, tp: &TopicPartition) -> Option<u32> {
        self.index.get(&tp.topic)?.get(&tp.partition).copied()
    }

    /// Live partitions.
    pub(crate) fn live(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter().filter(|p| p.live)
    }

    /// Every partition was rewound (an aborted transaction): records in
    /// batches not yet handled are stale, and nothing is handled since
    /// the last commit.
    pub(crate) fn rewound_all(&mut self) {
        for p in &mut self.parts {
            p.generation = p.generation.wrapping_add(1);
            p.next = None;
        }
    }

    /// A transaction committed everything handled so far.
    pub(crate) fn committed_all(&mut self) {
        for p in &mut self.parts {
            p.next = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_found_reused_and_forgotten() {
        let mut p = Parts::new(Metrics::disabled());
        let dlq = DeadLetter::default();
        let a = p.slot("orders", 0, &dlq);
        let b = p.slot("orders", 1, &dlq);
        assert_ne!(a, b);
        assert_eq!(p.slot("orders", 0, &dlq), a);
        assert_eq!(p.topic(a).dlq, "orders.dlq");
        assert_eq!(p.remove(&TopicPartition::new("orders", 0)), Some(a));
        assert_eq!(p.find(&TopicPartition::new("orders", 0)), None);
        assert_eq!(p.live().count(), 1);
        let c = p.slot("refunds", 0, &dlq);
        assert_eq!(c, a, "the freed slot is reused");
        assert_eq!(p.get(c).tp, TopicPartition::new("refunds", 0));
        assert_eq!(p.topics.len(), 2);
    }
}
