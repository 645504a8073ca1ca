//! [`Summary`]: what a pipeline run did.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Counts of one run. Under exactly-once only committed transactions
/// count (records of aborted attempts are counted again when they are
/// redone); under at-least-once outputs count once acknowledged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Input records fully handled (written, filtered, dead-lettered, skipped).
    pub records_in: u64,
    /// Key + value bytes of those input records.
    pub bytes_in: u64,
    /// Output records written (dead-letter records not included).
    pub records_out: u64,
    /// Key + value bytes of the output records.
    pub bytes_out: u64,
    /// Input records the transforms dropped.
    pub filtered: u64,
    /// Records written to a dead-letter topic, by failing stage
    /// (`decode`, `transform`, `encode`, `produce`).
    pub dead_lettered: BTreeMap<&'static str, u64>,
    /// Failed records dropped because no dead-letter topic is enabled
    /// (tolerance `all`).
    pub skipped: u64,
    /// Output records behind the watermark (kept, dropped or side-routed,
    /// per the late policy).
    pub late: u64,
    /// Late records dropped by the late policy.
    pub late_dropped: u64,
    /// Transactions committed (exactly-once).
    pub transactions: u64,
    /// Transactions aborted and redone (exactly-once).
    pub aborts: u64,
    /// Source offset commits (at-least-once).
    pub commits: u64,
    /// Retries after retriable failures (registry or broker unavailable).
    pub retries: u64,
    /// The most records in flight at once.
    pub peak_in_flight_records: usize,
    /// The most bytes in flight at once (at-least-once).
    pub peak_in_flight_bytes: u64,
    /// Wall time of the run.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// Why the run ended: `finished` (bounded source), `shutdown`.
    pub ended_by: &'static str,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Summary {
    /// All dead-lettered records.
    pub fn dead_lettered_total(&self) -> u64 {
        self.dead_lettered.values().sum()
    }

    /// Input records per second over the run.
    pub fn records_per_second(&self) -> f64 {
        let secs = self.duration.as_secs_f64();
        if secs > 0.0 {
            self.records_in as f64 / secs
        } else {
            0.0
        }
    }

    pub(crate) fn add(&mut self, other: &Counts) {
        self.records_in += other.records_in;
        self.bytes_in += other.bytes_in;
        self.records_out += other.records_out;
        self.bytes_out += other.bytes_out;
        self.filtered += other.filtered;
        self.skipped += other.skipped;
        self.late += other.late;
        self.late_dropped += other.late_dropped;
        for (stage, n) in other.dead_lettered.iter() {
            if *n > 0 {
                *self.dead_lettered.entry(stage).or_default() += n;
            }
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} records in, {} out, {} filtered, {} dead-lettered",
            self.records_in,
            self.records_out,
            self.filtered,
            self.dead_lettered_total()
        )?;
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        write!(
            f,
            " in {:.1}s ({:.0} records/s)",
            self.duration.as_secs_f64(),
            self.records_per_second()
        )
    }
}

/// Live totals of a running pipeline, for progress displays; readable
/// from any thread ([`crate::Pipeline::progress`]). Updated when counts
/// settle: at least every 100 ms under at-least-once, at each commit under
/// exactly-once.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    inner: Arc<[AtomicU64; 4]>,
}

/// One reading of [`Progress`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProgressSnapshot {
    /// Input records handled.
    pub records_in: u64,
    /// Output records written.
    pub records_out: u64,
    /// Input records filtered out.
    pub filtered: u64,
    /// Records dead-lettered.
    pub dead_lettered: u64,
}

impl Progress {
    /// The current totals.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let v = |i: usize| self.inner[i].load(Ordering::Relaxed);
        ProgressSnapshot {
            records_in: v(0),
            records_out: v(1),
            filtered: v(2),
            dead_lettered: v(3),
        }
    }

    pub(crate) fn publish(&self, s: &Summary) {
        for (i, n) in [
            s.records_in,
            s.records_out,
            s.filtered,
            s.dead_lettered_total(),
        ]
        .into_iter()
        .enumerate()
        {
            self.inner[i].store(n, Ordering::Relaxed);
        }
    }
}

/// The stages a record can fail in, as summary keys.
pub(crate) const STAGES: [&str; 4] = ["decode", "transform", "encode", "produce"];

/// Counters that apply together (one transaction's worth, or at once).
#[derive(Debug, Clone, Default)]
pub(crate) struct Counts {
    pub(crate) records_in: u64,
    pub(crate) bytes_in: u64,
    pub(crate) records_out: u64,
    pub(crate) bytes_out: u64,
    pub(crate) filtered: u64,
    pub(crate) skipped: u64,
    pub(crate) late: u64,
    pub(crate) late_dropped: u64,
    pub(crate) dead_lettered: StageCounts,
}

/// Dead-lettered records per stage, without a map per transaction.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StageCounts([u64; STAGES.len()]);

impl StageCounts {
    pub(crate) fn add(&mut self, stage: &'static str) {
        if let Some(i) = STAGES.iter().position(|s| *s == stage) {
            self.0[i] += 1;
        }
    }

    pub(crate) fn sub(&mut self, stage: &'static str) {
        if let Some(i) = STAGES.iter().position(|s| *s == stage) {
            self.0[i] = self.0[i].saturating_sub(1);
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&'static str, &u64)> {
        STAGES.iter().copied().zip(self.0.iter())
    }
}

impl Counts {
    pub(crate) fn clear(&mut self) {
        *self = Counts::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_by_stage() {
        let mut c = Counts {
            records_in: 10,
            records_out: 7,
            filtered: 1,
            ..Counts::default()
        };
        c.dead_lettered.add("decode");
        c.dead_lettered.add("decode");
        c.dead_lettered.add("produce");
        let mut s = Summary::default();
        s.add(&c);
        s.add(&c);
        assert_eq!(s.records_in, 20);
        assert_eq!(s.dead_lettered.get("decode"), Some(&4));
        assert_eq!(s.dead_lettered.get("produce"), Some(&2));
        assert_eq!(s.dead_lettered.get("transform"), None);
        assert_eq!(s.dead_lettered_total(), 6);
        s.duration = Duration::from_secs(2);
        assert_eq!(
            s.to_string(),
            "20 records in, 14 out, 2 filtered, 6 dead-lettered in 2.0s (10 records/s)"
        );
    }
}
