//! At-least-once: every source record is tracked by the offset tracker;
//! its outputs carry a slab index as delivery token; a delivery report
//! completes the record's ticket, and offsets are committed (async, on a
//! timer) only up to the last record whose outputs are all durable.

use std::time::{Duration, Instant};

use kbridge_metrics::events::{ErrorAction, ErrorRecorded};
use kbridge_sink::ErrorClass;
use kbridge_source::{CommitMode, KafkaSource, OffsetTracker, Revocation, TopicPartitionList};
use rdkafka::Offset;

use super::inflight::{InFlight, Kind};
use super::{Core, Mode, epoch_ms, latency, position};
use crate::error::PipelineError;
use crate::failure::Failure;
use crate::options::Tolerance;

/// At-least-once state.
#[derive(Debug)]
pub(crate) struct Alo {
    pub(crate) tracker: OffsetTracker,
    pub(crate) in_flight: InFlight,
    commit_interval: Duration,
    last_commit: Instant,
}

impl Alo {
    pub(crate) fn new(commit_interval: Duration) -> Self {
        Alo {
            tracker: OffsetTracker::new(),
            in_flight: InFlight::default(),
            commit_interval,
            last_commit: Instant::now(),
        }
    }
}

impl Core {
    fn alo(&mut self) -> &mut Alo {
        match &mut self.mode {
            Mode::Alo(a) => a,
            Mode::Eos(_) => unreachable!("at-least-once state of an exactly-once pipeline"),
        }
    }

    pub(super) fn alo_housekeeping(&mut self, src: &KafkaSource) -> Result<(), PipelineError> {
        self.sink.poll_deliveries(Duration::ZERO, &mut self.reports);
        self.alo_reports(src)?;
        let now = self.now;
        let a = self.alo();
        if now.duration_since(a.last_commit) >= a.commit_interval {
            a.last_commit = now;
            if let Some(tpl) = a.tracker.take_committable() {
                self.alo_commit(src, &tpl, CommitMode::Async);
            }
        }
        Ok(())
    }

    /// Commits `tpl`; a failed commit is logged (the next one covers it).
    fn alo_commit(&mut self, src: &KafkaSource, tpl: &TopicPartitionList, mode: CommitMode) {
        if tpl.count() == 0 {
            return;
        }
        match src.commit(tpl, mode) {
            Ok(()) => {
                self.summary.commits += 1;
                for e in tpl.elements() {
                    if let (Offset::Offset(o), Some(slot)) = (
                        e.offset(),
                        self.parts.find(&kbridge_source::TopicPartition::new(
                            e.topic(),
                            e.partition(),
                        )),
                    ) && let Some(m) = &self.parts.get(slot).metrics
                    {
                        m.set_committed_offset(o);
                    }
                }
            }
            Err(e) => self.metrics.emit(ErrorRecorded {
                stage: "source",
                class: "Commit",
                action: ErrorAction::Retry,
                topic: None,
                partition: None,
                offset: None,
                error: &e,
            }),
        }
    }

    /// Handles the delivery reports collected so far: completes tickets,
    /// resends retriable failures, and for a record the broker refused
    /// rewinds its partition so that the record comes back and goes to the
    /// dead-letter topic.
    pub(super) fn alo_reports(&mut self, src: &KafkaSource) -> Result<(), PipelineError> {
        if self.reports.is_empty() {
            return Ok(());
        }
        let mut reports = std::mem::take(&mut self.reports);
        let mut rewind: Vec<(u32, i64)> = Vec::new();
        let now_ms = epoch_ms();
        let mut result = Ok(());
        for d in reports.drain(..) {
            let Some(s) = self.alo().in_flight.remove(d.token) else {
                continue;
            };
            let failure = match d.outcome {
                Ok(_) => {
                    self.alo().tracker.complete(s.ticket);
                    self.outputs.delivered(
                        s.topic,
                        u64::from(s.bytes),
                        s.timestamp.map(|ts| latency(now_ms, ts)),
                    );
                    match s.kind {
                        Kind::Output => {
                            self.pending.records_out += 1;
                            self.pending.bytes_out += u64::from(s.bytes);
                        }
                        Kind::DeadLetter(stage) => self.pending.dead_lettered.add(stage),
                    }
                    continue;
                }
                Err(f) => f,
            };
            if result.is_err() {
                continue;
            }
            let tp = self.parts.get(s.part).tp.clone();
            match (failure.error.class(), s.kind) {
                (ErrorClass::Retriable, _) => {
                    // librdkafka gave up after its own retries: send again
                    let token = self.alo().in_flight.insert(s);
                    if let Err(e) = self.sink.send(failure.record.to_out_record(), token) {
                        self.alo().in_flight.remove(token);
                        result = Err(PipelineError::Sink {
                            operation: "resend",
                            position: position(&tp, s.offset),
                            source: Box::new(e),
                        });
                    } else {
                        self.summary.retries += 1;
                    }
                }
                (ErrorClass::Poison, Kind::Output) => {
                    let f = Failure::produce(failure.error);
                    if self.dead_letter.tolerance == Tolerance::None {
                        result = Err(PipelineError::RecordRejected {
                            topic: tp.topic.clone(),
                            partition: tp.partition,
                            offset: s.offset,
                            stage: f.stage.label(),
                            class: f.class,
                            message: f.message(),
                        });
                        continue;
                    }
                    tracing::warn!(
                        topic = %tp.topic,
                        partition = tp.partition,
                        offset = s.offset,
                        class = f.class,
                        "the broker refused an output: rewinding to dead-letter the record"
                    );
                    self.redirect.insert((s.part, s.offset), f);
                    rewind.push((s.part, s.offset));
                }
                (ErrorClass::Poison, Kind::DeadLetter(_)) => {
                    result = Err(PipelineError::DeadLetterWrite {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                        offset: s.offset,
                        dlq_topic: self.outputs.get(s.topic).name.clone(),
                        source: Box::new(failure.error),
                    });
                }
                _ => {
                    result = Err(PipelineError::Sink {
                        operation: "deliver",
                        position: position(&tp, s.offset),
                        source: Box::new(failure.error),
                    });
                }
            }
        }
        self.reports = reports;
        self.outputs.flush_delivered();
        result?;
        rewind.sort_unstable();
        let mut last = None;
        for (part, offset) in rewind {
            if last == Some(part) {
                continue;
            }
            last = Some(part);
            let p = self.parts.get_mut(part);
            if p.live {
                // its records in a batch not yet handled come again
                p.generation = p.generation.wrapping_add(1);
                let tp = p.tp.clone();
                src.seek(&tp, offset)
                    .map_err(|source| PipelineError::Source {
                        source: Box::new(source),
                    })?;
                self.rewinds += 1;
            }
        }
        Ok(())
    }

    /// Serves delivery reports until nothing is in flight or `deadline`.
    pub(super) fn alo_drain(
        &mut self,
        src: &KafkaSource,
        deadline: Instant,
    ) -> Result<(), PipelineError> {
        while self.alo().in_flight.len() > 0 && Instant::now() < deadline {
            self.sink
                .poll_deliveries(Duration::from_millis(1), &mut self.reports);
            self.alo_reports(src)?;
        }
        Ok(())
    }

    /// Partitions are taken away: wait for their outputs, commit what is
    /// durable (unless the assignment is already lost), forget them.
    pub(super) fn alo_revoked(
        &mut self,
        src: &KafkaSource,
        rv: &Revocation,
    ) -> Result<(), PipelineError> {
        if let Err(e) = self.sink.flush(self.shutdown_timeout) {
            tracing::warn!(error = %e, "revocation: not every output was acknowledged in time");
        }
        self.sink.take_deliveries(&mut self.reports);
        self.alo_reports(src)?;
        if !rv.lost {
            let tpl = self.alo().tracker.committable_for(&rv.partitions);
            self.alo_commit(src, &tpl, CommitMode::Sync);
        }
        self.alo().tracker.release(&rv.partitions);
        Ok(())
    }

    /// Waits (until `deadline`) for every output, then commits the offsets
    /// of everything durable, synchronously.
    pub(super) fn alo_finish(
        &mut self,
        src: &KafkaSource,
        deadline: Instant,
    ) -> Result<(), PipelineError> {
        let result = self.alo_drain(src, deadline);
        let left = self.alo().in_flight.len();
        if left > 0 {
            tracing::warn!(
                in_flight = left,
                "stopping with records not yet acknowledged; their offsets are not committed"
            );
        }
        let live: Vec<kbridge_source::TopicPartition> =
            self.parts.live().map(|p| p.tp.clone()).collect();
        let tpl = self.alo().tracker.committable_for(&live);
        self.alo_commit(src, &tpl, CommitMode::Sync);
        result
    }
}
