//! Kafka clients of the bench and the demo (rdkafka, synchronous): load a
//! topic with raw records, read a topic back to audit it, read a group's
//! committed offsets.

use super::data::{Frames, head};
use anyhow::{Context, Result, bail};
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counts failed deliveries and keeps the first error.
#[derive(Default)]
pub struct CountCtx {
    errors: AtomicU64,
    first: std::sync::Mutex<Option<String>>,
}

impl ClientContext for CountCtx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, msg: &str) {
        if (level as i32) <= (RDKafkaLogLevel::Warning as i32) {
            eprintln!("librdkafka {fac}: {msg}");
        }
    }
}

impl ProducerContext for CountCtx {
    type DeliveryOpaque = ();
    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = r {
            self.errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = self.first.lock() {
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// A producer with the baselines' settings (rawcopy `producer_config`):
/// linger 5 ms, 1 MB batches, no compression, acks=all, a 1M-record queue.
pub fn producer(bootstrap: &str) -> Result<BaseProducer<CountCtx>> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("batch.size", "1000000")
        .set("compression.type", "none")
        .set("acks", "all")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .create_with_context(CountCtx::default())
        .context("create a producer")
}

/// Sends one record, serving delivery reports while the local queue is full.
pub fn send(
    p: &BaseProducer<CountCtx>,
    topic: &str,
    key: Option<&[u8]>,
    value: &[u8],
) -> Result<()> {
    let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).payload(value);
    if let Some(k) = key {
        rec = rec.key(k);
    }
    loop {
        match p.send(rec) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                rec = r;
                p.poll(Duration::from_millis(1));
            }
            Err((e, _)) => return Err(e).with_context(|| format!("produce to {topic}")),
        }
    }
}

/// Waits until every record is acknowledged; errors on failed deliveries.
pub fn drain(p: &BaseProducer<CountCtx>, timeout: Duration) -> Result<()> {
    let t = Instant::now();
    while p.in_flight_count() > 0 {
        if t.elapsed() > timeout {
            bail!(
                "{} records still unacknowledged after {timeout:?}",
                p.in_flight_count()
            );
        }
        p.poll(Duration::from_millis(1));
    }
    let errors = p.context().errors.load(Ordering::Relaxed);
    if errors > 0 {
        let first = p.context().first.lock().ok().and_then(|f| f.clone());
        bail!(
            "{errors} records were not delivered (first error: {})",
            first.unwrap_or_default()
        );
    }
    Ok(())
}

/// Produces every record of `frames` `times` times to `topic`, keyed like
/// the file (the default partitioner spreads them by key). Returns the
/// records sent and the wall time.
pub fn load(bootstrap: &str, topic: &str, frames: &Frames, times: u64) -> Result<(u64, Duration)> {
    let p = producer(bootstrap)?;
    p.client()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("metadata of {topic}"))?;
    let t = Instant::now();
    let mut n = 0u64;
    for _ in 0..times {
        for (k, v) in frames.iter() {
            send(&p, topic, Some(k), v)?;
            n += 1;
            if n.is_multiple_of(1024) {
                p.poll(Duration::ZERO);
            }
        }
    }
    drain(&p, Duration::from_secs(600))?;
    Ok((n, t.elapsed()))
}

/// A consumer that reads by assignment (no group coordination).
fn reader(bootstrap: &str, read_committed: bool) -> Result<BaseConsumer> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "kbridge-xtask-audit")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set(
            "isolation.level",
            if read_committed {
                "read_committed"
            } else {
                "read_uncommitted"
            },
        )
        .set("max.partition.fetch.bytes", "4194304")
        .set("fetch.max.bytes", "67108864")
        .set("fetch.queue.backoff.ms", "10")
        .create()
        .context("create a consumer")
}

/// Partitions of `topic`.
pub fn partitions(bootstrap: &str, topic: &str) -> Result<Vec<i32>> {
    let c = reader(bootstrap, false)?;
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("metadata of {topic}"))?;
    let t = md
        .topics()
        .first()
        .with_context(|| format!("no metadata for {topic}"))?;
    if let Some(e) = t.error() {
        bail!("topic {topic}: {e:?}");
    }
    Ok(t.partitions().iter().map(|p| p.id()).collect())
}

/// Sum over the partitions of `topic` of the offsets `group` committed.
pub fn committed_total(bootstrap: &str, group: &str, topic: &str) -> Result<i64> {
    let parts = partitions(bootstrap, topic)?;
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .context("create a consumer")?;
    let mut tpl = TopicPartitionList::new();
    for p in parts {
        tpl.add_partition(topic, p);
    }
    let committed = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .with_context(|| format!("committed offsets of group {group}"))?;
    Ok(committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum())
}

/// What an output topic should hold: record `seq` exactly `expect[seq]`
/// times (the data set is loaded several times over).
#[derive(Debug)]
pub struct Expectation {
    pub per_seq: Vec<u32>,
    /// Check that every unit is upper case (the benchmark transform).
    pub upper_unit: bool,
}

impl Expectation {
    pub fn total(&self) -> u64 {
        self.per_seq.iter().map(|&n| u64::from(n)).sum()
    }
}

/// What the audit found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Audit {
    pub records: u64,
    pub expected: u64,
    /// seq values seen fewer times than expected (lost records).
    pub missing: u64,
    /// seq values seen more times than expected (duplicates, or records
    /// the transform should have dropped).
    pub extra: u64,
    pub undecodable: u64,
    pub lower_case_units: u64,
    /// Schema ids of the output values.
    pub schema_ids: Vec<u32>,
}

impl Audit {
    pub fn ok(&self) -> bool {
        self.records == self.expected
            && self.missing == 0
            && self.extra == 0
            && self.undecodable == 0
            && self.lower_case_units == 0
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.ok(),
            "records": self.records,
            "expected": self.expected,
            "missing_seq": self.missing,
            "extra_seq": self.extra,
            "undecodable": self.undecodable,
            "lower_case_units": self.lower_case_units,
            "schema_ids": self.schema_ids,
        })
    }
}

/// Reads `topic` from the beginning (read_committed) until nothing new
/// arrives for `idle` after the expected count is reached (or for
/// `4 × idle` before), and checks it against `expect`. Offsets and
/// watermarks are not used to detect the end: tansu under-reports them.
pub fn audit(bootstrap: &str, topic: &str, expect: &Expectation, idle: Duration) -> Result<Audit> {
    let c = reader(bootstrap, true)?;
    let mut tpl = TopicPartitionList::new();
    for p in partitions(bootstrap, topic)? {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    c.assign(&tpl)?;
    let mut seen = vec![0u32; expect.per_seq.len()];
    let mut a = Audit {
        expected: expect.total(),
        ..Audit::default()
    };
    let mut last = Instant::now();
    loop {
        let quiet = last.elapsed();
        if (a.records >= a.expected && quiet > idle) || quiet > idle * 4 {
            break;
        }
        let m = match c.poll(Duration::from_millis(100)) {
            None => continue,
            Some(m) => m.with_context(|| format!("read {topic}"))?,
        };
        last = Instant::now();
        a.records += 1;
        let Some(h) = m.payload().and_then(head) else {
            a.undecodable += 1;
            continue;
        };
        if !a.schema_ids.contains(&h.schema_id) {
            a.schema_ids.push(h.schema_id);
        }
        if expect.upper_unit && h.unit.iter().any(u8::is_ascii_lowercase) {
            a.lower_case_units += 1;
        }
        match usize::try_from(h.seq).ok().and_then(|s| seen.get_mut(s)) {
            Some(n) => *n += 1,
            None => a.extra += 1,
        }
    }
    for (got, want) in seen.iter().zip(&expect.per_seq) {
        if got < want {
            a.missing += 1;
        } else if got > want {
            a.extra += 1;
        }
    }
    Ok(a)
}
