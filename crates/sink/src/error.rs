//! The one error type of this crate and the disposition the pipeline acts on.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// What the caller should do about a [`SinkError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The record itself is unacceptable (too large, invalid timestamp,
    /// unknown topic or partition): send its source record to the
    /// dead-letter queue; retrying the same bytes fails the same way.
    Poison,
    /// Transient (broker unavailable, timeout, queue full): retry the call
    /// (or re-send the failed record) after a backoff.
    Retriable,
    /// The open transaction cannot commit: abort it, rewind the source to
    /// the last committed offsets and redo the work.
    Abortable,
    /// The record was dropped by an abort the caller asked for; nothing to
    /// do, the rewind replays it.
    Purged,
    /// The producer cannot go on (fenced by a newer instance, authorization,
    /// a fatal idempotence error, bad configuration): stop without
    /// committing.
    Fatal,
}

/// Everything that can fail in the Kafka sink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The builder settings are invalid or contradict each other.
    #[error("invalid sink configuration: {reason}")]
    Configure {
        /// What is wrong, naming the setting.
        reason: String,
    },
    /// librdkafka refused to create the producer.
    #[error("create kafka producer: {source}")]
    CreateProducer {
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// The record names no topic and the sink has no default topic.
    #[error("record has no topic and the sink has no default topic")]
    NoTopic,
    /// librdkafka refused to enqueue the record.
    #[error("send to {topic}{}: {source}", partition_suffix(*partition))]
    Send {
        /// Destination topic.
        topic: String,
        /// Destination partition, if the record chose one.
        partition: Option<i32>,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// The producer queue stayed full for too long (the broker does not
    /// keep up or is unreachable).
    #[error("send to {topic}: producer queue full for {waited:?}")]
    QueueFull {
        /// Destination topic.
        topic: String,
        /// How long the send waited.
        waited: Duration,
    },
    /// The broker (or librdkafka) failed a record after it was enqueued.
    #[error("deliver to {topic}{}: {code} ({code:?})", partition_suffix(*partition))]
    Deliver {
        /// Destination topic.
        topic: String,
        /// Destination partition, if known.
        partition: Option<i32>,
        /// The error code of the delivery report.
        code: RDKafkaErrorCode,
    },
    /// Records still unacknowledged when the wait ran out.
    #[error("flush: {in_flight} records still in flight after {timeout:?}")]
    Flush {
        /// Records not yet acknowledged.
        in_flight: usize,
        /// How long the flush waited.
        timeout: Duration,
    },
    /// `init_transactions` (fencing a previous instance) failed.
    #[error("init transactions for transactional id {transactional_id:?}: {source}")]
    InitTransactions {
        /// The transactional id.
        transactional_id: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// `begin_transaction` failed.
    #[error("begin transaction ({transactional_id:?}): {source}")]
    BeginTransaction {
        /// The transactional id.
        transactional_id: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// `send_offsets_to_transaction` failed.
    #[error("send offsets {offsets} to transaction ({transactional_id:?}): {source}")]
    SendOffsets {
        /// The transactional id.
        transactional_id: String,
        /// The offsets, `topic[partition]@offset` separated by commas.
        offsets: String,
        /// The librdkafka error.
        #[source]
        source: Box<KafkaError>,
    },
    /// `commit_transaction` failed.
    #[error("commit transaction ({transactional_id:?}): {source}")]
    CommitTransaction {
        /// The transactional id.
        transactional_id: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// `abort_transaction` failed.
    #[error("abort transaction ({transactional_id:?}): {source}")]
    AbortTransaction {
        /// The transactional id.
        transactional_id: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// A transaction call on a sink built for at-least-once delivery.
    #[error("{op}: the sink is not transactional (build it with exactly_once)")]
    NotTransactional {
        /// The call.
        op: &'static str,
    },
}

fn partition_suffix(p: Option<i32>) -> String {
    p.map(|p| format!("[{p}]")).unwrap_or_default()
}

impl SinkError {
    /// The disposition the pipeline acts on.
    pub fn class(&self) -> ErrorClass {
        match self {
            SinkError::Configure { .. }
            | SinkError::CreateProducer { .. }
            | SinkError::NotTransactional { .. } => ErrorClass::Fatal,
            SinkError::NoTopic => ErrorClass::Poison,
            SinkError::QueueFull { .. } | SinkError::Flush { .. } => ErrorClass::Retriable,
            SinkError::Send { source, .. } => match source.rdkafka_error_code() {
                // A transactional producer refuses sends once the open
                // transaction failed: abort it.
                Some(RDKafkaErrorCode::State) => ErrorClass::Abortable,
                Some(code) => classify_code(code),
                None => ErrorClass::Poison, // e.g. a NUL byte in the topic name
            },
            SinkError::Deliver { code, .. } => classify_code(*code),
            SinkError::InitTransactions { source, .. } => match classify_txn(source) {
                // Nothing to abort before the first transaction.
                ErrorClass::Abortable => ErrorClass::Fatal,
                other => other,
            },
            SinkError::SendOffsets { source, .. } => classify_txn(source),
            SinkError::BeginTransaction { source, .. }
            | SinkError::CommitTransaction { source, .. }
            | SinkError::AbortTransaction { source, .. } => classify_txn(source),
        }
    }

    /// The librdkafka error code, when there is one.
    pub fn code(&self) -> Option<RDKafkaErrorCode> {
        match self {
            SinkError::Deliver { code, .. } => Some(*code),
            SinkError::CreateProducer { source }
            | SinkError::Send { source, .. }
            | SinkError::InitTransactions { source, .. }
            | SinkError::BeginTransaction { source, .. }
            | SinkError::CommitTransaction { source, .. }
            | SinkError::AbortTransaction { source, .. } => source.rdkafka_error_code(),
            SinkError::SendOffsets { source, .. } => source.rdkafka_error_code(),
            _ => None,
        }
    }

    /// `class() == ErrorClass::Poison`.
    pub fn is_poison(&self) -> bool {
        self.class() == ErrorClass::Poison
    }

    /// `class() == ErrorClass::Retriable`.
    pub fn is_retriable(&self) -> bool {
        self.class() == ErrorClass::Retriable
    }

    /// `class() == ErrorClass::Abortable`.
    pub fn is_abortable(&self) -> bool {
        self.class() == ErrorClass::Abortable
    }

    /// `class() == ErrorClass::Fatal`.
    pub fn is_fatal(&self) -> bool {
        self.class() == ErrorClass::Fatal
    }
}

/// Transaction API errors: librdkafka says which ones are fatal, which need
/// an abort and which can be retried as they are.
fn classify_txn(e: &KafkaError) -> ErrorClass {
    match e {
        KafkaError::Transaction(r) => {
            // A fenced producer can never commit again, whatever librdkafka
            // says about this particular call (a Produce fenced by epoch
            // comes back as abortable, and some brokers then drop the
            // connection on the abort): stop, and let a restart re-init.
            let fenced = matches!(
                r.code(),
                RDKafkaErrorCode::ProducerFenced
                    | RDKafkaErrorCode::Fenced
                    | RDKafkaErrorCode::InvalidProducerEpoch
            );
            if r.is_fatal() || fenced {
                ErrorClass::Fatal
            } else if r.txn_requires_abort() {
                ErrorClass::Abortable
            } else if r.is_retriable() {
                ErrorClass::Retriable
            } else {
                // _STATE, _CONFLICT, ...: calls out of order.
                ErrorClass::Fatal
            }
        }
        // commit_transaction's internal flush ran out of time.
        KafkaError::Flush(_) => ErrorClass::Retriable,
        other => other
            .rdkafka_error_code()
            .map_or(ErrorClass::Fatal, classify_code),
    }
}

/// Per-record error codes (send and delivery reports).
pub(crate) fn classify_code(code: RDKafkaErrorCode) -> ErrorClass {
    use RDKafkaErrorCode as C;
    match code {
        C::PurgeQueue | C::PurgeInflight => ErrorClass::Purged,
        C::MessageSizeTooLarge
        | C::MessageBatchTooLarge
        | C::InvalidMessageSize
        | C::InvalidRecord
        | C::InvalidTimestamp
        | C::InvalidMessage
        | C::InvalidTopic
        | C::UnknownPartition
        | C::UnknownTopic
        | C::KeySerialization
        | C::ValueSerialization
        | C::UnsupportedForMessageFormat => ErrorClass::Poison,
        C::Fatal
        | C::Fenced
        | C::ProducerFenced
        | C::InvalidProducerEpoch
        | C::InvalidProducerIdMapping
        | C::InvalidTransactionalState
        | C::TransactionalIdAuthorizationFailed
        | C::TopicAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::OutOfOrderSequenceNumber
        | C::UnknownProducerId
        | C::GaplessGuarantee
        | C::Authentication
        | C::SSL
        | C::SaslAuthenticationFailed
        | C::UnsupportedSASLMechanism
        | C::InvalidRequiredAcks
        | C::InvalidArgument
        | C::InvalidConfig
        | C::State => ErrorClass::Fatal,
        _ => ErrorClass::Retriable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliver(code: RDKafkaErrorCode) -> SinkError {
        SinkError::Deliver {
            topic: "out".into(),
            partition: Some(2),
            code,
        }
    }

    #[test]
    fn too_large_and_invalid_records_are_poison() {
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::InvalidRecord,
            RDKafkaErrorCode::InvalidTimestamp,
            RDKafkaErrorCode::UnknownPartition,
        ] {
            assert_eq!(deliver(code).class(), ErrorClass::Poison, "{code:?}");
        }
        let e = SinkError::Send {
            topic: "out".into(),
            partition: None,
            source: KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
        };
        assert!(e.is_poison());
        assert!(SinkError::NoTopic.is_poison());
    }

    #[test]
    fn timeouts_and_broker_trouble_are_retriable() {
        for code in [
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::NotEnoughReplicas,
            RDKafkaErrorCode::LeaderNotAvailable,
            RDKafkaErrorCode::RequestTimedOut,
        ] {
            assert!(deliver(code).is_retriable(), "{code:?}");
        }
    }

    #[test]
    fn fencing_and_authorization_are_fatal_purges_are_not_errors() {
        for code in [
            RDKafkaErrorCode::Fenced,
            RDKafkaErrorCode::ProducerFenced,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::Fatal,
        ] {
            assert!(deliver(code).is_fatal(), "{code:?}");
        }
        assert_eq!(
            deliver(RDKafkaErrorCode::PurgeQueue).class(),
            ErrorClass::Purged
        );
        assert_eq!(
            deliver(RDKafkaErrorCode::PurgeInflight).class(),
            ErrorClass::Purged
        );
    }

    #[test]
    fn messages_name_topic_partition_and_code() {
        let text = deliver(RDKafkaErrorCode::MessageSizeTooLarge).to_string();
        assert!(text.starts_with("deliver to out[2]: "), "{text}");
        assert!(text.ends_with("(MessageSizeTooLarge)"), "{text}");
        let text = SinkError::Flush {
            in_flight: 12,
            timeout: Duration::from_secs(5),
        }
        .to_string();
        assert_eq!(text, "flush: 12 records still in flight after 5s");
    }
}
