//! Events that log one structured line at the right level *and* count, in
//! one call (Vector's `InternalEvent::emit`): `metrics.emit(DeadLettered { .. })`.
//!
//! `stage` and `class` are `&'static str` on purpose: they become metric
//! labels, and a static string cannot carry a record value or an error
//! message, so label cardinality stays bounded. Suggested values:
//! stage ∈ `source`, `decode`, `transform`, `encode`, `sink`, `registry`;
//! class = the error variant name (`UnknownSchemaId`, `InvalidMagicByte`).
//!
//! Messages are built from the error's `Display` chain: never put
//! credentials, record keys or payloads in error messages.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use opentelemetry::KeyValue;
use tracing::{debug, error, warn};

use crate::Metrics;

mod sealed {
    pub trait Sealed {}
}

/// Something [`Metrics::emit`] can log and count. Implemented only by the
/// events of this module, so the catalogue stays closed.
pub trait Event: sealed::Sealed {
    /// Logs the line and updates the instruments.
    fn emit(self, metrics: &Metrics);
}

/// Formats an error and its `source()` chain as `outer: inner: root`, each
/// cause once (one already quoted in the message before it is skipped).
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn StdError + 'a));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Errors that put their cause into their own message (thiserror's
        // `"...: {source}"`) would print it twice: a cause whose text is
        // already part of what was written is left out.
        let mut out = self.0.to_string();
        let mut source = self.0.source();
        while let Some(err) = source {
            let text = err.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            source = err.source();
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A record was written to the dead-letter queue.
///
/// Logs at WARN, fields first:
/// `topic, partition, offset, stage, class, subject, schema_id, "record sent to dead-letter queue: {reason}"`
/// (`subject` and `schema_id` only when given),
/// adds 1 to `kbridge_records_dead_lettered_total{topic,stage,class}` and to
/// `kbridge_errors_total{stage,class}`. Do not emit a separate
/// [`ErrorRecorded`] for the same failure.
#[derive(Debug, Clone, Copy)]
pub struct DeadLettered<'a> {
    /// Input topic of the failed record.
    pub topic: &'a str,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Failing stage (`decode`, `transform`, ...).
    pub stage: &'static str,
    /// Error class (variant name).
    pub class: &'static str,
    /// Schema Registry subject involved, when known (logged, not a label).
    pub subject: Option<&'a str>,
    /// Schema id from the wire header, when known (logged, not a label).
    pub schema_id: Option<u32>,
    /// The error; logged with its source chain.
    pub reason: &'a (dyn StdError + 'a),
}

impl sealed::Sealed for DeadLettered<'_> {}

impl Event for DeadLettered<'_> {
    fn emit(self, metrics: &Metrics) {
        let DeadLettered {
            topic,
            partition,
            offset,
            stage,
            class,
            subject,
            schema_id,
            reason,
        } = self;
        let reason = ErrorChain(reason);
        warn!(
            topic,
            partition,
            offset,
            stage,
            class,
            subject,
            schema_id,
            "record sent to dead-letter queue: {reason}"
        );
        let i = metrics.instruments();
        i.dead_lettered.add(
            1,
            &[
                KeyValue::new("topic", topic.to_owned()),
                KeyValue::new("stage", stage),
                KeyValue::new("class", class),
            ],
        );
        i.errors.add(
            1,
            &[KeyValue::new("stage", stage), KeyValue::new("class", class)],
        );
    }
}

/// What the pipeline does about an [`ErrorRecorded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorAction {
    /// Backs off and retries (logged at WARN).
    Retry,
    /// Stops the job in order (logged at ERROR).
    Stop,
}

/// An error that did not send a record to the DLQ: a retriable failure
/// (broker unavailable, registry timeout) or a fatal one.
///
/// Logs `topic, partition, offset, stage, class, action, "{error chain}"`
/// (location fields only when given) at WARN for [`ErrorAction::Retry`],
/// ERROR for [`ErrorAction::Stop`], and adds 1 to
/// `kbridge_errors_total{stage,class}`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorRecorded<'a> {
    /// Failing stage.
    pub stage: &'static str,
    /// Error class (variant name).
    pub class: &'static str,
    /// What happens next.
    pub action: ErrorAction,
    /// Topic concerned, if any.
    pub topic: Option<&'a str>,
    /// Partition concerned, if any.
    pub partition: Option<i32>,
    /// Offset concerned, if any.
    pub offset: Option<i64>,
    /// The error; logged with its source chain.
    pub error: &'a (dyn StdError + 'a),
}

impl sealed::Sealed for ErrorRecorded<'_> {}

impl Event for ErrorRecorded<'_> {
    fn emit(self, metrics: &Metrics) {
        let ErrorRecorded {
            stage,
            class,
            action,
            topic,
            partition,
            offset,
            error,
        } = self;
        let error = ErrorChain(error);
        match action {
            ErrorAction::Retry => warn!(
                topic,
                partition,
                offset,
                stage,
                class,
                action = "retry",
                "{error}"
            ),
            ErrorAction::Stop => error!(
                topic,
                partition,
                offset,
                stage,
                class,
                action = "stop",
                "{error}"
            ),
        }
        metrics.instruments().errors.add(
            1,
            &[KeyValue::new("stage", stage), KeyValue::new("class", class)],
        );
    }
}

/// A producer transaction committed after `duration` (from
/// `begin_transaction` to the end of `commit_transaction`).
///
/// Logs at DEBUG, adds 1 to `kbridge_transactions_committed_total` and
/// records `kbridge_transaction_duration_seconds{outcome="committed"}`.
#[derive(Debug, Clone, Copy)]
pub struct TransactionCommitted {
    /// Begin-to-commit time.
    pub duration: Duration,
    /// Records produced inside the transaction (outputs and DLQ).
    pub records: u64,
}

impl sealed::Sealed for TransactionCommitted {}

impl Event for TransactionCommitted {
    fn emit(self, metrics: &Metrics) {
        let duration_ms = self.duration.as_secs_f64() * 1000.0;
        debug!(records = self.records, duration_ms, "transaction committed");
        let i = metrics.instruments();
        i.tx_committed.add(1);
        i.tx_duration_committed.record(self.duration.as_secs_f64());
    }
}

/// A producer transaction was aborted after `duration`.
///
/// Logs at WARN with the reason, adds 1 to
/// `kbridge_transactions_aborted_total` and records
/// `kbridge_transaction_duration_seconds{outcome="aborted"}`.
#[derive(Debug, Clone, Copy)]
pub struct TransactionAborted<'a> {
    /// Begin-to-abort time.
    pub duration: Duration,
    /// Records that were produced in it and are discarded.
    pub records: u64,
    /// Why it was aborted.
    pub reason: &'a (dyn StdError + 'a),
}

impl sealed::Sealed for TransactionAborted<'_> {}

impl Event for TransactionAborted<'_> {
    fn emit(self, metrics: &Metrics) {
        let duration_ms = self.duration.as_secs_f64() * 1000.0;
        let reason = ErrorChain(self.reason);
        warn!(
            records = self.records,
            duration_ms, "transaction aborted: {reason}"
        );
        let i = metrics.instruments();
        i.tx_aborted.add(1);
        i.tx_duration_aborted.record(self.duration.as_secs_f64());
    }
}
