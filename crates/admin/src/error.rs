//! [`AdminError`]: every failure of this crate, named after the operation
//! that failed, with the topic, partition, offset, group or line it concerns.

use kbridge_codec::CodecError;
use kbridge_registry::RegistryError;
use rdkafka::error::KafkaError;

/// Errors of the operator tools.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// librdkafka refused the client configuration.
    #[error("create kafka {client} client: {source}")]
    CreateClient {
        /// `admin`, `consumer` or `producer`.
        client: &'static str,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// No broker answered a metadata request in time.
    #[error("fetch cluster metadata from {brokers}: {source}")]
    FetchMetadata {
        /// The bootstrap servers tried.
        brokers: String,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// The topic does not exist.
    #[error("topic '{topic}' does not exist")]
    TopicNotFound {
        /// The topic.
        topic: String,
    },
    /// The consumer group has neither members nor committed offsets.
    #[error("consumer group '{group}' not found: it has no members and no committed offsets")]
    GroupNotFound {
        /// The group.
        group: String,
    },
    /// A topic could not be created.
    #[error("create topic '{topic}': {reason}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// The broker's or librdkafka's reason.
        reason: String,
    },
    /// A topic could not be deleted.
    #[error("delete topic '{topic}': {reason}")]
    DeleteTopic {
        /// The topic.
        topic: String,
        /// The broker's or librdkafka's reason.
        reason: String,
    },
    /// A topic's configuration could not be read.
    #[error("describe configs of topic '{topic}': {reason}")]
    DescribeConfigs {
        /// The topic.
        topic: String,
        /// The broker's or librdkafka's reason.
        reason: String,
    },
    /// A topic's configuration could not be changed.
    #[error("alter configs of topic '{topic}': {reason}")]
    AlterConfigs {
        /// The topic.
        topic: String,
        /// The broker's or librdkafka's reason.
        reason: String,
    },
    /// The consumer groups could not be listed or described.
    #[error("describe consumer group '{group}': {source}")]
    DescribeGroup {
        /// The group.
        group: String,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// A group's committed offsets could not be fetched.
    #[error("fetch committed offsets of group '{group}': {source}")]
    FetchCommitted {
        /// The group.
        group: String,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// A partition's log start / end offsets could not be fetched.
    #[error("fetch watermarks of {topic}[{partition}]: {source}")]
    FetchWatermarks {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// Offsets for a timestamp could not be looked up.
    #[error("look up offsets of topic '{topic}' at {timestamp_ms} ms: {source}")]
    OffsetsForTimes {
        /// The topic.
        topic: String,
        /// The timestamp (ms since the epoch).
        timestamp_ms: i64,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// The consumer could not be subscribed or assigned.
    #[error("start consuming topic '{topic}': {source}")]
    Subscribe {
        /// The topic.
        topic: String,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// Polling the consumer failed with a non-recoverable error.
    #[error("consume topic '{topic}': {source}")]
    Consume {
        /// The topic.
        topic: String,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// Offsets could not be committed.
    #[error("commit offsets of group '{group}': {source}")]
    Commit {
        /// The group.
        group: String,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// A record could not be handed to the producer.
    #[error("produce to topic '{topic}': {source}")]
    Produce {
        /// The topic.
        topic: String,
        /// librdkafka's error.
        #[source]
        source: KafkaError,
    },
    /// Some records were not acknowledged by the broker.
    #[error("{failed} record(s) to topic '{topic}' were not delivered; first failure: {first}")]
    Delivery {
        /// The topic.
        topic: String,
        /// How many failed.
        failed: u64,
        /// The first failure's reason.
        first: String,
    },
    /// An input line could not be turned into a record.
    #[error("line {line}: {reason}")]
    InvalidRecord {
        /// 1-based input line number.
        line: u64,
        /// What is wrong, with the field path.
        reason: String,
    },
    /// Reading the input failed.
    #[error("read input at line {line}: {source}")]
    ReadInput {
        /// 1-based line number being read.
        line: u64,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A schema registry request failed.
    #[error("{operation}: {source}")]
    Registry {
        /// What was asked (`fetch latest schema of subject 'orders-value'`).
        operation: String,
        /// The registry client's error.
        #[source]
        source: Box<RegistryError>,
    },
    /// A schema could not be parsed or compiled.
    #[error("parse schema {what}: {source}")]
    ParseSchema {
        /// Which schema (a file, a subject version, an id).
        what: String,
        /// The codec's error.
        #[source]
        source: Box<CodecError>,
    },
    /// An argument is invalid (a regular expression, an offset spec, ...).
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// Which argument.
        what: String,
        /// Why.
        reason: String,
    },
    /// The blocking runtime for registry calls could not start.
    #[error("start the registry runtime: {source}")]
    Runtime {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl AdminError {
    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        AdminError::InvalidArgument {
            what: what.into(),
            reason: reason.into(),
        }
    }
}
