//! The record stages — decode, transforms, encode — on a thread of their
//! own, beside the loop thread, which polls the source, produces the
//! encoded outputs and does the offset and transaction bookkeeping.
//!
//! The loop hands over batches of polled records (up to `DEPTH` batches
//! in the works) and takes them back in order with each record's outputs
//! (or its failure), so this thread goes on while the loop waits for a
//! transaction commit or room in flight. Records of a partition that was
//! rewound while their batch was in the works are ignored by the loop
//! (their generation is stale): the source delivers them again. Offsets
//! follow what the loop handled, never what was polled.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kbridge_codec::{Disposition, SchemaRef, Skimmed, Skimmer, Value};
use kbridge_metrics::Metrics;
use kbridge_metrics::events::{ErrorAction, ErrorRecorded};
use kbridge_source::SourceRecord;

use super::outputs::Outputs;
use super::{Encoded, SourceHeaders, output_headers, pipeline_headers};
use crate::codecs::SideCodec;
use crate::failure::{Failure, Message, Stage};
use crate::options::{OutputTopic, RetryPolicy};
use crate::resolver::RegistryMeter;
use crate::shutdown::Shutdown;
use crate::transform::{PipelineRecord, SourceMeta, Transform, apply_all, recycle};
use crate::watermark::{LatePolicy, Lateness, PartitionSlot, WatermarkTracker};
use kbridge_codec::SchemaHeader;

/// Records per batch handed to the stage thread.
pub(crate) const BATCH: usize = 128;

/// What one record came to in the stages.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Outcome {
    /// Outputs to send: `Batch::encoded[first..first + n]`.
    pub(crate) n: usize,
    /// Records the transforms produced (0: filtered; more than `n`: late
    /// records dropped).
    pub(crate) produced: usize,
    pub(crate) late: u64,
    pub(crate) late_dropped: u64,
    /// Retried attempts (a registry outage, ...).
    pub(crate) retries: u64,
}

/// One polled record and what the loop knew of its partition.
pub(crate) struct Item<'s> {
    pub(crate) record: SourceRecord<'s>,
    pub(crate) part: u32,
    /// Index of the record's source topic (its `{topic}` output template).
    pub(crate) topic: usize,
    pub(crate) generation: u32,
    pub(crate) watermark: Option<PartitionSlot>,
    pub(crate) first: usize,
    pub(crate) result: Result<Outcome, Failure>,
}

/// Records going to the stage thread and back; its buffers are reused.
#[derive(Default)]
pub(crate) struct Batch<'s> {
    pub(crate) items: Vec<Item<'s>>,
    /// The outputs of every record of the batch, in order.
    pub(crate) encoded: Vec<Encoded>,
    /// Output topics the stage thread saw for the first time in this
    /// batch: (its index, name); `Encoded::topic` holds its index.
    pub(crate) new_topics: Vec<(u32, String)>,
}

/// The stage thread's state.
pub(crate) struct Stages {
    pub(crate) key: SideCodec,
    pub(crate) value: SideCodec,
    pub(crate) transforms: Vec<Box<dyn Transform>>,
    pub(crate) output: OutputTopic,
    pub(crate) late: LatePolicy,
    pub(crate) wm: Arc<Mutex<WatermarkTracker>>,
    pub(crate) registry_meter: Option<RegistryMeter>,
    pub(crate) retry: RetryPolicy,
    pub(crate) shutdown: Shutdown,
    pub(crate) metrics: Metrics,
    /// Encoders per output topic (this thread's topic indices).
    pub(crate) outputs: Outputs,
    /// `{topic}` template outputs per source-topic index.
    pub(crate) templated: Vec<Option<String>>,
    pub(crate) outs: Vec<PipelineRecord<'static>>,
    /// Decodes only the value fields the transforms use (when they all
    /// say which) and copies the others' bytes to the output.
    pub(crate) skim: Option<Skimmer>,
    pub(crate) skimmed: Skimmed,
}

impl Stages {
    /// Serves batches until the loop hangs up.
    pub(crate) fn serve<'s>(&mut self, jobs: &Receiver<Batch<'s>>, done: &SyncSender<Batch<'s>>) {
        while let Ok(mut batch) = jobs.recv() {
            self.run(&mut batch);
            if done.send(batch).is_err() {
                return;
            }
        }
    }

    fn run(&mut self, batch: &mut Batch<'_>) {
        let Batch {
            items,
            encoded,
            new_topics,
        } = batch;
        new_topics.clear();
        // one clock read per batch (watermarks' processing time)
        let now = Instant::now();
        let mut used = 0;
        for item in items.iter_mut() {
            item.first = used;
            let mut attempt = 1u32;
            let mut retries = 0u64;
            item.result = loop {
                let before = self.outputs.len();
                let r = self.record(item, encoded, used, now);
                for t in before..self.outputs.len() {
                    let t = t as u32;
                    new_topics.push((t, self.outputs.get(t).name.clone()));
                }
                match r {
                    Ok(mut o) => {
                        o.retries = retries;
                        used += o.n;
                        break Ok(o);
                    }
                    Err(f) if f.disposition == Disposition::Retriable => {
                        if let Err(f) = self.retry_wait(&f, &item.record, attempt) {
                            break Err(f);
                        }
                        attempt += 1;
                        retries += 1;
                    }
                    Err(mut f) => {
                        f.attempt = attempt;
                        break Err(f);
                    }
                }
            };
        }
    }

    /// Logs a retriable failure and waits before the next attempt; gives
    /// up (a fatal failure naming the attempts) when a shutdown is
    /// requested meanwhile.
    fn retry_wait(&self, f: &Failure, r: &SourceRecord<'_>, attempt: u32) -> Result<(), Failure> {
        self.metrics.emit(ErrorRecorded {
            stage: f.stage.label(),
            class: f.class,
            action: ErrorAction::Retry,
            topic: Some(r.topic()),
            partition: Some(r.partition()),
            offset: Some(r.offset()),
            error: &*f.error,
        });
        let until = Instant::now() + self.retry.delay(attempt);
        while Instant::now() < until && !self.shutdown.is_requested() {
            std::thread::sleep(Duration::from_millis(10).min(until - Instant::now()));
        }
        if self.shutdown.is_requested() {
            return Err(Failure::new(
                f.stage,
                f.class,
                f.component.clone(),
                Disposition::Fatal,
                Message(format!(
                    "shutdown while retrying ({attempt} attempt(s)): {}",
                    f.message()
                )),
            ));
        }
        Ok(())
    }

    /// Decodes, transforms and encodes one record into `encoded[first..]`.
    fn record(
        &mut self,
        item: &Item<'_>,
        encoded: &mut Vec<Encoded>,
        first: usize,
        now: Instant,
    ) -> Result<Outcome, Failure> {
        let r = &item.record;
        let hv = SourceHeaders(r.headers());
        let lookups = self.registry_meter.as_ref().map(|m| m.lookups());
        let key = self
            .key
            .decoder
            .decode(r.key(), &hv)
            .map_err(|e| Failure::codec(Stage::KeyDecode, &self.key.component, e))?;
        let value = match &mut self.skim {
            Some(s) => s.decode(&self.value.decoder, r.value(), &hv, &mut self.skimmed),
            None => self.value.decoder.decode(r.value(), &hv),
        }
        .map_err(|e| Failure::codec(Stage::ValueDecode, &self.value.component, e))?;
        if let Some(m) = &self.registry_meter
            && lookups == Some(m.lookups())
        {
            // served from the codecs' compiled-schema caches
            for _ in [&key.schema, &value.schema].into_iter().flatten() {
                m.metrics.cache_hit();
            }
        }
        let source = SourceMeta {
            topic: r.topic(),
            partition: r.partition(),
            offset: r.offset(),
            timestamp: r.timestamp(),
            timestamp_type: r.timestamp_type(),
        };
        let record = PipelineRecord {
            key: key.value,
            value: value.value,
            headers: pipeline_headers(hv.0),
            topic: None,
            partition: None,
            timestamp: source.timestamp,
            source,
        };
        let mut outs: Vec<PipelineRecord<'_>> = recycle(std::mem::take(&mut self.outs));
        let result = match apply_all(&mut self.transforms, record, &mut outs) {
            Ok(()) => {
                let produced = outs.len();
                self.encode_all(
                    &mut outs,
                    item,
                    encoded,
                    first,
                    [key.schema.as_ref(), value.schema.as_ref()],
                    now,
                )
                .map(|(n, late, late_dropped)| Outcome {
                    n,
                    produced,
                    late,
                    late_dropped,
                    retries: 0,
                })
            }
            Err((i, e)) => {
                let name = self.transforms.get(i).map_or("transform", |t| t.name());
                Err(Failure::transform(name, e))
            }
        };
        self.outs = recycle(outs);
        result
    }

    /// Encodes the transforms' outputs; returns how many there are to
    /// send and the late ones (kept, dropped).
    fn encode_all(
        &mut self,
        outs: &mut Vec<PipelineRecord<'_>>,
        item: &Item<'_>,
        encoded: &mut Vec<Encoded>,
        first: usize,
        [key_schema, value_schema]: [Option<&SchemaRef>; 2],
        now: Instant,
    ) -> Result<(usize, u64, u64), Failure> {
        let slot = item.watermark;
        let (mut late, mut late_dropped) = (0, 0);
        let mut wm = slot.map(|_| self.wm.lock().unwrap_or_else(PoisonError::into_inner));
        if outs.is_empty()
            && let (Some(slot), Some(wm)) = (slot, wm.as_mut())
        {
            wm.observe(slot, None, now);
        }
        let mut n = 0;
        for o in outs.drain(..) {
            let mut side_topic = None;
            if let (Some(slot), Some(wm)) = (slot, wm.as_mut())
                && let Lateness::Late { .. } = wm.observe(slot, o.timestamp, now)
            {
                late += 1;
                match &self.late {
                    LatePolicy::Keep => {}
                    LatePolicy::Drop => {
                        late_dropped += 1;
                        continue;
                    }
                    LatePolicy::SideTopic(t) => side_topic = Some(t.as_str()),
                }
            }
            let name: &str = match (side_topic, o.topic.as_deref(), &self.output) {
                (Some(t), _, _) | (None, Some(t), _) => t,
                (None, None, OutputTopic::Fixed(t)) => t,
                (None, None, OutputTopic::Template(t)) => {
                    if self.templated.len() <= item.topic {
                        self.templated.resize(item.topic + 1, None);
                    }
                    self.templated[item.topic]
                        .get_or_insert_with(|| t.replace("{topic}", item.record.topic()))
                }
                (None, None, OutputTopic::Routed) => {
                    return Err(Failure::new(
                        Stage::Produce,
                        "NoOutputTopic",
                        "kbridge.pipeline",
                        Disposition::Poison,
                        Message(
                            "no transform routed the record and the sink has no topic".to_owned(),
                        ),
                    ));
                }
            };
            let t = self.outputs.index(name);
            if encoded.len() <= first + n {
                encoded.push(Encoded::default());
            }
            let enc = &mut encoded[first + n];
            enc.topic = t;
            enc.partition = o.partition;
            enc.timestamp = o.timestamp;
            let mut strip: [Option<&'static str>; 2] = [None, None];
            let mut schema_headers: [Option<SchemaHeader>; 2] = [None, None];
            for (i, side) in [&self.key, &self.value].into_iter().enumerate() {
                let (v, sref, buf, has) = if i == 0 {
                    (&o.key, key_schema, &mut enc.key, &mut enc.has_key)
                } else {
                    (&o.value, value_schema, &mut enc.value, &mut enc.has_value)
                };
                *has = !matches!(v, Value::Null);
                if !*has {
                    continue;
                }
                let codec = self.outputs.encoder(t, side, sref, &self.transforms)?;
                let e = match &mut self.skim {
                    Some(s) if i == 1 && self.skimmed.is_partial() => {
                        let payload = item.record.value().unwrap_or_default();
                        s.encode(codec, v, payload, &self.skimmed, buf)
                    }
                    _ => codec.encode(v, buf),
                }
                .map_err(|e| Failure::codec(side.encode_stage(), &side.component, e))?;
                if e.schema_id.is_some() || e.header.is_some() {
                    strip[i] = Some(side.side.schema_id_header());
                }
                schema_headers[i] = e.header;
            }
            enc.headers = output_headers(&o.headers, strip, schema_headers);
            n += 1;
        }
        Ok((n, late, late_dropped))
    }
}
