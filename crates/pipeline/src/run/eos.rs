//! Exactly-once: transactions of up to N records or T ms. Outputs and
//! dead-letter records are produced inside the open transaction; the
//! consumed offsets go in with the group metadata; the commit makes them
//! durable together. An abortable error aborts the transaction and
//! rewinds the source to the last committed offsets; a record whose
//! output the broker refused comes back and goes to the dead-letter topic
//! instead.

use std::error::Error as StdError;
use std::time::{Duration, Instant};

use kbridge_metrics::events::{TransactionAborted, TransactionCommitted};
use kbridge_sink::ErrorClass;
use kbridge_source::{KafkaSource, Revocation, TopicPartition, TopicPartitionList};
use rdkafka::Offset;
use rdkafka::error::KafkaError;

use super::inflight::Kind;
use super::{Core, Mode, SentRecord, epoch_ms, latency, position};
use crate::error::PipelineError;
use crate::failure::{Failure, Message};
use crate::options::{Tolerance, TransactionLimits};

/// Exactly-once state.
#[derive(Debug)]
pub(crate) struct Eos {
    limits: TransactionLimits,
    open: bool,
    started: Instant,
    /// Source records in the open transaction.
    records: u64,
    /// What the open transaction produced, by delivery token.
    sent: Vec<SentRecord>,
    /// Aborts since the last commit (backoff when nothing commits).
    aborts_in_row: u32,
}

impl Eos {
    pub(crate) fn new(limits: TransactionLimits) -> Self {
        Eos {
            limits,
            open: false,
            started: Instant::now(),
            records: 0,
            sent: Vec::new(),
            aborts_in_row: 0,
        }
    }

    /// How long the source may block: until the transaction is due.
    pub(crate) fn poll_timeout(&self, now: Instant) -> Duration {
        if self.open {
            (self.started + self.limits.max_duration).saturating_duration_since(now)
        } else {
            Duration::MAX
        }
    }

    pub(crate) fn push(&mut self, s: SentRecord) -> u64 {
        self.sent.push(s);
        (self.sent.len() - 1) as u64
    }

    /// Removes the record of `token` if it is the last one pushed.
    pub(crate) fn pop(&mut self, token: u64) -> Option<SentRecord> {
        if self.sent.len() as u64 == token + 1 {
            self.sent.pop()
        } else {
            None
        }
    }
}

/// `topic[partition]@offset, …` of an offset list.
fn describe(tpl: &TopicPartitionList) -> String {
    let parts: Vec<String> = tpl
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => format!("{}[{}]@{o}", e.topic(), e.partition()),
            other => format!("{}[{}]@{other:?}", e.topic(), e.partition()),
        })
        .collect();
    if parts.is_empty() {
        "no offsets".to_owned()
    } else {
        format!("offsets up to {}", parts.join(", "))
    }
}

impl Core {
    fn eos(&mut self) -> &mut Eos {
        match &mut self.mode {
            Mode::Eos(e) => e,
            Mode::Alo(_) => unreachable!("exactly-once state of an at-least-once pipeline"),
        }
    }

    /// Counts a consumed record into the open transaction, opening one
    /// first if needed.
    pub(super) fn eos_begin(&mut self, _src: &KafkaSource) -> Result<(), PipelineError> {
        if !self.eos().open {
            let mut attempt = 0;
            loop {
                match self.sink.begin_transaction() {
                    Ok(()) => break,
                    Err(e) if e.is_retriable() => {
                        attempt += 1;
                        self.summary.retries += 1;
                        tracing::warn!(error = %e, "begin transaction failed; retrying");
                        self.pause(self.retry.delay(attempt));
                        if self.shutdown.is_requested() {
                            return Err(PipelineError::Sink {
                                operation: "begin transaction",
                                position: "no record yet".to_owned(),
                                source: Box::new(e),
                            });
                        }
                    }
                    Err(e) => {
                        return Err(PipelineError::Sink {
                            operation: "begin transaction",
                            position: "no record yet".to_owned(),
                            source: Box::new(e),
                        });
                    }
                }
            }
            let e = self.eos();
            e.open = true;
            e.started = Instant::now();
            e.records = 0;
            e.sent.clear();
        }
        self.eos().records += 1;
        Ok(())
    }

    /// Commits when the open transaction holds its maximum of records.
    pub(super) fn eos_commit_if_full(&mut self, src: &KafkaSource) -> Result<(), PipelineError> {
        if let Mode::Eos(e) = &self.mode
            && e.open
            && e.records >= e.limits.max_records
        {
            self.eos_commit(src, None)?;
        }
        Ok(())
    }

    pub(super) fn eos_housekeeping(&mut self, src: &KafkaSource) -> Result<(), PipelineError> {
        if !self.eos().open {
            return Ok(());
        }
        self.sink.poll_deliveries(Duration::ZERO, &mut self.reports);
        if !self.reports.is_empty() {
            // only failures are reported: the transaction cannot commit
            return self.eos_abort(src, &Message("a record was not delivered".to_owned()));
        }
        let now = self.now;
        let e = self.eos();
        if now.duration_since(e.started) >= e.limits.max_duration
            || e.records >= e.limits.max_records
        {
            self.eos_commit(src, None)?;
        }
        Ok(())
    }

    /// Commits the open transaction with the consumed offsets (for
    /// `exclude`'s partition, up to that offset only). Returns false when
    /// the transaction had to be aborted instead (the source is rewound).
    pub(super) fn eos_commit(
        &mut self,
        src: &KafkaSource,
        exclude: Option<(u32, i64)>,
    ) -> Result<bool, PipelineError> {
        if !self.eos().open {
            return Ok(true);
        }
        let prepare_failed =
            |tp: &TopicPartition, offset: i64, e: KafkaError| PipelineError::Sink {
                operation: "prepare the offsets of the transaction",
                position: position(tp, offset),
                source: Box::new(kbridge_sink::SinkError::Configure {
                    reason: e.to_string(),
                }),
            };
        // the records handled (the stage thread may hold later ones the
        // source has returned already): next offset per partition
        let mut offsets = TopicPartitionList::new();
        for p in self.parts.live() {
            if let Some(n) = p.next {
                offsets
                    .add_partition_offset(&p.tp.topic, p.tp.partition, Offset::Offset(n))
                    .map_err(|e| prepare_failed(&p.tp, n, e))?;
            }
        }
        if let Some((part, offset)) = exclude {
            let tp = &self.parts.get(part).tp;
            offsets
                .set_partition_offset(&tp.topic, tp.partition, Offset::Offset(offset))
                .map_err(|e| prepare_failed(tp, offset, e))?;
        }
        let group = src
            .group_metadata()
            .map_err(|source| PipelineError::Source {
                source: Box::new(source),
            })?;
        let mut attempt = 0;
        loop {
            match self.sink.commit_with_offsets(&offsets, &group) {
                Ok(()) => {
                    src.mark_committed_up_to(&offsets);
                    self.parts.committed_all();
                    self.eos_committed(&offsets);
                    return Ok(true);
                }
                Err(e) if e.is_retriable() && attempt < 5 => {
                    attempt += 1;
                    self.summary.retries += 1;
                    tracing::warn!(error = %e, attempt, "transaction commit failed; retrying");
                    self.pause(self.retry.delay(attempt));
                }
                Err(e) if e.is_retriable() || e.is_abortable() => {
                    self.eos_abort(src, &e)?;
                    return Ok(false);
                }
                Err(e) => {
                    return Err(PipelineError::Sink {
                        operation: "commit transaction",
                        position: describe(&offsets),
                        source: Box::new(e),
                    });
                }
            }
        }
    }

    fn eos_committed(&mut self, offsets: &TopicPartitionList) {
        let e = match &mut self.mode {
            Mode::Eos(e) => e,
            Mode::Alo(_) => return,
        };
        e.open = false;
        e.aborts_in_row = 0;
        let duration = e.started.elapsed();
        let sent = std::mem::take(&mut e.sent);
        let now_ms = epoch_ms();
        for s in &sent {
            self.outputs.delivered(
                s.topic,
                u64::from(s.bytes),
                s.timestamp.map(|ts| latency(now_ms, ts)),
            );
        }
        self.outputs.flush_delivered();
        self.metrics.emit(TransactionCommitted {
            duration,
            records: sent.len() as u64,
        });
        self.eos().sent = sent;
        self.eos().sent.clear();
        for el in offsets.elements() {
            if let (Offset::Offset(o), Some(slot)) = (
                el.offset(),
                self.parts.find(&kbridge_source::TopicPartition::new(
                    el.topic(),
                    el.partition(),
                )),
            ) && let Some(m) = &self.parts.get(slot).metrics
            {
                m.set_committed_offset(o);
            }
        }
        self.summary.transactions += 1;
        self.settle();
    }

    /// Aborts the open transaction and rewinds the source to the last
    /// committed offsets. Records whose outputs the broker refused are
    /// remembered, to go to the dead-letter topic when they come back.
    pub(super) fn eos_abort(
        &mut self,
        src: &KafkaSource,
        reason: &(dyn StdError + 'static),
    ) -> Result<(), PipelineError> {
        // The abort serves the reports of everything in flight: a refusal
        // the broker sent just before it (the reason for the abort, often)
        // may be served only then, so the reports are read after it.
        let aborted = self
            .sink
            .abort_transaction()
            .map_err(|source| PipelineError::Sink {
                operation: "abort transaction",
                position: describe(&src.pending_offsets()),
                source: Box::new(source),
            });
        self.sink.take_deliveries(&mut self.reports);
        aborted?;
        let mut stop: Option<PipelineError> = None;
        let mut reports = std::mem::take(&mut self.reports);
        for d in reports.drain(..) {
            let Err(failure) = d.outcome else { continue };
            let Some(s) = usize::try_from(d.token)
                .ok()
                .and_then(|i| self.eos().sent.get(i).copied())
            else {
                continue;
            };
            let tp = self.parts.get(s.part).tp.clone();
            match (failure.error.class(), s.kind) {
                (ErrorClass::Purged | ErrorClass::Retriable | ErrorClass::Abortable, _) => {}
                (ErrorClass::Poison, Kind::Output) => {
                    let f = Failure::produce(failure.error);
                    if self.dead_letter.tolerance == Tolerance::None {
                        stop.get_or_insert(PipelineError::RecordRejected {
                            topic: tp.topic,
                            partition: tp.partition,
                            offset: s.offset,
                            stage: f.stage.label(),
                            class: f.class,
                            message: f.message(),
                        });
                    } else {
                        tracing::warn!(
                            topic = %tp.topic,
                            partition = tp.partition,
                            offset = s.offset,
                            class = f.class,
                            "the broker refused an output: the transaction is redone with the record dead-lettered"
                        );
                        self.redirect.insert((s.part, s.offset), f);
                    }
                }
                (ErrorClass::Poison, Kind::DeadLetter(_)) => {
                    stop.get_or_insert(PipelineError::DeadLetterWrite {
                        topic: tp.topic,
                        partition: tp.partition,
                        offset: s.offset,
                        dlq_topic: self.outputs.get(s.topic).name.clone(),
                        source: Box::new(failure.error),
                    });
                }
                _ => {
                    stop.get_or_insert(PipelineError::Sink {
                        operation: "deliver",
                        position: position(&tp, s.offset),
                        source: Box::new(failure.error),
                    });
                }
            }
        }
        self.reports = reports;
        let e = self.eos();
        e.open = false;
        e.aborts_in_row += 1;
        let aborts = e.aborts_in_row;
        let records = e.sent.len() as u64;
        let duration = e.started.elapsed();
        e.sent.clear();
        self.metrics.emit(TransactionAborted {
            duration,
            records,
            reason,
        });
        self.summary.aborts += 1;
        self.pending.clear();
        if let Some(e) = stop {
            return Err(e);
        }
        src.rewind().map_err(|source| PipelineError::Source {
            source: Box::new(source),
        })?;
        self.parts.rewound_all();
        self.rewinds += 1;
        if aborts > 1 {
            // nothing committed since the last abort: back off
            self.pause(self.retry.delay(aborts - 1));
        }
        Ok(())
    }

    pub(super) fn eos_revoked(
        &mut self,
        src: &KafkaSource,
        rv: &Revocation,
    ) -> Result<(), PipelineError> {
        if !self.eos().open {
            return Ok(());
        }
        if rv.lost {
            self.eos_abort(
                src,
                &Message("partitions lost before the transaction committed".to_owned()),
            )
        } else {
            self.eos_commit(src, None).map(|_| ())
        }
    }

    pub(super) fn eos_finish(&mut self, src: &KafkaSource) -> Result<(), PipelineError> {
        if self.eos().open && !self.eos_commit(src, None)? {
            tracing::warn!(
                "the last transaction was aborted while stopping; its records are redone by the next run"
            );
        }
        Ok(())
    }

    /// After an error: abort the open transaction if possible.
    pub(super) fn eos_abort_quietly(&mut self) {
        if !self.eos().open {
            return;
        }
        self.eos().open = false;
        if let Err(e) = self.sink.abort_transaction() {
            tracing::warn!(error = %e, "could not abort the open transaction while stopping");
        }
        self.pending.clear();
    }
}
