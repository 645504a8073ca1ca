//! At-least-once offset tracking: which source offsets are safe to commit.
//!
//! Every consumed record is registered with [`OffsetTracker::track`], which
//! hands back a [`Ticket`]; the ticket travels with the record's outputs (for
//! example as the sink's delivery token) and is completed when they are
//! durable. Per partition the tracker yields the next offset to commit: the
//! last offset of the unbroken run of completed records from the start,
//! plus one. It never moves past an incomplete record, however many later
//! records have completed (the off-by-one and the gap that lose data).

use std::collections::{HashMap, VecDeque};

use rdkafka::{Offset, TopicPartitionList};

use crate::offsets::TopicPartition;

const SEQ_BITS: u32 = 40;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
const EPOCH_BITS: u32 = 8;
const SLOT_LIMIT: usize = 1 << (64 - SEQ_BITS - EPOCH_BITS);

/// Handed out when a record could not be tracked; completing it does nothing.
const UNTRACKED: Ticket = Ticket(u64::MAX);

/// Identifies one tracked record: pass it to [`OffsetTracker::complete`]
/// when the record's outputs are durable. It packs into a `u64`
/// ([`Ticket::to_raw`]) so it can ride along as a delivery token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket(u64);

impl Ticket {
    /// The ticket as a plain integer.
    pub fn to_raw(self) -> u64 {
        self.0
    }

    /// A ticket from [`Ticket::to_raw`]. An integer that never came from a
    /// tracker is harmless: `complete` ignores it.
    pub fn from_raw(raw: u64) -> Self {
        Ticket(raw)
    }

    fn new(slot: usize, epoch: u8, seq: u64) -> Self {
        Ticket(
            ((slot as u64) << (SEQ_BITS + EPOCH_BITS))
                | (u64::from(epoch) << SEQ_BITS)
                | (seq & SEQ_MASK),
        )
    }

    fn slot(self) -> usize {
        (self.0 >> (SEQ_BITS + EPOCH_BITS)) as usize
    }

    fn epoch(self) -> u8 {
        ((self.0 >> SEQ_BITS) & ((1 << EPOCH_BITS) - 1)) as u8
    }

    fn seq(self) -> u64 {
        self.0 & SEQ_MASK
    }
}

#[derive(Debug)]
struct Entry {
    offset: i64,
    /// Outputs still to become durable; 0 = done.
    pending: u32,
}

#[derive(Debug)]
struct Slot {
    tp: TopicPartition,
    epoch: u8,
    live: bool,
    /// Sequence number (mod 2^40) of `entries[0]`.
    base_seq: u64,
    entries: VecDeque<Entry>,
    /// Next offset to commit (last contiguous completed + 1).
    commit: Option<i64>,
    /// `commit` moved since the last `take_committable`.
    dirty: bool,
    last_offset: Option<i64>,
    pending_records: usize,
}

impl Slot {
    fn reset(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        self.base_seq = 0;
        self.entries.clear();
        self.commit = None;
        self.dirty = false;
        self.last_offset = None;
        self.pending_records = 0;
    }

    fn advance(&mut self) {
        while let Some(e) = self.entries.front() {
            if e.pending > 0 {
                break;
            }
            self.commit = Some(e.offset + 1);
            self.dirty = true;
            self.entries.pop_front();
            self.base_seq = (self.base_seq + 1) & SEQ_MASK;
        }
    }
}

/// In-flight records per partition and the offsets that are safe to commit.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// topic -> partition -> slot index
    index: HashMap<String, HashMap<i32, usize>>,
    /// The slot of the previous `track` call (records come in runs per partition).
    last: Option<usize>,
    in_flight: usize,
}

impl OffsetTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    fn slot_for(&mut self, topic: &str, partition: i32) -> usize {
        if let Some(i) = self.last {
            let s = &self.slots[i];
            if s.live && s.tp.partition == partition && s.tp.topic == topic {
                return i;
            }
        }
        if let Some(&i) = self.index.get(topic).and_then(|m| m.get(&partition)) {
            self.last = Some(i);
            return i;
        }
        let tp = TopicPartition::new(topic, partition);
        let i = match self.free.pop() {
            Some(i) => {
                let s = &mut self.slots[i];
                s.tp = tp;
                s.live = true;
                i
            }
            None => {
                self.slots.push(Slot {
                    tp,
                    epoch: 0,
                    live: true,
                    base_seq: 0,
                    entries: VecDeque::new(),
                    commit: None,
                    dirty: false,
                    last_offset: None,
                    pending_records: 0,
                });
                self.slots.len() - 1
            }
        };
        self.index
            .entry(topic.to_owned())
            .or_default()
            .insert(partition, i);
        self.last = Some(i);
        i
    }

    /// Registers a consumed record with one output to wait for, and returns
    /// its ticket. Offsets must increase per partition; a lower or equal
    /// offset (after a seek) starts that partition afresh: its earlier
    /// tickets become stale and are ignored.
    ///
    /// More than 65,536 partitions tracked at once is not supported: beyond
    /// that tickets are not distinguishable and the tracker stops advancing
    /// the surplus partitions (nothing is ever committed past a record that
    /// was not completed).
    pub fn track(&mut self, topic: &str, partition: i32, offset: i64) -> Ticket {
        let i = self.slot_for(topic, partition);
        if i >= SLOT_LIMIT {
            tracing::error!(
                topic,
                partition,
                offset,
                "offset tracker: too many partitions, record not tracked"
            );
            return UNTRACKED;
        }
        let s = &mut self.slots[i];
        if s.last_offset.is_some_and(|last| offset <= last) {
            self.in_flight -= s.pending_records;
            s.reset();
        }
        s.last_offset = Some(offset);
        let seq = (s.base_seq + s.entries.len() as u64) & SEQ_MASK;
        s.entries.push_back(Entry { offset, pending: 1 });
        s.pending_records += 1;
        self.in_flight += 1;
        Ticket::new(i, s.epoch, seq)
    }

    /// Registers a consumed record that needs nothing further (filtered out,
    /// or handled synchronously): it counts as completed at once.
    pub fn track_done(&mut self, topic: &str, partition: i32, offset: i64) {
        let t = self.track(topic, partition, offset);
        self.complete(t);
    }

    fn entry_mut(&mut self, ticket: Ticket) -> Option<(&mut Slot, usize)> {
        if ticket == UNTRACKED {
            return None;
        }
        let s = self.slots.get_mut(ticket.slot())?;
        if !s.live || s.epoch != ticket.epoch() {
            return None;
        }
        let idx = ticket.seq().wrapping_sub(s.base_seq) & SEQ_MASK;
        let idx = usize::try_from(idx).ok()?;
        (idx < s.entries.len()).then_some((s, idx))
    }

    /// Adds one more output to wait for (a record that fans out to several
    /// outputs: call once per extra output). Returns false for a stale,
    /// completed or unknown ticket.
    pub fn retain(&mut self, ticket: Ticket) -> bool {
        match self.entry_mut(ticket) {
            Some((s, idx)) if s.entries[idx].pending > 0 => {
                s.entries[idx].pending += 1;
                true
            }
            _ => false,
        }
    }

    /// Marks one output of the record durable. Returns false (and changes
    /// nothing) for a ticket whose partition was released or reset, or that
    /// is already complete.
    pub fn complete(&mut self, ticket: Ticket) -> bool {
        let Some((s, idx)) = self.entry_mut(ticket) else {
            return false;
        };
        let e = &mut s.entries[idx];
        if e.pending == 0 {
            return false;
        }
        e.pending -= 1;
        let done = e.pending == 0;
        if done {
            s.pending_records -= 1;
            if idx == 0 {
                s.advance();
            }
            self.in_flight -= 1;
        }
        true
    }

    /// The offsets that moved since the previous call, as next offsets to
    /// commit (`None` when nothing moved). For periodic commits.
    pub fn take_committable(&mut self) -> Option<TopicPartitionList> {
        let mut tpl = TopicPartitionList::new();
        for s in self.slots.iter_mut().filter(|s| s.live && s.dirty) {
            s.dirty = false;
            if let Some(o) = s.commit {
                // Only fails for offsets rdkafka cannot represent, which a
                // consumed record never has.
                let _ = tpl.add_partition_offset(&s.tp.topic, s.tp.partition, Offset::Offset(o));
            }
        }
        (tpl.count() > 0).then_some(tpl)
    }

    /// The next offset to commit for one partition, if any record of it completed.
    pub fn committable(&self, tp: &TopicPartition) -> Option<i64> {
        let i = *self.index.get(&tp.topic)?.get(&tp.partition)?;
        self.slots[i].commit
    }

    /// The next offsets to commit for these partitions (those with any
    /// completed record), e.g. the partitions being revoked.
    pub fn committable_for(&self, partitions: &[TopicPartition]) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            if let Some(o) = self.committable(tp) {
                let _ = tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(o));
            }
        }
        tpl
    }

    /// Forgets these partitions (after they were revoked): their in-flight
    /// records no longer count and their tickets become stale.
    pub fn release(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            let Some(i) = self
                .index
                .get_mut(&tp.topic)
                .and_then(|m| m.remove(&tp.partition))
            else {
                continue;
            };
            if self.index.get(&tp.topic).is_some_and(HashMap::is_empty) {
                self.index.remove(&tp.topic);
            }
            let s = &mut self.slots[i];
            self.in_flight -= s.pending_records;
            s.reset();
            s.live = false;
            self.free.push(i);
            if self.last == Some(i) {
                self.last = None;
            }
        }
    }

    /// Forgets every partition.
    pub fn release_all(&mut self) {
        let all: Vec<TopicPartition> = self
            .slots
            .iter()
            .filter(|s| s.live)
            .map(|s| s.tp.clone())
            .collect();
        self.release(&all);
    }

    /// Records tracked and not yet completed, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Records tracked and not yet completed in one partition.
    pub fn in_flight_for(&self, tp: &TopicPartition) -> usize {
        self.index
            .get(&tp.topic)
            .and_then(|m| m.get(&tp.partition))
            .map_or(0, |&i| self.slots[i].pending_records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit_of(t: &OffsetTracker, topic: &str, p: i32) -> Option<i64> {
        t.committable(&TopicPartition::new(topic, p))
    }

    fn taken(t: &mut OffsetTracker) -> Vec<(String, i32, i64)> {
        let Some(tpl) = t.take_committable() else {
            return vec![];
        };
        let mut v: Vec<_> = tpl
            .elements()
            .iter()
            .map(|e| {
                (
                    e.topic().to_owned(),
                    e.partition(),
                    e.offset().to_raw().unwrap_or(-999),
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commits_last_completed_plus_one() {
        let mut t = OffsetTracker::new();
        let a = t.track("in", 0, 0);
        assert_eq!(commit_of(&t, "in", 0), None);
        assert!(t.complete(a));
        // the record at offset 0 is done: the next record to read is 1
        assert_eq!(commit_of(&t, "in", 0), Some(1));
        assert_eq!(taken(&mut t), vec![("in".into(), 0, 1)]);
        assert_eq!(taken(&mut t), vec![], "nothing moved since");
    }

    #[test]
    fn never_commits_past_a_gap() {
        let mut t = OffsetTracker::new();
        let tk: Vec<Ticket> = (10..15).map(|o| t.track("in", 0, o)).collect();
        // complete out of order: 10, 12, 13, 14 — 11 still in flight
        for i in [0, 2, 3, 4] {
            assert!(t.complete(tk[i]));
        }
        assert_eq!(
            commit_of(&t, "in", 0),
            Some(11),
            "must stop at the incomplete offset 11"
        );
        assert_eq!(t.in_flight(), 1);
        assert!(t.complete(tk[1]));
        assert_eq!(commit_of(&t, "in", 0), Some(15));
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn nothing_committable_while_first_is_pending() {
        let mut t = OffsetTracker::new();
        let first = t.track("in", 0, 5);
        let second = t.track("in", 0, 6);
        assert!(t.complete(second));
        assert_eq!(commit_of(&t, "in", 0), None);
        assert_eq!(taken(&mut t), vec![]);
        assert!(t.complete(first));
        assert_eq!(taken(&mut t), vec![("in".into(), 0, 7)]);
    }

    #[test]
    fn offsets_with_holes_commit_after_the_last_completed() {
        // compacted topics and transaction markers leave holes in offsets
        let mut t = OffsetTracker::new();
        let a = t.track("in", 0, 3);
        let b = t.track("in", 0, 7);
        t.complete(a);
        assert_eq!(commit_of(&t, "in", 0), Some(4));
        t.complete(b);
        assert_eq!(commit_of(&t, "in", 0), Some(8));
    }

    #[test]
    fn partitions_are_independent() {
        let mut t = OffsetTracker::new();
        let a0 = t.track("in", 0, 0);
        let b0 = t.track("in", 1, 100);
        let c0 = t.track("other", 0, 50);
        let a1 = t.track("in", 0, 1);
        t.complete(b0);
        t.complete(a1);
        t.complete(c0);
        assert_eq!(
            taken(&mut t),
            vec![("in".into(), 1, 101), ("other".into(), 0, 51)]
        );
        t.complete(a0);
        assert_eq!(taken(&mut t), vec![("in".into(), 0, 2)]);
    }

    #[test]
    fn fan_out_waits_for_every_output() {
        let mut t = OffsetTracker::new();
        let a = t.track("in", 0, 0);
        assert!(t.retain(a));
        assert!(t.retain(a)); // three outputs in all
        t.complete(a);
        t.complete(a);
        assert_eq!(commit_of(&t, "in", 0), None);
        t.complete(a);
        assert_eq!(commit_of(&t, "in", 0), Some(1));
        assert!(!t.complete(a), "already complete");
        assert!(!t.retain(a));
    }

    #[test]
    fn filtered_records_count_as_done() {
        let mut t = OffsetTracker::new();
        let a = t.track("in", 0, 0);
        t.track_done("in", 0, 1);
        assert_eq!(commit_of(&t, "in", 0), None);
        t.complete(a);
        assert_eq!(commit_of(&t, "in", 0), Some(2));
    }

    #[test]
    fn release_makes_tickets_stale_and_reassignment_starts_clean() {
        let mut t = OffsetTracker::new();
        let old = t.track("in", 0, 40);
        let keep = t.track("in", 1, 7);
        assert_eq!(t.in_flight(), 2);
        t.release(&[TopicPartition::new("in", 0)]);
        assert_eq!(t.in_flight(), 1);
        assert_eq!(commit_of(&t, "in", 0), None);
        // the partition comes back (maybe the same slot, new epoch)
        let fresh = t.track("in", 0, 40);
        assert_ne!(old, fresh);
        assert!(
            !t.complete(old),
            "a delivery report for the old assignment must not count"
        );
        assert_eq!(commit_of(&t, "in", 0), None);
        assert!(t.complete(fresh));
        assert_eq!(commit_of(&t, "in", 0), Some(41));
        assert!(t.complete(keep));
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn committable_for_revoked_partitions() {
        let mut t = OffsetTracker::new();
        let a = t.track("in", 0, 0);
        let _b = t.track("in", 0, 1);
        let c = t.track("in", 1, 9);
        t.complete(a);
        t.complete(c);
        let tpl = t.committable_for(&[TopicPartition::new("in", 0), TopicPartition::new("in", 2)]);
        let v: Vec<_> = tpl
            .elements()
            .iter()
            .map(|e| (e.partition(), e.offset()))
            .collect();
        assert_eq!(v, vec![(0, Offset::Offset(1))]);
    }

    #[test]
    fn lower_offset_restarts_the_partition() {
        let mut t = OffsetTracker::new();
        let a = t.track("in", 0, 10);
        let b = t.track("in", 0, 11);
        t.complete(a);
        // rewound to 10 (seek): the in-flight 11 is abandoned
        let again = t.track("in", 0, 10);
        assert_eq!(t.in_flight(), 1);
        assert!(!t.complete(b));
        assert_eq!(commit_of(&t, "in", 0), None);
        t.complete(again);
        assert_eq!(commit_of(&t, "in", 0), Some(11));
    }

    #[test]
    fn unknown_tickets_are_ignored() {
        let mut t = OffsetTracker::new();
        let a = t.track("in", 0, 0);
        assert!(!t.complete(Ticket::from_raw(u64::MAX)));
        assert!(
            !t.complete(Ticket::from_raw(a.to_raw() + 1)),
            "sequence not yet issued"
        );
        assert!(t.complete(Ticket::from_raw(a.to_raw())));
    }

    #[test]
    fn many_records_in_order() {
        let mut t = OffsetTracker::new();
        let mut pending = VecDeque::new();
        for o in 0..100_000i64 {
            pending.push_back(t.track("in", 0, o));
            if pending.len() > 1000 {
                t.complete(pending.pop_front().unwrap());
            }
        }
        assert_eq!(t.in_flight(), 1000);
        assert_eq!(commit_of(&t, "in", 0), Some(99_000));
        while let Some(x) = pending.pop_back() {
            t.complete(x);
        }
        assert_eq!(commit_of(&t, "in", 0), Some(100_000));
    }

    #[test]
    fn ticket_roundtrips_through_u64() {
        let mut t = OffsetTracker::new();
        for p in 0..300 {
            t.track("in", p, 0);
        }
        let x = t.track("in", 299, 1);
        assert_eq!(Ticket::from_raw(x.to_raw()), x);
        assert!(t.complete(Ticket::from_raw(x.to_raw())));
    }
}
