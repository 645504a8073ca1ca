//! The pipeline loop: one thread polls the source in batches, hands them
//! to the stage thread (`stages.rs`: decode → transforms → encode, up to
//! `DEPTH` batches in the works), produces the outputs of the batches it
//! takes back (or dead-letter records) meanwhile, and commits offsets the
//! way the guarantee asks (`alo.rs`: after delivery reports; `eos.rs`:
//! inside transactions).

mod alo;
mod eos;
mod inflight;
mod outputs;
mod parts;
mod stages;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kbridge_codec::{Disposition, HeaderView, SchemaHeader};
use kbridge_metrics::events::{DeadLettered, ErrorAction, ErrorRecorded};
use kbridge_metrics::{InFlightMetrics, Metrics, ReadyFlag};
use kbridge_sink::{Delivery, ErrorClass, KafkaSink, OutRecord, OwnedHeaders, SinkError};
use kbridge_source::{
    KafkaSource, RecordHeaders, Revocation, SourceEvent, SourceRecord, Ticket, TopicPartition,
};
use rdkafka::message::Header as KafkaHeader;

use crate::codecs::SideCodec;
use crate::error::PipelineError;
use crate::failure::{Failure, Message, dead_letter_headers};
use crate::options::{DeadLetter, Limits, OutputTopic, RetryPolicy, Tolerance};
use crate::shutdown::Shutdown;
use crate::summary::{Counts, Progress, Summary};
use crate::transform::{Header, Transform};
use crate::watermark::{LatePolicy, WatermarkTracker};

pub(crate) use alo::Alo;
pub(crate) use eos::Eos;
use inflight::Kind;
use outputs::Outputs;
use parts::Parts;
use stages::{BATCH, Batch, Item, Outcome, Stages};

/// How often bookkeeping runs at most (delivery reports, commits due by
/// time), besides every 256 records.
const HOUSEKEEPING: Duration = Duration::from_millis(5);
/// Batches the stage thread may have at a time: it goes on with them while
/// this thread waits (a transaction commit, a full in-flight window). 64
/// batches (8192 records) cover a commit's wait on the local broker; 16
/// left the stage thread idle for part of it.
const DEPTH: usize = 64;
/// How long one source poll may block.
const POLL: Duration = Duration::from_millis(50);
/// How often watermarks and the in-flight gauge are exported.
const EXPORT: Duration = Duration::from_millis(100);

/// Guarantee-specific state.
pub(crate) enum Mode {
    Alo(Box<Alo>),
    Eos(Box<Eos>),
}

/// What the pipeline is made of, handed to [`Core::new`].
pub(crate) struct CoreParts {
    pub(crate) key: SideCodec,
    pub(crate) value: SideCodec,
    pub(crate) transforms: Vec<Box<dyn Transform>>,
    pub(crate) output: OutputTopic,
    pub(crate) dead_letter: DeadLetter,
    pub(crate) sink: KafkaSink,
    pub(crate) mode: Mode,
    pub(crate) limits: Limits,
    pub(crate) retry: RetryPolicy,
    pub(crate) shutdown: Shutdown,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) metrics: Metrics,
    pub(crate) late: LatePolicy,
    pub(crate) wm: WatermarkTracker,
    pub(crate) assigned: ReadyFlag,
    pub(crate) progress: Progress,
    pub(crate) registry_meter: Option<crate::resolver::RegistryMeter>,
}

/// Everything the loop needs except the source (which records borrow).
pub(crate) struct Core {
    /// Decode, transforms, encode: moved to the stage thread while running.
    stages: Option<Stages>,
    dead_letter: DeadLetter,
    sink: KafkaSink,
    limits: Limits,
    retry: RetryPolicy,
    shutdown: Shutdown,
    shutdown_timeout: Duration,
    metrics: Metrics,
    wm: Arc<Mutex<WatermarkTracker>>,
    mode: Mode,
    parts: Parts,
    outputs: Outputs,
    /// Records to dead-letter when they come back after a rewind (the
    /// broker rejected one of their outputs): (partition slot, offset).
    redirect: HashMap<(u32, i64), Failure>,
    summary: Summary,
    progress: Progress,
    /// The stage thread's output-topic indices → this thread's.
    topic_map: Vec<u32>,
    /// Rewinds of the source so far (an event polled before one may be stale).
    rewinds: u64,
    /// Counts not yet settled into the summary (exactly-once: the open
    /// transaction's).
    pending: Counts,
    /// Reused buffers.
    dead_letter_buf: Encoded,
    reports: Vec<Delivery>,
    in_flight_gauge: InFlightMetrics,
    gauge_value: i64,
    assigned: ReadyFlag,
    now: Instant,
    next_housekeeping: Instant,
    next_export: Instant,
    since_housekeeping: u32,
    started: Instant,
}

/// One record ready to send; buffers reused across records.
#[derive(Debug, Default)]
struct Encoded {
    topic: u32,
    has_key: bool,
    key: Vec<u8>,
    has_value: bool,
    value: Vec<u8>,
    headers: Option<OwnedHeaders>,
    partition: Option<i32>,
    timestamp: Option<i64>,
}

impl Encoded {
    fn bytes(&self) -> u32 {
        let n = if self.has_key { self.key.len() } else { 0 }
            + if self.has_value { self.value.len() } else { 0 };
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn record<'a>(&'a self, topic: &'a str) -> OutRecord<'a> {
        let mut r = OutRecord::new().topic(topic);
        if self.has_key {
            r = r.key(&self.key);
        }
        if self.has_value {
            r = r.value(&self.value);
        }
        if let Some(p) = self.partition {
            r = r.partition(p);
        }
        if let Some(t) = self.timestamp {
            r = r.timestamp(t);
        }
        if let Some(h) = &self.headers {
            r = r.headers(h.clone());
        }
        r
    }

    /// The source record itself, for the dead-letter topic.
    fn copy_of(&mut self, topic: u32, r: &SourceRecord<'_>, headers: Option<OwnedHeaders>) {
        self.topic = topic;
        self.has_key = r.key().is_some();
        self.key.clear();
        self.key.extend_from_slice(r.key().unwrap_or_default());
        self.has_value = r.value().is_some();
        self.value.clear();
        self.value.extend_from_slice(r.value().unwrap_or_default());
        self.headers = headers;
        self.partition = None;
        self.timestamp = r.timestamp();
    }
}

// end-to-end latency: one clock read per batch of delivery reports
pub(crate) use crate::transform::epoch_ms;

/// The time from a source record's timestamp to `now_ms` (zero for clock skew).
pub(crate) fn latency(now_ms: i64, source_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(now_ms.saturating_sub(source_ms)).unwrap_or(0))
}

/// `topic[partition]@offset`.
pub(crate) fn position(tp: &TopicPartition, offset: i64) -> String {
    format!("{}[{}]@{offset}", tp.topic, tp.partition)
}

/// Headers of a consumed record, for the codecs (schema-id headers); read
/// once per record (librdkafka re-parses a record without headers, with an
/// allocation, on every look).
struct SourceHeaders<'r>(RecordHeaders<'r>);

impl HeaderView for SourceHeaders<'_> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        let mut found = None;
        for h in self.0.clone() {
            if h.key == name.as_bytes() {
                found = h.value;
            }
        }
        found
    }
}

/// The consumed record's headers as transform headers (borrowed; no
/// allocation for a record without headers).
fn pipeline_headers(hs: RecordHeaders<'_>) -> Vec<Header<'_>> {
    if RecordHeaders::count(&hs) == 0 {
        return Vec::new();
    }
    hs.map(|h| (h.key_str(), h.value.map(Cow::Borrowed)))
        .collect()
}

fn record_bytes(r: &SourceRecord<'_>) -> u64 {
    (r.key().map_or(0, <[u8]>::len) + r.value().map_or(0, <[u8]>::len)) as u64
}

/// Output headers: the record's (minus schema-id headers a new framing
/// replaces) plus the encoders' schema-id headers; `None` (no allocation)
/// when there are none.
fn output_headers(
    headers: &[Header<'_>],
    strip: [Option<&'static str>; 2],
    schema: [Option<SchemaHeader>; 2],
) -> Option<OwnedHeaders> {
    let extra = schema.iter().flatten().count();
    if headers.is_empty() && extra == 0 {
        return None;
    }
    let mut h = OwnedHeaders::new_with_capacity(headers.len() + extra);
    for (name, value) in headers {
        if strip.iter().flatten().any(|s| *s == name.as_ref()) {
            continue;
        }
        h = h.insert(KafkaHeader {
            key: name.as_ref(),
            value: value.as_deref(),
        });
    }
    for s in schema.iter().flatten() {
        h = h.insert(KafkaHeader {
            key: s.name,
            value: Some(&s.value[..]),
        });
    }
    Some(h)
}

/// What happened to the record being handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Go on with the next record.
    Next,
    /// The open transaction was aborted and the source rewound: the
    /// records come again.
    Rewound,
}

/// The mode's handle on one source record (at-least-once: its offset
/// tracker ticket).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordToken(Option<Ticket>);

/// Where a sent record came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SentRecord {
    pub(crate) part: u32,
    pub(crate) offset: i64,
    pub(crate) topic: u32,
    pub(crate) bytes: u32,
    pub(crate) timestamp: Option<i64>,
    pub(crate) kind: Kind,
}

impl Core {
    pub(crate) fn new(p: CoreParts) -> Self {
        let now = Instant::now();
        let wm = Arc::new(Mutex::new(p.wm));
        // every transform names the value fields it uses: decode only
        // those, copy the bytes of the others
        let skim = p
            .transforms
            .iter()
            .map(|t| t.value_fields())
            .collect::<Option<Vec<Vec<String>>>>()
            .map(|f| kbridge_codec::Skimmer::new(f.into_iter().flatten()));
        if skim.is_some() {
            tracing::debug!("the transforms name their value fields: decoding only those");
        }
        let stages = Stages {
            skim,
            skimmed: kbridge_codec::Skimmed::new(),
            key: p.key,
            value: p.value,
            transforms: p.transforms,
            output: p.output,
            late: p.late,
            wm: Arc::clone(&wm),
            registry_meter: p.registry_meter,
            retry: p.retry,
            shutdown: p.shutdown.clone(),
            metrics: p.metrics.clone(),
            outputs: Outputs::new(p.metrics.clone()),
            templated: Vec::new(),
            outs: Vec::with_capacity(4),
        };
        Core {
            in_flight_gauge: p.metrics.in_flight(),
            parts: Parts::new(p.metrics.clone()),
            outputs: Outputs::new(p.metrics.clone()),
            stages: Some(stages),
            dead_letter: p.dead_letter,
            sink: p.sink,
            limits: p.limits,
            retry: p.retry,
            shutdown: p.shutdown,
            shutdown_timeout: p.shutdown_timeout,
            metrics: p.metrics,
            wm,
            mode: p.mode,
            assigned: p.assigned,
            progress: p.progress,
            topic_map: Vec::new(),
            rewinds: 0,
            redirect: HashMap::new(),
            summary: Summary::default(),
            pending: Counts::default(),
            dead_letter_buf: Encoded::default(),
            reports: Vec::new(),
            gauge_value: 0,
            now,
            next_housekeeping: now,
            next_export: now,
            since_housekeeping: 0,
            started: now,
        }
    }

    /// Runs until the source finishes, a shutdown is requested or an error
    /// stops the pipeline; commits what is durable on the way out.
    pub(crate) fn run(mut self, src: &KafkaSource) -> Result<Summary, PipelineError> {
        let result = match self.run_loop(src) {
            Ok(ended_by) => {
                self.summary.ended_by = ended_by;
                self.finish(src)
            }
            Err(e) => {
                self.stop_after_error(src, &e);
                Err(e)
            }
        };
        self.settle();
        self.summary.duration = self.started.elapsed();
        self.in_flight_gauge.sub(self.gauge_value);
        result.map(|()| {
            tracing::info!(summary = %self.summary, "pipeline stopped");
            self.summary
        })
    }

    fn run_loop(&mut self, src: &KafkaSource) -> Result<&'static str, PipelineError> {
        let Some(mut stages) = self.stages.take() else {
            return Err(PipelineError::configure("the pipeline can run only once"));
        };
        let (jobs, jobs_rx) = std::sync::mpsc::sync_channel::<Batch<'_>>(DEPTH);
        let (done_tx, done) = std::sync::mpsc::sync_channel::<Batch<'_>>(DEPTH);
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("kbridge-stages".to_owned())
                .spawn_scoped(scope, move || {
                    stages.serve(&jobs_rx, &done_tx);
                    stages
                })
                .map_err(|source| PipelineError::SpawnThread { source })?;
            let mut lane = Lane {
                jobs,
                done,
                in_works: 0,
                spare: Vec::new(),
            };
            let result = self.batches(src, &mut lane);
            // hang up: the stage thread ends after the batch it is on;
            // records of batches not handled are dropped (the next run
            // reads them)
            drop(lane);
            match worker.join() {
                Ok(stages) => self.stages = Some(stages),
                Err(panic) => std::panic::resume_unwind(panic),
            }
            result
        })
    }

    /// The loop: polls a batch of what is already fetched, hands it to the
    /// stage thread and handles (sends, offsets) the batches it has
    /// finished, in order; it waits for one only when `DEPTH` are in the
    /// works or nothing more is fetched.
    fn batches<'s>(
        &mut self,
        src: &'s KafkaSource,
        lane: &mut Lane<'s>,
    ) -> Result<&'static str, PipelineError> {
        let mut finish_attempts = 0u32;
        loop {
            if self.shutdown.is_requested() {
                tracing::info!("shutdown requested: stop reading, commit what is durable");
                return Ok("shutdown");
            }
            if self.since_housekeeping >= 256 || self.now >= self.next_housekeeping {
                self.housekeeping(src)?;
            }
            // Records already fetched come without waiting and without a
            // clock read here (`now` is refreshed by housekeeping, every 256
            // records); only a poll that has to wait updates it.
            let mut batch = lane.spare.pop().unwrap_or_default();
            let mut event = None;
            // a rewind from here on makes an event polled below stale
            let rewinds = self.rewinds;
            while batch.items.len() < BATCH && event.is_none() {
                match self.poll_source(src, Duration::ZERO)? {
                    Some(SourceEvent::Record(r)) => self.add_item(&mut batch, r),
                    Some(other) => event = Some(other),
                    None => break,
                }
            }
            if batch.items.is_empty() && event.is_none() {
                if lane.in_works > 0 {
                    // nothing more fetched: finish the batches in the works
                    lane.spare.push(batch);
                    self.collect(src, lane)?;
                    continue;
                }
                self.now = Instant::now();
                let timeout = match &self.mode {
                    Mode::Eos(e) => e.poll_timeout(self.now).min(POLL),
                    Mode::Alo(_) => POLL,
                };
                let polled = self.poll_source(src, timeout)?;
                self.now = Instant::now();
                match polled {
                    Some(SourceEvent::Record(r)) => self.add_item(&mut batch, r),
                    Some(other) => event = Some(other),
                    None => {
                        lane.spare.push(batch);
                        self.housekeeping(src)?;
                        continue;
                    }
                }
            }
            if batch.items.is_empty() {
                lane.spare.push(batch);
            } else {
                finish_attempts = 0;
                lane.jobs.send(batch).map_err(|_| stage_thread_gone())?;
                lane.in_works += 1;
                // handle what is done; wait only when the stage thread has
                // as many batches as it may
                while lane.in_works > 0 {
                    let b = if lane.in_works >= DEPTH {
                        lane.done.recv().map_err(|_| stage_thread_gone())?
                    } else {
                        match lane.done.try_recv() {
                            Ok(b) => b,
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => return Err(stage_thread_gone()),
                        }
                    };
                    let b = self.received(lane, b);
                    self.handle(src, b, lane)?;
                }
            }
            let Some(event) = event else {
                continue;
            };
            // everything polled before the event is handled first
            self.collect(src, lane)?;
            match event {
                SourceEvent::Assigned(parts) => self.on_assigned(&parts),
                SourceEvent::Revoked(rv) => self.on_revoked(src, &rv)?,
                // the source was rewound since it said so: it reopened the
                // partitions and says it again once true
                SourceEvent::Finished if self.rewinds != rewinds => {}
                SourceEvent::Finished => {
                    finish_attempts += 1;
                    if finish_attempts > 3 && !self.redirect.is_empty() {
                        // the rewound records did not come back: leave them
                        // uncommitted for the next run rather than spin
                        tracing::warn!(
                            records = self.redirect.len(),
                            "refused records did not come back before the end; they stay uncommitted"
                        );
                        self.redirect.clear();
                    }
                    if self.settle_before_finish(src)? {
                        tracing::info!("source finished (stop offsets reached)");
                        return Ok("finished");
                    }
                }
                // records go to batches above
                SourceEvent::Record(_) => {}
            }
        }
    }

    /// One poll; a retriable source error is counted and waited out
    /// (`None`).
    fn poll_source<'s>(
        &mut self,
        src: &'s KafkaSource,
        timeout: Duration,
    ) -> Result<Option<SourceEvent<'s>>, PipelineError> {
        match src.poll(timeout) {
            Ok(e) => Ok(e),
            Err(e) if e.is_retriable() => {
                self.metrics.emit(ErrorRecorded {
                    stage: "source",
                    class: "Poll",
                    action: ErrorAction::Retry,
                    topic: None,
                    partition: None,
                    offset: None,
                    error: &e,
                });
                self.summary.retries += 1;
                self.pause(self.retry.initial);
                Ok(None)
            }
            Err(source) => Err(PipelineError::Source {
                source: Box::new(source),
            }),
        }
    }

    fn add_item<'s>(&mut self, batch: &mut Batch<'s>, record: SourceRecord<'s>) {
        let part = self
            .parts
            .slot(record.topic(), record.partition(), &self.dead_letter);
        let p = self.parts.get(part);
        batch.items.push(Item {
            part,
            topic: p.topic,
            generation: p.generation,
            watermark: p.watermark,
            first: 0,
            result: Ok(Outcome::default()),
            record,
        });
    }

    /// A batch back from the stage thread: learns its new output topics.
    fn received<'s>(&mut self, lane: &mut Lane<'s>, mut b: Batch<'s>) -> Batch<'s> {
        lane.in_works -= 1;
        for (t, name) in b.new_topics.drain(..) {
            let i = self.outputs.index(&name);
            let t = t as usize;
            if self.topic_map.len() <= t {
                self.topic_map.resize(t + 1, 0);
            }
            self.topic_map[t] = i;
        }
        b
    }

    /// Takes back and handles every batch at the stage thread.
    fn collect<'s>(&mut self, src: &KafkaSource, lane: &mut Lane<'s>) -> Result<(), PipelineError> {
        while lane.in_works > 0 {
            let b = lane.done.recv().map_err(|_| stage_thread_gone())?;
            let b = self.received(lane, b);
            self.handle(src, b, lane)?;
        }
        Ok(())
    }

    /// Sends the outputs of a batch's records (or dead-letters them), in
    /// order; records of a partition rewound since they were polled are
    /// skipped (the source delivers them again).
    fn handle<'s>(
        &mut self,
        src: &KafkaSource,
        mut b: Batch<'s>,
        lane: &mut Lane<'s>,
    ) -> Result<(), PipelineError> {
        let mut result = Ok(());
        for item in &mut b.items {
            // commits due by time, delivery reports: between records, as a
            // throttled sink can take seconds over the batches at hand (a
            // rewind in there makes the rest of this batch stale)
            if self.since_housekeeping >= 256 || self.now >= self.next_housekeeping {
                result = self.housekeeping(src);
                if result.is_err() {
                    break;
                }
            }
            if item.generation != self.parts.get(item.part).generation {
                continue;
            }
            self.since_housekeeping += 1;
            result = self
                .on_record(src, item, &mut b.encoded)
                .and_then(|_| self.eos_commit_if_full(src));
            if result.is_err() {
                break;
            }
        }
        b.items.clear();
        lane.spare.push(b);
        result
    }

    /// Bookkeeping between records: delivery reports, commits due by
    /// time, exported gauges.
    fn housekeeping(&mut self, src: &KafkaSource) -> Result<(), PipelineError> {
        self.since_housekeeping = 0;
        self.now = Instant::now();
        self.next_housekeeping = self.now + HOUSEKEEPING;
        self.parts.flush_consumed();
        match self.mode {
            Mode::Alo(_) => self.alo_housekeeping(src)?,
            Mode::Eos(_) => self.eos_housekeeping(src)?,
        }
        if self.now >= self.next_export {
            self.next_export = self.now + EXPORT;
            self.export();
        }
        Ok(())
    }

    /// Watermarks and the in-flight gauge to metrics.
    fn export(&mut self) {
        {
            let mut wm = self.wm.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(w) = wm.tick(self.now) {
                self.metrics.set_watermark_ms(w);
            }
            for p in self.parts.live() {
                if let (Some(slot), Some(m)) = (p.watermark, &p.metrics)
                    && let Some(w) = wm.partition_watermark(slot)
                {
                    m.set_watermark_ms(w);
                }
            }
        }
        let now = i64::try_from(self.sink.in_flight()).unwrap_or(i64::MAX);
        self.in_flight_gauge.add(now - self.gauge_value);
        self.gauge_value = now;
        if let Mode::Alo(_) = self.mode {
            self.settle();
        }
    }

    /// Moves the pending counts into the summary.
    fn settle(&mut self) {
        self.parts.flush_consumed();
        self.outputs.flush_delivered();
        self.summary.add(&self.pending);
        self.pending.clear();
        self.progress.publish(&self.summary);
    }

    /// Waits `d` while serving delivery reports (handled later).
    fn pause(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until && !self.shutdown.is_requested() {
            self.sink
                .poll_deliveries(Duration::from_millis(10), &mut self.reports);
        }
    }

    fn on_assigned(&mut self, parts: &[TopicPartition]) {
        let now = Instant::now();
        for tp in parts {
            let slot = self.parts.slot(&tp.topic, tp.partition, &self.dead_letter);
            let w = self
                .wm
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .assign(&tp.topic, tp.partition, now);
            self.parts.get_mut(slot).watermark = Some(w);
        }
        if self.parts.live().next().is_some() {
            self.assigned.set_ready();
        }
    }

    fn on_revoked(&mut self, src: &KafkaSource, rv: &Revocation) -> Result<(), PipelineError> {
        match self.mode {
            Mode::Alo(_) => self.alo_revoked(src, rv)?,
            Mode::Eos(_) => self.eos_revoked(src, rv)?,
        }
        for tp in &rv.partitions {
            self.wm
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .revoke(&tp.topic, tp.partition);
            if let Some(slot) = self.parts.remove(tp) {
                self.redirect.retain(|(p, _), _| *p != slot);
            }
        }
        if self.parts.live().next().is_none() {
            self.assigned
                .set_not_ready("no partitions assigned (rebalance)");
        }
        Ok(())
    }

    /// The source reached its stop offsets: make everything durable now.
    /// Returns false when that rewound the source instead (a refused
    /// record comes back to be dead-lettered, an aborted transaction is
    /// redone): the loop goes on.
    fn settle_before_finish(&mut self, src: &KafkaSource) -> Result<bool, PipelineError> {
        match self.mode {
            Mode::Alo(_) => {
                let deadline = Instant::now() + self.shutdown_timeout;
                self.alo_drain(src, deadline)?;
                Ok(self.redirect.is_empty())
            }
            Mode::Eos(_) => self.eos_commit(src, None),
        }
    }

    /// Ends a run that was not stopped by an error, within the shutdown
    /// timeout: the open transaction commits (exactly-once), or outstanding
    /// records are awaited and their offsets committed (at-least-once).
    fn finish(&mut self, src: &KafkaSource) -> Result<(), PipelineError> {
        let deadline = Instant::now() + self.shutdown_timeout;
        match self.mode {
            Mode::Alo(_) => self.alo_finish(src, deadline),
            Mode::Eos(_) => self.eos_finish(src),
        }
    }

    /// Best effort after an error: abort the open transaction
    /// (exactly-once: nothing of it commits), or commit the offsets of what
    /// was delivered (at-least-once: it is durable).
    fn stop_after_error(&mut self, src: &KafkaSource, e: &PipelineError) {
        tracing::error!(error = %e, "pipeline stopping");
        match self.mode {
            Mode::Alo(_) => {
                let deadline = Instant::now() + self.shutdown_timeout;
                if let Err(e) = self.alo_finish(src, deadline) {
                    tracing::warn!(error = %e, "could not commit the delivered offsets while stopping");
                }
            }
            Mode::Eos(_) => self.eos_abort_quietly(),
        }
    }

    // ------------------------------------------------------------ records

    fn on_record(
        &mut self,
        src: &KafkaSource,
        item: &mut Item<'_>,
        encoded: &mut [Encoded],
    ) -> Result<Flow, PipelineError> {
        let result = std::mem::replace(&mut item.result, Ok(Outcome::default()));
        let r = &item.record;
        let part = item.part;
        let offset = r.offset();
        let bytes = record_bytes(r);
        {
            if let Some(m) = &self.parts.get(part).metrics {
                m.set_position(offset + 1);
            }
            self.parts.consumed(part, bytes);
        }
        let token = self.begin_record(src, part, offset)?;
        self.parts.get_mut(part).next = Some(offset + 1);
        if !self.redirect.is_empty()
            && let Some(f) = self.redirect.remove(&(part, offset))
        {
            return self.fail_record(src, r, part, token, f);
        }
        let o = match result {
            Ok(o) => o,
            Err(f) => {
                self.summary.retries += u64::from(f.attempt.saturating_sub(1));
                return self.fail_record(src, r, part, token, f);
            }
        };
        self.summary.retries += o.retries;
        self.pending.late += o.late;
        self.pending.late_dropped += o.late_dropped;
        self.pending.records_in += 1;
        self.pending.bytes_in += bytes;
        if o.n == 0 {
            if o.produced == 0 {
                self.pending.filtered += 1;
                self.parts.topic(part).metrics.filtered(1);
            }
            self.record_done(token);
            return Ok(Flow::Next);
        }
        for i in 0..o.n {
            if i > 0 {
                self.retain(token);
            }
            let enc = &mut encoded[item.first + i];
            enc.topic = self.topic_map[enc.topic as usize];
            let sent = SentRecord {
                part,
                offset,
                topic: enc.topic,
                bytes: enc.bytes(),
                timestamp: r.timestamp(),
                kind: Kind::Output,
            };
            match self.send(src, enc, token, sent)? {
                Sent::Ok => {}
                Sent::Rewound => return Ok(Flow::Rewound),
                Sent::Refused(f) if i == 0 => {
                    // nothing of the record was written: dead-letter it
                    self.pending.records_in -= 1;
                    self.pending.bytes_in -= bytes;
                    return self.fail_record(src, r, part, token, f);
                }
                Sent::Refused(f) => {
                    return self
                        .refused_after_partial(src, r, part, token, f)
                        .map(|()| Flow::Next);
                }
            }
        }
        Ok(Flow::Next)
    }

    /// A later output of a fanned-out record was refused: exactly-once
    /// redoes the transaction with the record dead-lettered; at-least-once
    /// dead-letters it too (its earlier outputs stay written).
    fn refused_after_partial(
        &mut self,
        src: &KafkaSource,
        r: &SourceRecord<'_>,
        part: u32,
        token: RecordToken,
        f: Failure,
    ) -> Result<(), PipelineError> {
        match self.mode {
            Mode::Eos(_) if self.dead_letter.tolerance == Tolerance::All => {
                self.redirect.insert((part, r.offset()), f);
                self.eos_abort(
                    src,
                    &Message("an output was refused by the producer".to_owned()),
                )
            }
            _ => self.fail_record(src, r, part, token, f).map(|_| ()),
        }
    }

    // ------------------------------------------------------------ failures

    /// A record failed for good: stop (fatal, or tolerance `none`), skip it
    /// (no dead-letter topic) or write it to the dead-letter topic.
    fn fail_record(
        &mut self,
        src: &KafkaSource,
        r: &SourceRecord<'_>,
        part: u32,
        token: RecordToken,
        f: Failure,
    ) -> Result<Flow, PipelineError> {
        let tp = self.parts.get(part).tp.clone();
        let offset = r.offset();
        let stop =
            f.disposition == Disposition::Fatal || self.dead_letter.tolerance == Tolerance::None;
        if stop {
            self.metrics.emit(ErrorRecorded {
                stage: f.stage.label(),
                class: f.class,
                action: ErrorAction::Stop,
                topic: Some(&tp.topic),
                partition: Some(tp.partition),
                offset: Some(offset),
                error: &*f.error,
            });
            if f.disposition == Disposition::Fatal {
                return Err(PipelineError::RecordFatal {
                    topic: tp.topic,
                    partition: tp.partition,
                    offset,
                    stage: f.stage.label(),
                    message: f.message(),
                });
            }
            self.stop_before(src, part, offset)?;
            return Err(PipelineError::RecordRejected {
                topic: tp.topic,
                partition: tp.partition,
                offset,
                stage: f.stage.label(),
                class: f.class,
                message: f.message(),
            });
        }
        self.pending.records_in += 1;
        self.pending.bytes_in += record_bytes(r);
        if !self.dead_letter.enabled {
            tracing::warn!(
                topic = %tp.topic,
                partition = tp.partition,
                offset,
                stage = f.stage.label(),
                class = f.class,
                "record skipped (tolerance all, no dead-letter topic): {}",
                f.message()
            );
            self.pending.skipped += 1;
            self.record_done(token);
            return Ok(Flow::Next);
        }
        let context = self
            .dead_letter
            .context_headers
            .then(|| f.context(&tp.topic, tp.partition, offset));
        let headers = dead_letter_headers(r.owned_headers(), context.as_ref());
        let dlq = self.outputs.index(&self.parts.topic(part).dlq);
        self.metrics.emit(DeadLettered {
            topic: &tp.topic,
            partition: tp.partition,
            offset,
            stage: f.stage.label(),
            class: f.class,
            subject: f.subject.as_deref(),
            schema_id: f.schema_id,
            reason: &*f.error,
        });
        let mut buf = std::mem::take(&mut self.dead_letter_buf);
        buf.copy_of(dlq, r, headers);
        let sent = SentRecord {
            part,
            offset,
            topic: dlq,
            bytes: buf.bytes(),
            timestamp: r.timestamp(),
            kind: Kind::DeadLetter(f.stage.label()),
        };
        let sent = self.send(src, &buf, token, sent);
        self.dead_letter_buf = buf;
        match sent? {
            Sent::Ok => Ok(Flow::Next),
            Sent::Rewound => Ok(Flow::Rewound),
            Sent::Refused(refusal) => Err(PipelineError::DeadLetterWrite {
                topic: tp.topic,
                partition: tp.partition,
                offset,
                dlq_topic: self.outputs.get(dlq).name.clone(),
                source: Box::new(
                    refusal
                        .error
                        .downcast::<SinkError>()
                        .map(|e| *e)
                        .unwrap_or(SinkError::NoTopic),
                ),
            }),
        }
    }

    /// Tolerance `none`: commit what came before the failed record, not it.
    fn stop_before(
        &mut self,
        src: &KafkaSource,
        part: u32,
        offset: i64,
    ) -> Result<(), PipelineError> {
        match self.mode {
            // the record's ticket never completes: the final commit (on
            // the way out) stops right before it
            Mode::Alo(_) => Ok(()),
            Mode::Eos(_) => self.eos_commit(src, Some((part, offset))).map(|_| ()),
        }
    }

    // ------------------------------------------------------------ sending

    /// Registers a consumed record with the mode (at-least-once: offset
    /// tracking; exactly-once: opens the transaction if needed).
    fn begin_record(
        &mut self,
        src: &KafkaSource,
        part: u32,
        offset: i64,
    ) -> Result<RecordToken, PipelineError> {
        if let Mode::Alo(a) = &mut self.mode {
            let tp = &self.parts.get(part).tp;
            return Ok(RecordToken(Some(a.tracker.track(
                &tp.topic,
                tp.partition,
                offset,
            ))));
        }
        self.eos_begin(src)?;
        Ok(RecordToken(None))
    }

    /// The record needs nothing more (filtered, skipped).
    fn record_done(&mut self, token: RecordToken) {
        if let (Mode::Alo(a), RecordToken(Some(t))) = (&mut self.mode, token) {
            a.tracker.complete(t);
        }
    }

    /// One more output to wait for (fan-out).
    fn retain(&mut self, token: RecordToken) {
        if let (Mode::Alo(a), RecordToken(Some(t))) = (&mut self.mode, token) {
            a.tracker.retain(t);
        }
    }

    /// Registers a record about to be sent; returns its delivery token.
    fn register(&mut self, token: RecordToken, sent: SentRecord) -> u64 {
        match &mut self.mode {
            Mode::Alo(a) => {
                let t = a.in_flight.insert(inflight::Sent {
                    ticket: token.0.unwrap_or(Ticket::from_raw(u64::MAX)),
                    part: sent.part,
                    offset: sent.offset,
                    topic: sent.topic,
                    bytes: sent.bytes,
                    timestamp: sent.timestamp,
                    kind: sent.kind,
                });
                let (n, b) = (a.in_flight.len(), a.in_flight.bytes());
                let s = &mut self.summary;
                s.peak_in_flight_records = s.peak_in_flight_records.max(n);
                s.peak_in_flight_bytes = s.peak_in_flight_bytes.max(b);
                t
            }
            Mode::Eos(e) => {
                match sent.kind {
                    Kind::Output => {
                        self.pending.records_out += 1;
                        self.pending.bytes_out += u64::from(sent.bytes);
                    }
                    Kind::DeadLetter(stage) => self.pending.dead_lettered.add(stage),
                }
                e.push(sent)
            }
        }
    }

    /// Undoes [`Core::register`] for a record the producer refused.
    fn unregister(&mut self, delivery_token: u64) {
        match &mut self.mode {
            Mode::Alo(a) => {
                a.in_flight.remove(delivery_token);
            }
            Mode::Eos(e) => {
                if let Some(s) = e.pop(delivery_token) {
                    match s.kind {
                        Kind::Output => {
                            self.pending.records_out -= 1;
                            self.pending.bytes_out -= u64::from(s.bytes);
                        }
                        Kind::DeadLetter(stage) => self.pending.dead_lettered.sub(stage),
                    }
                }
            }
        }
    }

    /// Waits (serving delivery reports) while the in-flight limits are reached.
    fn wait_for_room(&mut self, src: &KafkaSource) -> Result<(), PipelineError> {
        loop {
            let (records, bytes) = match &self.mode {
                Mode::Alo(a) => (a.in_flight.len(), a.in_flight.bytes()),
                Mode::Eos(_) => (self.sink.in_flight(), 0),
            };
            if records < self.limits.max_in_flight_records
                && bytes < self.limits.max_in_flight_bytes
            {
                if let Mode::Eos(_) = self.mode {
                    let s = &mut self.summary;
                    s.peak_in_flight_records = s.peak_in_flight_records.max(records + 1);
                }
                return Ok(());
            }
            self.sink
                .poll_deliveries(Duration::from_millis(1), &mut self.reports);
            // a wait is when the clock moves: let housekeeping (transaction
            // age, commits) see it even while every poll returns a record
            self.now = Instant::now();
            if let Mode::Alo(_) = self.mode {
                self.alo_reports(src)?;
            }
        }
    }

    /// Sends `enc`. Retriable refusals are retried with
    /// backoff; an abortable one aborts the transaction; a poison one is
    /// handed back; a fatal one stops the pipeline.
    fn send(
        &mut self,
        src: &KafkaSource,
        enc: &Encoded,
        token: RecordToken,
        sent: SentRecord,
    ) -> Result<Sent, PipelineError> {
        let mut attempt = 0u32;
        loop {
            self.wait_for_room(src)?;
            let delivery_token = self.register(token, sent);
            let result = {
                let rec = enc.record(&self.outputs.get(enc.topic).name);
                self.sink.send(rec, delivery_token)
            };
            let Err(e) = result else {
                return Ok(Sent::Ok);
            };
            self.unregister(delivery_token);
            match e.class() {
                ErrorClass::Retriable => {
                    attempt += 1;
                    let f = Failure::produce(e);
                    let tp = self.parts.get(sent.part).tp.clone();
                    self.metrics.emit(ErrorRecorded {
                        stage: "produce",
                        class: f.class,
                        action: ErrorAction::Retry,
                        topic: Some(&tp.topic),
                        partition: Some(tp.partition),
                        offset: Some(sent.offset),
                        error: &*f.error,
                    });
                    self.summary.retries += 1;
                    self.pause(self.retry.delay(attempt));
                    if self.shutdown.is_requested() {
                        return Err(PipelineError::RecordFatal {
                            topic: tp.topic,
                            partition: tp.partition,
                            offset: sent.offset,
                            stage: "produce",
                            message: format!("shutdown while retrying a send: {}", f.message()),
                        });
                    }
                }
                ErrorClass::Poison => return Ok(Sent::Refused(Failure::produce(e))),
                ErrorClass::Abortable if matches!(self.mode, Mode::Eos(_)) => {
                    self.eos_abort(src, &e)?;
                    return Ok(Sent::Rewound);
                }
                _ => {
                    let tp = self.parts.get(sent.part).tp.clone();
                    return Err(PipelineError::Sink {
                        operation: "send",
                        position: position(&tp, sent.offset),
                        source: Box::new(e),
                    });
                }
            }
        }
    }
}

/// The way to the stage thread and back.
struct Lane<'s> {
    jobs: SyncSender<Batch<'s>>,
    done: Receiver<Batch<'s>>,
    /// Batches at the stage thread (or done and not yet taken back).
    in_works: usize,
    /// Batches to reuse (their buffers).
    spare: Vec<Batch<'s>>,
}

/// The stage thread hung up: it panicked (the join reports how).
fn stage_thread_gone() -> PipelineError {
    PipelineError::Panicked {
        message: "the stage thread stopped".to_owned(),
    }
}

/// What became of one send.
#[derive(Debug)]
enum Sent {
    Ok,
    /// The transaction was aborted and the source rewound.
    Rewound,
    /// The producer refused the record itself (too large, bad partition).
    Refused(Failure),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_never_negative() {
        assert_eq!(latency(10_500, 10_000), Duration::from_millis(500));
        assert_eq!(latency(10_000, 10_500), Duration::ZERO);
        assert!(epoch_ms() > 1_700_000_000_000);
    }

    #[test]
    fn output_headers_replace_stale_schema_ids_and_allocate_only_when_needed() {
        assert!(output_headers(&[], [None, None], [None, None]).is_none());
        let headers: Vec<Header<'_>> = vec![
            (Cow::Borrowed("trace"), Some(Cow::Borrowed(&b"t1"[..]))),
            (
                Cow::Borrowed("__value_schema_id"),
                Some(Cow::Borrowed(&[0u8, 0, 0, 0, 9][..])),
            ),
            (Cow::Borrowed("empty"), None),
        ];
        let h = output_headers(
            &headers,
            [None, Some("__value_schema_id")],
            [
                None,
                Some(SchemaHeader {
                    name: "__value_schema_id",
                    value: vec![0, 0, 0, 0, 12],
                }),
            ],
        )
        .unwrap();
        use rdkafka::message::Headers;
        let got: Vec<(&str, Option<&[u8]>)> = h.iter().map(|h| (h.key, h.value)).collect();
        assert_eq!(
            got,
            [
                ("trace", Some(&b"t1"[..])),
                ("empty", None),
                ("__value_schema_id", Some(&[0u8, 0, 0, 0, 12][..])),
            ]
        );
    }
}
