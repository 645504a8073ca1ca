//! The one error type of this crate and the disposition the pipeline acts on.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// What the caller should do about a [`SourceError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Transient (broker unavailable, coordinator moving, timeout): retry the
    /// same call after a backoff.
    Retriable,
    /// Retrying cannot help (bad configuration, authentication, authorization,
    /// a fatal client state): stop in order.
    Fatal,
}

/// Everything that can fail in the Kafka source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The builder settings are invalid or contradict each other.
    #[error("invalid source configuration: {reason}")]
    Configure {
        /// What is wrong, naming the setting.
        reason: String,
    },
    /// A timestamp given for start or stop offsets could not be parsed.
    #[error(
        "parse timestamp {input:?}: expected RFC 3339 (2026-11-01T00:00:00Z) or epoch milliseconds"
    )]
    ParseTimestamp {
        /// The text that was given.
        input: String,
    },
    /// librdkafka refused to create the consumer (usually a bad option value).
    #[error("create kafka consumer: {source}")]
    CreateConsumer {
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// Topic metadata could not be read.
    #[error("fetch metadata for {what}: {source}{}", reason_suffix(reason))]
    FetchMetadata {
        /// Which topics were asked for.
        what: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
        /// librdkafka's last explanation of a broker connection failure
        /// (e.g. which TLS check failed), if it gave one (boxed: keeps the
        /// error small).
        reason: Box<str>,
    },
    /// `subscribe` failed.
    #[error("subscribe to {subscription}: {source}")]
    Subscribe {
        /// The topic list or pattern.
        subscription: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// Looking up committed offsets, offsets for a timestamp or watermarks
    /// failed while applying the start or stop policy of an assignment.
    #[error("resolve {what} offsets for {partitions}: {source}")]
    ResolveOffsets {
        /// `start` or `stop`.
        what: &'static str,
        /// The partitions concerned, `topic[partition]` separated by commas.
        partitions: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// `assign`/`unassign` (or their incremental forms) failed.
    #[error("{op} partitions {partitions}: {source}")]
    Assign {
        /// `assign` or `unassign`.
        op: &'static str,
        /// The partitions concerned.
        partitions: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// The consumer reported an error while polling.
    #[error("consume: {source}{}", reason_suffix(reason))]
    Consume {
        /// The librdkafka error.
        #[source]
        source: KafkaError,
        /// librdkafka's explanation (e.g. which certificate check failed), if it gave one.
        reason: String,
    },
    /// Committing offsets failed.
    #[error("commit offsets {offsets}: {source}")]
    Commit {
        /// The offsets, `topic[partition]@offset` separated by commas.
        offsets: String,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// Seeking a partition failed.
    #[error("seek {topic}[{partition}] to offset {offset}: {reason}")]
    Seek {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The offset sought.
        offset: i64,
        /// librdkafka's error text.
        reason: String,
    },
    /// Pausing or resuming a finished partition failed.
    #[error("{op} {topic}[{partition}]: {source}")]
    PauseResume {
        /// `pause` or `resume`.
        op: &'static str,
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// Reading the consumer's position failed.
    #[error("read consumer position: {source}")]
    Position {
        /// The librdkafka error.
        #[source]
        source: KafkaError,
    },
    /// The consumer has no group metadata (it is not in a group yet or has none).
    #[error("consumer group metadata unavailable for group {group:?}")]
    GroupMetadata {
        /// The configured group id.
        group: String,
    },
    /// A librdkafka operation did not finish in time.
    #[error("{op} timed out after {timeout:?}")]
    Timeout {
        /// The operation.
        op: &'static str,
        /// How long it was given.
        timeout: Duration,
    },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

impl SourceError {
    /// Retriable or fatal.
    pub fn class(&self) -> ErrorClass {
        match self {
            SourceError::Configure { .. }
            | SourceError::ParseTimestamp { .. }
            | SourceError::CreateConsumer { .. }
            | SourceError::Subscribe { .. }
            | SourceError::GroupMetadata { .. } => ErrorClass::Fatal,
            SourceError::Seek { .. } | SourceError::Timeout { .. } => ErrorClass::Retriable,
            SourceError::FetchMetadata { source, .. }
            | SourceError::ResolveOffsets { source, .. }
            | SourceError::Assign { source, .. }
            | SourceError::Consume { source, .. }
            | SourceError::Commit { source, .. }
            | SourceError::PauseResume { source, .. }
            | SourceError::Position { source } => classify(source),
        }
    }

    /// Shorthand for `class() == ErrorClass::Retriable`.
    pub fn is_retriable(&self) -> bool {
        self.class() == ErrorClass::Retriable
    }

    /// Shorthand for `class() == ErrorClass::Fatal`.
    pub fn is_fatal(&self) -> bool {
        self.class() == ErrorClass::Fatal
    }
}

/// Classifies a librdkafka error as retriable or fatal.
pub(crate) fn classify(e: &KafkaError) -> ErrorClass {
    if matches!(
        e,
        KafkaError::MessageConsumptionFatal(_) | KafkaError::ClientConfig(..)
    ) {
        return ErrorClass::Fatal;
    }
    match e.rdkafka_error_code() {
        Some(code) if is_fatal_code(code) => ErrorClass::Fatal,
        _ => ErrorClass::Retriable,
    }
}

/// Error codes that no retry can fix: security, authorization, a fatal
/// client state, invalid requests.
pub(crate) fn is_fatal_code(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::Fatal
            | C::SSL
            | C::Authentication
            | C::SaslAuthenticationFailed
            | C::UnsupportedSASLMechanism
            | C::IllegalSASLState
            | C::TopicAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::InvalidArgument
            | C::InvalidGroupId
            | C::InvalidSessionTimeout
            | C::InconsistentGroupProtocol
            | C::UnsupportedVersion
            | C::UnsupportedFeature
            | C::InvalidConfig
            | C::InvalidRequest
            | C::NotImplemented
            | C::FencedInstanceId
            | C::State
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_security_and_authorization_as_fatal() {
        for code in [
            RDKafkaErrorCode::SSL,
            RDKafkaErrorCode::Authentication,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::GroupAuthorizationFailed,
        ] {
            assert_eq!(
                classify(&KafkaError::MessageConsumption(code)),
                ErrorClass::Fatal,
                "{code:?}"
            );
        }
        assert_eq!(
            classify(&KafkaError::MessageConsumptionFatal(
                RDKafkaErrorCode::Unknown
            )),
            ErrorClass::Fatal
        );
    }

    #[test]
    fn classifies_transport_and_coordinator_errors_as_retriable() {
        for code in [
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::OperationTimedOut,
            RDKafkaErrorCode::CoordinatorNotAvailable,
            RDKafkaErrorCode::NotCoordinator,
            RDKafkaErrorCode::RebalanceInProgress,
        ] {
            let e = SourceError::Commit {
                offsets: "t[0]@1".into(),
                source: KafkaError::ConsumerCommit(code),
            };
            assert!(e.is_retriable(), "{code:?}");
        }
    }

    #[test]
    fn consume_message_carries_librdkafka_reason() {
        let e = SourceError::Consume {
            source: KafkaError::MessageConsumption(RDKafkaErrorCode::SSL),
            reason:
                "ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: certificate verify failed"
                    .into(),
        };
        let text = e.to_string();
        assert!(text.starts_with("consume: "), "{text}");
        assert!(
            text.ends_with(
                "(ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: certificate verify failed)"
            ),
            "{text}"
        );
        assert!(e.is_fatal());
    }
}
