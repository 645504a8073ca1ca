//! Pre-bound recording handles for the hot path.
//!
//! Each handle is created once (per topic, per partition, per client) and
//! cloned freely; a recording call is an atomic update, no attribute lookup,
//! no allocation, no log line.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{BoundCounter, BoundHistogram, BoundUpDownCounter};

use crate::metrics::UNSET;

/// Records read from one input topic; from [`crate::Metrics::source_topic`].
#[derive(Clone)]
pub struct SourceTopicMetrics {
    records: BoundCounter<u64>,
    bytes: BoundCounter<u64>,
    filtered: BoundCounter<u64>,
}

impl fmt::Debug for SourceTopicMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceTopicMetrics").finish_non_exhaustive()
    }
}

impl SourceTopicMetrics {
    pub(crate) fn new(
        records: BoundCounter<u64>,
        bytes: BoundCounter<u64>,
        filtered: BoundCounter<u64>,
    ) -> Self {
        SourceTopicMetrics {
            records,
            bytes,
            filtered,
        }
    }

    /// One record consumed; `bytes` is its key length plus value length.
    /// Adds 1 to `kbridge_records_in_total` and `bytes` to
    /// `kbridge_consumed_bytes_total`.
    #[inline]
    pub fn consumed(&self, bytes: u64) {
        self.records.add(1);
        self.bytes.add(bytes);
    }

    /// A batch of `records` consumed, `bytes` in total.
    #[inline]
    pub fn consumed_batch(&self, records: u64, bytes: u64) {
        self.records.add(records);
        self.bytes.add(bytes);
    }

    /// `records` read from this topic were dropped by a filter transform
    /// (`kbridge_records_filtered_total`).
    #[inline]
    pub fn filtered(&self, records: u64) {
        self.filtered.add(records);
    }
}

/// Records written to one output topic; from [`crate::Metrics::sink_topic`].
#[derive(Clone)]
pub struct SinkTopicMetrics {
    records: BoundCounter<u64>,
    bytes: BoundCounter<u64>,
    latency: BoundHistogram<f64>,
}

impl fmt::Debug for SinkTopicMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkTopicMetrics").finish_non_exhaustive()
    }
}

impl SinkTopicMetrics {
    pub(crate) fn new(
        records: BoundCounter<u64>,
        bytes: BoundCounter<u64>,
        latency: BoundHistogram<f64>,
    ) -> Self {
        SinkTopicMetrics {
            records,
            bytes,
            latency,
        }
    }

    /// The broker acknowledged one record of `bytes` (key + value length).
    /// `source_timestamp_ms` is the timestamp of the input record it came
    /// from (milliseconds since the Unix epoch); when given, now minus it
    /// goes to `kbridge_end_to_end_latency_seconds` (negative differences,
    /// from clock skew, count as zero).
    #[inline]
    pub fn delivered(&self, bytes: u64, source_timestamp_ms: Option<i64>) {
        self.records.add(1);
        self.bytes.add(bytes);
        if let Some(ts) = source_timestamp_ms {
            self.latency.record(latency_seconds(ts, now_ms()));
        }
    }

    /// As [`delivered`](Self::delivered) with a latency the caller measured.
    #[inline]
    pub fn delivered_after(&self, bytes: u64, latency: Duration) {
        self.delivered_batch(1, bytes);
        self.latency(latency);
    }

    /// `records` acknowledged records of `bytes` in total, counted by the
    /// caller (one update per batch of delivery reports rather than per
    /// record); their latencies go to [`latency`](Self::latency).
    #[inline]
    pub fn delivered_batch(&self, records: u64, bytes: u64) {
        self.records.add(records);
        self.bytes.add(bytes);
    }

    /// One acknowledged record's end-to-end latency
    /// (`kbridge_end_to_end_latency_seconds`), for records counted with
    /// [`delivered_batch`](Self::delivered_batch).
    #[inline]
    pub fn latency(&self, latency: Duration) {
        self.latency.record(latency.as_secs_f64());
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[allow(clippy::cast_precision_loss)] // sub-millisecond precision is irrelevant
fn latency_seconds(source_ms: i64, now_ms: i64) -> f64 {
    now_ms.saturating_sub(source_ms).max(0) as f64 / 1000.0
}

/// Records in the producer and not yet acknowledged; from
/// [`crate::Metrics::in_flight`].
#[derive(Clone)]
pub struct InFlightMetrics {
    gauge: BoundUpDownCounter<i64>,
}

impl fmt::Debug for InFlightMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlightMetrics").finish_non_exhaustive()
    }
}

impl InFlightMetrics {
    pub(crate) fn new(gauge: BoundUpDownCounter<i64>) -> Self {
        InFlightMetrics { gauge }
    }

    /// `records` handed to the producer.
    #[inline]
    pub fn add(&self, records: i64) {
        self.gauge.add(records);
    }

    /// `records` acknowledged or failed.
    #[inline]
    pub fn sub(&self, records: i64) {
        self.gauge.add(-records);
    }
}

/// Schema registry client counters; from [`crate::Metrics::registry`].
#[derive(Clone)]
pub struct RegistryMetrics {
    hits: BoundCounter<u64>,
    misses: BoundCounter<u64>,
    ok: BoundCounter<u64>,
    err: BoundCounter<u64>,
    duration: BoundHistogram<f64>,
}

impl fmt::Debug for RegistryMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryMetrics").finish_non_exhaustive()
    }
}

impl RegistryMetrics {
    pub(crate) fn new(
        hits: BoundCounter<u64>,
        misses: BoundCounter<u64>,
        ok: BoundCounter<u64>,
        err: BoundCounter<u64>,
        duration: BoundHistogram<f64>,
    ) -> Self {
        RegistryMetrics {
            hits,
            misses,
            ok,
            err,
            duration,
        }
    }

    /// A lookup answered from the cache.
    #[inline]
    pub fn cache_hit(&self) {
        self.hits.add(1);
    }

    /// A lookup that has to ask the registry (count the request separately
    /// with [`request`](Self::request)).
    #[inline]
    pub fn cache_miss(&self) {
        self.misses.add(1);
    }

    /// One logical request to the registry finished after `elapsed`
    /// (retries included); `success` is false when it ended in an error.
    pub fn request(&self, elapsed: Duration, success: bool) {
        if success {
            self.ok.add(1);
        } else {
            self.err.add(1);
        }
        self.duration.record(elapsed.as_secs_f64());
    }
}

/// Atomic state of one topic-partition, read at collection time.
pub(crate) struct PartitionCell {
    attributes: [KeyValue; 2],
    position: AtomicI64,
    committed: AtomicI64,
    high_watermark: AtomicI64,
    watermark_ms: AtomicI64,
}

fn load(v: &AtomicI64) -> Option<i64> {
    let v = v.load(Ordering::Relaxed);
    (v != UNSET).then_some(v)
}

impl PartitionCell {
    pub(crate) fn new(topic: &str, partition: i32) -> Self {
        PartitionCell {
            attributes: [
                KeyValue::new("topic", topic.to_owned()),
                KeyValue::new("partition", i64::from(partition)),
            ],
            position: AtomicI64::new(UNSET),
            committed: AtomicI64::new(UNSET),
            high_watermark: AtomicI64::new(UNSET),
            watermark_ms: AtomicI64::new(UNSET),
        }
    }

    pub(crate) fn attributes(&self) -> &[KeyValue] {
        &self.attributes
    }

    pub(crate) fn position(&self) -> Option<i64> {
        load(&self.position)
    }

    pub(crate) fn committed_offset(&self) -> Option<i64> {
        load(&self.committed)
    }

    pub(crate) fn high_watermark(&self) -> Option<i64> {
        load(&self.high_watermark)
    }

    pub(crate) fn watermark_ms(&self) -> Option<i64> {
        load(&self.watermark_ms)
    }

    /// High watermark minus the committed offset (or the position before
    /// the first commit), never negative; unknown without a high watermark.
    pub(crate) fn lag(&self) -> Option<i64> {
        let end = self.high_watermark()?;
        let base = self.committed_offset().or_else(|| self.position())?;
        Some(end.saturating_sub(base).max(0))
    }
}

/// Offsets and event-time watermark of one assigned partition; from
/// [`crate::Metrics::partition`]. Setters are single relaxed atomic stores;
/// values are read when `/metrics` is scraped. Drop every clone when the
/// partition is revoked so its series disappear.
#[derive(Clone)]
pub struct PartitionMetrics {
    cell: Arc<PartitionCell>,
}

impl fmt::Debug for PartitionMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionMetrics")
            .field("position", &self.cell.position())
            .field("committed_offset", &self.cell.committed_offset())
            .field("high_watermark", &self.cell.high_watermark())
            .finish_non_exhaustive()
    }
}

impl PartitionMetrics {
    pub(crate) fn from_cell(cell: Arc<PartitionCell>) -> Self {
        PartitionMetrics { cell }
    }

    /// Offset of the last record read plus one
    /// (`kbridge_consumer_current_offset`).
    #[inline]
    pub fn set_position(&self, next_offset: i64) {
        self.cell.position.store(next_offset, Ordering::Relaxed);
    }

    /// Offset just committed for the group — the next offset to read, as
    /// Kafka stores it (`kbridge_consumer_committed_offset`).
    #[inline]
    pub fn set_committed_offset(&self, offset: i64) {
        self.cell.committed.store(offset, Ordering::Relaxed);
    }

    /// High watermark (or last stable offset under `read_committed`), from
    /// a fetch response or `fetch_watermarks` (`kbridge_consumer_high_watermark`).
    /// `kbridge_consumer_lag` is derived from it.
    #[inline]
    pub fn set_high_watermark(&self, offset: i64) {
        self.cell.high_watermark.store(offset, Ordering::Relaxed);
    }

    /// Event-time watermark of this partition, milliseconds since the Unix
    /// epoch (`kbridge_partition_watermark_seconds`).
    #[inline]
    pub fn set_watermark_ms(&self, timestamp_ms: i64) {
        self.cell
            .watermark_ms
            .store(timestamp_ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_prefers_the_committed_offset_and_never_goes_negative() {
        let cell = PartitionCell::new("t", 0);
        assert_eq!(cell.lag(), None);
        cell.position.store(40, Ordering::Relaxed);
        assert_eq!(cell.lag(), None, "no high watermark yet");
        cell.high_watermark.store(100, Ordering::Relaxed);
        assert_eq!(cell.lag(), Some(60), "position before the first commit");
        cell.committed.store(30, Ordering::Relaxed);
        assert_eq!(cell.lag(), Some(70));
        cell.committed.store(120, Ordering::Relaxed);
        assert_eq!(cell.lag(), Some(0));
    }

    #[test]
    fn latency_is_clamped_at_zero() {
        assert!((latency_seconds(1_000, 3_500) - 2.5).abs() < f64::EPSILON);
        assert!(latency_seconds(5_000, 3_500).abs() < f64::EPSILON);
    }
}
