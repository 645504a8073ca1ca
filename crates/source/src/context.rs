//! The librdkafka consumer context: rebalance callbacks, errors and logs.
//!
//! Rebalances are not acted on inside the callback. The callback records
//! what librdkafka asked for and returns; [`crate::KafkaSource::poll`] then
//! applies assignments itself (start-offset policy, stop offsets) and hands
//! revocations to its caller, who finishes or abandons the in-flight work of
//! those partitions before the next `poll` releases them. librdkafka waits
//! for the assign/unassign call, so the partitions stay ours meanwhile.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use rdkafka::{ClientContext, TopicPartitionList};

use crate::offsets::TopicPartition;
use kbridge_kafka_client::log_to_tracing;

/// A rebalance step librdkafka is waiting for us to complete.
#[derive(Debug)]
pub(crate) enum RebalanceOp {
    Assign(Vec<TopicPartition>),
    Revoke {
        partitions: Vec<TopicPartition>,
        lost: bool,
    },
}

#[derive(Debug)]
pub(crate) struct SourceContext {
    client_id: String,
    /// Set while the consumer closes: rebalances are then applied in the callback.
    pub(crate) closing: AtomicBool,
    pending: Mutex<VecDeque<RebalanceOp>>,
    has_pending: AtomicBool,
    /// librdkafka's text for the latest error event (e.g. the TLS failure).
    last_error: Mutex<Option<String>>,
    /// A TLS or authentication failure: configuration, not a passing
    /// outage, so start-up gives up at once instead of retrying.
    setup_error: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

impl SourceContext {
    pub(crate) fn new(client_id: String) -> Self {
        SourceContext {
            client_id,
            closing: AtomicBool::new(false),
            pending: Mutex::new(VecDeque::new()),
            has_pending: AtomicBool::new(false),
            last_error: Mutex::new(None),
            setup_error: Mutex::new(None),
        }
    }

    pub(crate) fn has_pending(&self) -> bool {
        self.has_pending.load(Ordering::Acquire)
    }

    pub(crate) fn pop_pending(&self) -> Option<RebalanceOp> {
        let mut q = lock(&self.pending);
        let op = q.pop_front();
        if q.is_empty() {
            self.has_pending.store(false, Ordering::Release);
        }
        op
    }

    /// Puts back an op that could not be applied yet (retried on the next poll).
    pub(crate) fn push_front(&self, op: RebalanceOp) {
        lock(&self.pending).push_front(op);
        self.has_pending.store(true, Ordering::Release);
    }

    fn push(&self, op: RebalanceOp) {
        lock(&self.pending).push_back(op);
        self.has_pending.store(true, Ordering::Release);
    }

    pub(crate) fn take_pending(&self) -> Vec<RebalanceOp> {
        let mut q = lock(&self.pending);
        self.has_pending.store(false, Ordering::Release);
        q.drain(..).collect()
    }

    pub(crate) fn take_last_error(&self) -> String {
        lock(&self.last_error).take().unwrap_or_default()
    }

    /// The TLS or authentication failure reported since the last call.
    pub(crate) fn take_setup_error(&self) -> Option<String> {
        lock(&self.setup_error).take()
    }
}

impl ClientContext for SourceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log_to_tracing(&self.client_id, level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(client = %self.client_id, error = %error, "kafka consumer error: {reason}");
        // "1/1 brokers are down" follows every connection failure: keep the
        // failure itself (e.g. the TLS handshake error) as the explanation
        let code = error.rdkafka_error_code();
        if code != Some(RDKafkaErrorCode::AllBrokersDown) {
            *lock(&self.last_error) = Some(reason.to_owned());
        }
        if is_setup_failure(code, reason) {
            *lock(&self.setup_error) = Some(reason.to_owned());
        }
    }
}

/// Whether a client error is a TLS or authentication failure (a wrong CA,
/// a missing or refused client certificate, bad SASL credentials), which
/// librdkafka retries like any broken connection but no retry will mend.
pub(crate) fn is_setup_failure(code: Option<RDKafkaErrorCode>, reason: &str) -> bool {
    matches!(
        code,
        Some(RDKafkaErrorCode::SSL | RDKafkaErrorCode::Authentication)
    ) || reason.contains("SSL handshake failed")
        || reason.contains("SSL routines")
}

/// Applies a rebalance directly (used while closing, when nobody polls for events).
fn apply_now(
    consumer: &BaseConsumer<SourceContext>,
    assign: bool,
    tpl: &TopicPartitionList,
) -> KafkaResult<()> {
    let cooperative = matches!(
        consumer.rebalance_protocol(),
        RebalanceProtocol::Cooperative
    );
    match (assign, cooperative) {
        (true, true) => consumer.incremental_assign(tpl),
        (true, false) => consumer.assign(tpl),
        (false, true) => consumer.incremental_unassign(tpl),
        (false, false) => consumer.unassign(),
    }
}

impl ConsumerContext for SourceContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let closing = self.closing.load(Ordering::Acquire);
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                tracing::debug!(client = %self.client_id, partitions = tpl.count(), "partitions assigned");
                if closing {
                    if let Err(e) = apply_now(consumer, true, tpl) {
                        tracing::warn!(error = %e, "assign while closing failed");
                    }
                } else {
                    self.push(RebalanceOp::Assign(partitions_of(tpl)));
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let lost = consumer.assignment_lost();
                tracing::debug!(client = %self.client_id, partitions = tpl.count(), lost, "partitions revoked");
                if closing {
                    if let Err(e) = apply_now(consumer, false, tpl) {
                        tracing::warn!(error = %e, "unassign while closing failed");
                    }
                } else {
                    self.push(RebalanceOp::Revoke {
                        partitions: partitions_of(tpl),
                        lost,
                    });
                }
            }
            other => {
                // librdkafka's own default: drop the whole assignment.
                tracing::error!(client = %self.client_id, error = ?other, "rebalance error; releasing all partitions");
                let all = consumer
                    .assignment()
                    .map(|a| partitions_of(&a))
                    .unwrap_or_default();
                if closing || all.is_empty() {
                    if let Err(e) = consumer.unassign() {
                        tracing::warn!(error = %e, "unassign after rebalance error failed");
                    }
                } else {
                    self.push(RebalanceOp::Revoke {
                        partitions: all,
                        lost: true,
                    });
                }
            }
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if let Err(e) = result {
            tracing::warn!(client = %self.client_id, error = %e, partitions = offsets.count(), "offset commit failed");
        }
    }
}
