//! Event-time watermarks: per partition, with bounded out-of-orderness and
//! an idle timeout, combined across the partitions a pipeline reads, and
//! the lateness of each record against them.
//!
//! # Model (Flink's bounded-out-of-orderness watermarks)
//! - A partition's watermark is the largest event time it has delivered
//!   minus `max_out_of_orderness`: "no record older than this is expected
//!   from it any more". A partition that delivered nothing has none.
//! - The combined watermark is the smallest partition watermark over the
//!   assigned partitions that are not idle. It never goes back. While an
//!   active partition has delivered nothing, it holds the combined
//!   watermark where it is.
//! - A partition that delivered nothing for `idle_timeout` (wall clock,
//!   since its last record or its assignment) is idle: it stops holding the
//!   combined watermark back until its next record. When every partition
//!   is idle the combined watermark stays where it is.
//! - A record is late when its event time is older than the combined
//!   watermark minus `allowed_lateness` (judged before the record moves
//!   any watermark). What happens to late records (side topic, keep, drop)
//!   is the caller's [`LatePolicy`]; the tracker counts them.
//!
//! # Driving it from a loop
//! ```
//! use std::time::{Duration, Instant};
//! use kbridge_pipeline::watermark::{Lateness, WatermarkConfig, WatermarkTracker};
//!
//! let mut wm = WatermarkTracker::new(WatermarkConfig {
//!     max_out_of_orderness: Duration::from_secs(5),
//!     idle_timeout: Some(Duration::from_secs(30)),
//!     allowed_lateness: Duration::ZERO,
//! });
//! let start = Instant::now();
//! // on assignment (rebalance callback):
//! let p0 = wm.assign("events", 0, start);
//! let p1 = wm.assign("events", 1, start);
//! // per record, with the event time after the transforms (record.timestamp):
//! assert_eq!(wm.observe(p0, Some(100_000), start), Lateness::OnTime);
//! assert_eq!(wm.current(), None); // partition 1 has delivered nothing yet
//! wm.observe(p1, Some(90_000), start);
//! assert_eq!(wm.current(), Some(85_000)); // min(95 000, 85 000)
//! assert_eq!(
//!     wm.observe(p0, Some(80_000), start),
//!     Lateness::Late { behind_ms: 5_000 }
//! );
//! // once per poll (or on a timer): idle partitions stop holding it back
//! wm.observe(p0, Some(200_000), start + Duration::from_secs(40));
//! wm.tick(start + Duration::from_secs(40));
//! assert_eq!(wm.current(), Some(195_000));
//! // another thread (metrics, a library user) reads it without locking:
//! let handle = wm.handle();
//! assert_eq!(handle.get(), Some(195_000));
//! ```
//! [`WatermarkTracker::observe`] is O(1) except when the partition holding
//! the combined watermark advances (then O(assigned partitions)); it never
//! allocates. Resolve the [`PartitionSlot`] once per partition (at
//! assignment, or with [`WatermarkTracker::slot`] per batch), not per record.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// No value (no watermark yet).
const NONE: i64 = i64::MIN;

/// How watermarks are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatermarkConfig {
    /// How far behind the newest event time a record may arrive and still
    /// be expected (the bounded out-of-orderness).
    pub max_out_of_orderness: Duration,
    /// After this long without a record, a partition no longer holds the
    /// combined watermark back; `None`: partitions never go idle.
    pub idle_timeout: Option<Duration>,
    /// How far behind the watermark a record may be before it counts as
    /// late.
    pub allowed_lateness: Duration,
}

impl Default for WatermarkConfig {
    /// 5 s out-of-orderness, idle after 60 s, no allowed lateness.
    fn default() -> Self {
        WatermarkConfig {
            max_out_of_orderness: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(60)),
            allowed_lateness: Duration::ZERO,
        }
    }
}

/// What to do with late records (the pipeline applies it; counted either
/// way).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LatePolicy {
    /// Write them like any other record.
    #[default]
    Keep,
    /// Drop them.
    Drop,
    /// Write them to this topic instead.
    SideTopic(String),
}

/// A record's event time against the watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lateness {
    /// Not older than the watermark minus the allowed lateness.
    OnTime,
    /// Older than the watermark minus the allowed lateness, by this much
    /// behind the watermark.
    Late {
        /// Milliseconds behind the combined watermark.
        behind_ms: i64,
    },
    /// The record has no event time: neither late nor counted.
    NoTimestamp,
}

/// A partition's place in a [`WatermarkTracker`], from
/// [`WatermarkTracker::assign`] or [`WatermarkTracker::slot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartitionSlot(u32);

/// One partition's state, for metrics and diagnostics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionWatermark {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Its watermark (largest event time − out-of-orderness), if it has
    /// delivered a record.
    pub watermark: Option<i64>,
    /// Whether it is idle (not holding the combined watermark back).
    pub idle: bool,
}

/// The combined watermark, readable from any thread.
#[derive(Debug, Clone)]
pub struct WatermarkHandle(Arc<AtomicI64>);

impl WatermarkHandle {
    /// The combined watermark in epoch milliseconds, if there is one yet.
    pub fn get(&self) -> Option<i64> {
        let v = self.0.load(Ordering::Relaxed);
        (v != NONE).then_some(v)
    }
}

#[derive(Debug)]
struct Part {
    topic: u32,
    partition: i32,
    /// Largest event time seen.
    max_event: i64,
    last_seen: Instant,
    idle: bool,
    assigned: bool,
}

impl Part {
    fn watermark(&self, ooo: i64) -> i64 {
        if self.max_event == NONE {
            NONE
        } else {
            self.max_event.saturating_sub(ooo)
        }
    }

    fn holds(&self) -> bool {
        self.assigned && !self.idle
    }
}

/// Per-partition and combined event-time watermarks (see the module docs).
#[derive(Debug)]
pub struct WatermarkTracker {
    ooo: i64,
    lateness: i64,
    idle_after: Option<Duration>,
    topics: Vec<(Box<str>, Vec<u32>)>,
    parts: Vec<Part>,
    free: Vec<u32>,
    /// Min partition watermark over holding partitions (NONE when one of
    /// them has none, or none hold).
    min: i64,
    combined: i64,
    shared: Arc<AtomicI64>,
    late: u64,
    on_time: u64,
}

const NO_SLOT: u32 = u32::MAX;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl WatermarkTracker {
    /// A tracker with no partitions.
    pub fn new(config: WatermarkConfig) -> Self {
        WatermarkTracker {
            ooo: millis(config.max_out_of_orderness),
            lateness: millis(config.allowed_lateness),
            idle_after: config.idle_timeout,
            topics: Vec::new(),
            parts: Vec::new(),
            free: Vec::new(),
            min: NONE,
            combined: NONE,
            shared: Arc::new(AtomicI64::new(NONE)),
            late: 0,
            on_time: 0,
        }
    }

    /// Starts tracking a partition (on assignment); `now` starts its idle
    /// clock. Assigning a tracked partition again keeps its state.
    pub fn assign(&mut self, topic: &str, partition: i32, now: Instant) -> PartitionSlot {
        if let Some(s) = self.slot(topic, partition) {
            return s;
        }
        let t = match self.topics.iter().position(|(name, _)| &**name == topic) {
            Some(t) => t,
            None => {
                self.topics.push((topic.into(), Vec::new()));
                self.topics.len() - 1
            }
        };
        let part = Part {
            topic: t as u32,
            partition,
            max_event: NONE,
            last_seen: now,
            idle: false,
            assigned: true,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.parts[s as usize] = part;
                s
            }
            None => {
                self.parts.push(part);
                (self.parts.len() - 1) as u32
            }
        };
        if let Ok(p) = usize::try_from(partition) {
            let map = &mut self.topics[t].1;
            if map.len() <= p {
                map.resize(p + 1, NO_SLOT);
            }
            map[p] = slot;
        }
        self.recompute();
        PartitionSlot(slot)
    }

    /// Stops tracking a partition (on revocation): it no longer holds the
    /// combined watermark back.
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        let Some(PartitionSlot(s)) = self.slot(topic, partition) else {
            return;
        };
        if let Some(t) = self.topics.iter_mut().find(|(n, _)| &**n == topic)
            && let Some(x) = usize::try_from(partition).ok().and_then(|p| t.1.get_mut(p))
        {
            *x = NO_SLOT;
        }
        self.parts[s as usize].assigned = false;
        self.free.push(s);
        self.recompute();
    }

    /// The slot of an assigned partition.
    pub fn slot(&self, topic: &str, partition: i32) -> Option<PartitionSlot> {
        let (_, map) = self.topics.iter().find(|(n, _)| &**n == topic)?;
        let s = *map.get(usize::try_from(partition).ok()?)?;
        (s != NO_SLOT).then_some(PartitionSlot(s))
    }

    /// Judges a record's event time against the combined watermark, then
    /// lets it advance its partition's watermark (late records too: they
    /// show the partition is alive, but cannot move its maximum back).
    pub fn observe(
        &mut self,
        slot: PartitionSlot,
        event_time: Option<i64>,
        now: Instant,
    ) -> Lateness {
        let Some(part) = self.parts.get_mut(slot.0 as usize).filter(|p| p.assigned) else {
            return Lateness::NoTimestamp;
        };
        part.last_seen = now;
        let was_idle = std::mem::replace(&mut part.idle, false);
        let Some(t) = event_time else {
            if was_idle {
                self.recompute();
            }
            return Lateness::NoTimestamp;
        };
        let old = part.watermark(self.ooo);
        if t > part.max_event {
            part.max_event = t;
        }
        let new = part.watermark(self.ooo);
        let lateness = if self.combined != NONE && t < self.combined.saturating_sub(self.lateness) {
            self.late += 1;
            Lateness::Late {
                behind_ms: self.combined - t,
            }
        } else {
            self.on_time += 1;
            Lateness::OnTime
        };
        if was_idle || (new != old && (old == NONE || old <= self.min)) {
            self.recompute();
        }
        lateness
    }

    /// Marks partitions idle that delivered nothing for the idle timeout,
    /// and returns the combined watermark. Call it once per poll or on a
    /// timer, also when no record arrives.
    pub fn tick(&mut self, now: Instant) -> Option<i64> {
        if let Some(after) = self.idle_after {
            let mut changed = false;
            for p in self.parts.iter_mut().filter(|p| p.holds()) {
                if now.saturating_duration_since(p.last_seen) >= after {
                    p.idle = true;
                    changed = true;
                }
            }
            if changed {
                self.recompute();
            }
        }
        self.current()
    }

    fn recompute(&mut self) {
        let mut min = NONE;
        let mut any = false;
        let mut empty = false;
        for p in self.parts.iter().filter(|p| p.holds()) {
            let w = p.watermark(self.ooo);
            if w == NONE {
                empty = true;
                break;
            }
            min = if any { min.min(w) } else { w };
            any = true;
        }
        self.min = if empty || !any { NONE } else { min };
        if self.min != NONE && self.min > self.combined {
            self.combined = self.min;
            self.shared.store(self.combined, Ordering::Relaxed);
        }
    }

    /// The combined watermark in epoch milliseconds, if there is one yet.
    pub fn current(&self) -> Option<i64> {
        (self.combined != NONE).then_some(self.combined)
    }

    /// A cloneable reader of the combined watermark for other threads.
    pub fn handle(&self) -> WatermarkHandle {
        WatermarkHandle(Arc::clone(&self.shared))
    }

    /// One partition's watermark, if it has one.
    pub fn partition_watermark(&self, slot: PartitionSlot) -> Option<i64> {
        let p = self.parts.get(slot.0 as usize).filter(|p| p.assigned)?;
        let w = p.watermark(self.ooo);
        (w != NONE).then_some(w)
    }

    /// Every assigned partition's state (allocates: for metrics scrapes and
    /// diagnostics, not per record).
    pub fn partitions(&self) -> Vec<PartitionWatermark> {
        self.parts
            .iter()
            .filter(|p| p.assigned)
            .map(|p| {
                let w = p.watermark(self.ooo);
                PartitionWatermark {
                    topic: self.topics[p.topic as usize].0.to_string(),
                    partition: p.partition,
                    watermark: (w != NONE).then_some(w),
                    idle: p.idle,
                }
            })
            .collect()
    }

    /// Records judged late so far.
    pub fn late_records(&self) -> u64 {
        self.late
    }

    /// Records with an event time judged on time so far.
    pub fn on_time_records(&self) -> u64 {
        self.on_time
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker(ooo_ms: u64, idle_ms: Option<u64>, lateness_ms: u64) -> WatermarkTracker {
        WatermarkTracker::new(WatermarkConfig {
            max_out_of_orderness: Duration::from_millis(ooo_ms),
            idle_timeout: idle_ms.map(Duration::from_millis),
            allowed_lateness: Duration::from_millis(lateness_ms),
        })
    }

    #[test]
    fn out_of_order_records_within_the_bound_are_on_time() {
        let now = Instant::now();
        let mut wm = tracker(100, None, 0);
        let p = wm.assign("t", 0, now);
        let times = [1_000, 950, 1_100, 1_020, 1_000, 1_200, 1_150];
        let verdicts: Vec<Lateness> = times.iter().map(|t| wm.observe(p, Some(*t), now)).collect();
        assert!(
            verdicts.iter().all(|v| *v == Lateness::OnTime),
            "{verdicts:?}"
        );
        assert_eq!(wm.current(), Some(1_100));
        assert_eq!(wm.partition_watermark(p), Some(1_100));
        assert_eq!((wm.on_time_records(), wm.late_records()), (7, 0));
    }

    #[test]
    fn records_older_than_watermark_minus_allowed_lateness_are_late() {
        let now = Instant::now();
        let mut wm = tracker(100, None, 50);
        let p = wm.assign("t", 0, now);
        wm.observe(p, Some(1_000), now); // watermark 900
        assert_eq!(
            wm.observe(p, Some(850), now),
            Lateness::OnTime,
            "exactly at the limit"
        );
        assert_eq!(
            wm.observe(p, Some(849), now),
            Lateness::Late { behind_ms: 51 }
        );
        assert_eq!(
            wm.observe(p, Some(10), now),
            Lateness::Late { behind_ms: 890 }
        );
        // a late record does not move the watermark back
        assert_eq!(wm.current(), Some(900));
        assert_eq!(wm.observe(p, None, now), Lateness::NoTimestamp);
        assert_eq!((wm.on_time_records(), wm.late_records()), (2, 2));
    }

    #[test]
    fn the_combined_watermark_is_the_slowest_partition() {
        let now = Instant::now();
        let mut wm = tracker(0, None, 0);
        let a = wm.assign("t", 0, now);
        let b = wm.assign("t", 1, now);
        let c = wm.assign("u", 0, now);
        wm.observe(a, Some(5_000), now);
        wm.observe(b, Some(3_000), now);
        assert_eq!(wm.current(), None, "partition u-0 has delivered nothing");
        wm.observe(c, Some(4_000), now);
        assert_eq!(wm.current(), Some(3_000));
        // a record of partition a at 3 500 is late for nobody yet
        assert_eq!(wm.observe(a, Some(3_500), now), Lateness::OnTime);
        // but a record of c older than b's watermark is late
        assert_eq!(
            wm.observe(c, Some(2_000), now),
            Lateness::Late { behind_ms: 1_000 }
        );
        wm.observe(b, Some(6_000), now);
        assert_eq!(wm.current(), Some(4_000));
        wm.observe(c, Some(7_000), now);
        assert_eq!(wm.current(), Some(5_000));
        assert_eq!(wm.handle().get(), Some(5_000));
    }

    #[test]
    fn an_idle_partition_stops_holding_the_watermark_back() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut wm = tracker(0, Some(10_000), 0);
        let busy = wm.assign("t", 0, t0);
        let quiet = wm.assign("t", 1, t0);
        wm.observe(busy, Some(1_000), t0);
        assert_eq!(
            wm.tick(t0 + 5 * s),
            None,
            "the quiet partition is not idle yet"
        );
        wm.observe(busy, Some(2_000), t0 + 9 * s);
        assert_eq!(
            wm.tick(t0 + 10 * s),
            Some(2_000),
            "idle after 10 s since assignment"
        );
        wm.observe(busy, Some(3_000), t0 + 11 * s);
        assert_eq!(wm.current(), Some(3_000));
        assert!(wm.partitions().iter().any(|p| p.partition == 1 && p.idle));
        // it wakes up with an old record: late, and it holds the watermark
        // again (which never goes back)
        assert_eq!(
            wm.observe(quiet, Some(500), t0 + 12 * s),
            Lateness::Late { behind_ms: 2_500 }
        );
        wm.observe(busy, Some(4_000), t0 + 12 * s);
        assert_eq!(wm.current(), Some(3_000));
        wm.observe(quiet, Some(4_500), t0 + 13 * s);
        assert_eq!(wm.current(), Some(4_000));
        // everything idle: the watermark stays
        assert_eq!(wm.tick(t0 + 60 * s), Some(4_000));
        assert!(wm.partitions().iter().all(|p| p.idle));
    }

    #[test]
    fn revoked_partitions_are_forgotten() {
        let now = Instant::now();
        let mut wm = tracker(0, None, 0);
        let a = wm.assign("t", 0, now);
        let _b = wm.assign("t", 1, now);
        wm.observe(a, Some(1_000), now);
        assert_eq!(wm.current(), None);
        wm.revoke("t", 1);
        assert_eq!(wm.current(), Some(1_000));
        assert_eq!(wm.slot("t", 1), None);
        assert_eq!(wm.slot("t", 0), Some(a));
        let again = wm.assign("t", 1, now);
        assert_eq!(
            wm.partition_watermark(again),
            None,
            "fresh state after reassignment"
        );
        assert_eq!(wm.partitions().len(), 2);
        assert_eq!(wm.assign("t", 0, now), a, "assigning twice keeps the slot");
    }
}
