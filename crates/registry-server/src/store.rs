//! Where changes are kept: nowhere (`memory`) or a compacted Kafka topic
//! (`kafka`), replayed on start.
//!
//! The Kafka store is single-writer: one registry process owns the topic.
//! On start it writes a unique NOOP marker record and replays the topic
//! from the beginning until it reads that marker back, so it has seen every
//! earlier change without trusting high watermarks (some brokers, tansu
//! among them, under-report them).
//!
//! Ids are never reused while the records that carried them are in the
//! topic: a permanent delete writes tombstones, and replay still sees the
//! original record before its tombstone. Once compaction has removed both,
//! a restarted registry no longer knows that id (as with Confluent's own
//! store, which also derives its next id from the records it reads).

use crate::error::ServerError;
use crate::record::Record;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Which store the registry uses.
#[derive(Debug, Clone, Default)]
pub enum StoreConfig {
    /// In memory only: everything is lost on exit (tests, demos).
    #[default]
    Memory,
    /// A compacted Kafka topic.
    Kafka(KafkaStoreConfig),
}

/// Settings of the Kafka store.
#[derive(Debug, Clone)]
pub struct KafkaStoreConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Topic name (default `_schemas`); created with one partition and
    /// `cleanup.policy=compact` if missing.
    pub topic: String,
    /// Replication factor when the topic is created (default 1).
    pub replication_factor: i32,
    /// How long start-up may take to create the topic and replay it
    /// (default 60 s).
    pub startup_timeout: Duration,
    /// Extra librdkafka properties for every client (security settings).
    pub properties: BTreeMap<String, String>,
}

impl KafkaStoreConfig {
    /// Defaults for `bootstrap_servers`.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaStoreConfig {
            bootstrap_servers: bootstrap_servers.into(),
            topic: "_schemas".to_string(),
            replication_factor: 1,
            startup_timeout: Duration::from_secs(60),
            properties: BTreeMap::new(),
        }
    }

    /// Sets the topic (builder style).
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = topic.into();
        self
    }

    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap_servers);
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        c
    }
}

pub(crate) enum Store {
    Memory,
    Kafka(KafkaStore),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Memory => f.write_str("Memory"),
            Store::Kafka(k) => f.debug_struct("Kafka").field("topic", &k.topic).finish(),
        }
    }
}

pub(crate) struct KafkaStore {
    topic: String,
    producer: FutureProducer,
}

impl Store {
    /// Opens the store and returns the changes to replay.
    pub(crate) async fn open(config: &StoreConfig) -> Result<(Store, Vec<Record>), ServerError> {
        match config {
            StoreConfig::Memory => Ok((Store::Memory, Vec::new())),
            StoreConfig::Kafka(k) => {
                let (store, records) = KafkaStore::open(k).await?;
                Ok((Store::Kafka(store), records))
            }
        }
    }

    /// Appends changes durably (acknowledged by all in-sync replicas).
    pub(crate) async fn append(&self, records: &[Record]) -> Result<(), ServerError> {
        match self {
            Store::Memory => Ok(()),
            Store::Kafka(k) => k.append(records).await,
        }
    }

    /// Flushes pending writes (at shutdown).
    pub(crate) fn flush(&self) {
        if let Store::Kafka(k) = self
            && let Err(e) = k.producer.flush(Duration::from_secs(10))
        {
            warn!(topic = %k.topic, error = %e, "flushing the schemas topic producer failed");
        }
    }
}

impl KafkaStore {
    async fn open(config: &KafkaStoreConfig) -> Result<(KafkaStore, Vec<Record>), ServerError> {
        let topic = config.topic.clone();
        let deadline = Instant::now() + config.startup_timeout;
        ensure_topic(config, deadline).await?;

        let producer: FutureProducer = config
            .client_config()
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("message.timeout.ms", "30000")
            .create()
            .map_err(|source| ServerError::KafkaClient {
                role: "producer",
                topic: topic.clone(),
                source,
            })?;
        let consumer: StreamConsumer = config
            .client_config()
            .set(
                "group.id",
                format!("kbridge-registry-replay-{}", std::process::id()),
            )
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("fetch.queue.backoff.ms", "10")
            .set("fetch.wait.max.ms", "50")
            .create()
            .map_err(|source| ServerError::KafkaClient {
                role: "consumer",
                topic: topic.clone(),
                source,
            })?;
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&topic, 0, Offset::Beginning)
            .map_err(|e| ServerError::Replay {
                topic: topic.clone(),
                reason: e.to_string(),
            })?;
        consumer
            .assign(&assignment)
            .map_err(|e| ServerError::Replay {
                topic: topic.clone(),
                reason: e.to_string(),
            })?;

        let store = KafkaStore { topic, producer };
        let marker = format!(
            "kbridge-registry-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        store
            .append(&[Record::Noop {
                marker: marker.clone(),
            }])
            .await?;

        let mut records = Vec::new();
        let mut skipped = 0usize;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match tokio::time::timeout(left, consumer.recv()).await {
                Err(_) => {
                    return Err(ServerError::Replay {
                        topic: store.topic.clone(),
                        reason: format!(
                            "did not read back the start marker within {:?} ({} records read)",
                            config.startup_timeout,
                            records.len()
                        ),
                    });
                }
                Ok(Err(e)) => {
                    return Err(ServerError::Replay {
                        topic: store.topic.clone(),
                        reason: e.to_string(),
                    });
                }
                Ok(Ok(m)) => m,
            };
            let Some(key) = message.key() else {
                skipped += 1;
                continue;
            };
            match Record::decode(key, message.payload()) {
                Ok(Some(Record::Noop { marker: m })) if m == marker => break,
                Ok(Some(Record::Noop { .. })) => {}
                Ok(Some(r)) => records.push(r),
                Ok(None) => skipped += 1,
                Err(e) => {
                    skipped += 1;
                    warn!(topic = %store.topic, offset = message.offset(), error = %e, "skipping unreadable schemas record");
                }
            }
        }
        info!(topic = %store.topic, records = records.len(), skipped, "replayed schemas topic");
        Ok((store, records))
    }

    async fn append(&self, records: &[Record]) -> Result<(), ServerError> {
        for r in records {
            let (key, value) = r.encode();
            let mut record = FutureRecord::<Vec<u8>, Vec<u8>>::to(&self.topic)
                .key(&key)
                .partition(0);
            if let Some(v) = &value {
                record = record.payload(v);
            }
            self.producer
                .send(record, Duration::from_secs(30))
                .await
                .map_err(|(source, _)| ServerError::Append {
                    topic: self.topic.clone(),
                    source,
                })?;
        }
        Ok(())
    }
}

/// Creates the topic if missing (one partition, compacted); checks an
/// existing one has exactly one partition.
async fn ensure_topic(config: &KafkaStoreConfig, deadline: Instant) -> Result<(), ServerError> {
    let topic = &config.topic;
    let fail = |reason: String| ServerError::PrepareTopic {
        topic: topic.clone(),
        reason,
    };
    let admin: AdminClient<DefaultClientContext> =
        config
            .client_config()
            .create()
            .map_err(|source| ServerError::KafkaClient {
                role: "admin client",
                topic: topic.clone(),
                source,
            })?;
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Fixed(config.replication_factor))
        .set("cleanup.policy", "compact");
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(15)));
    let results = admin
        .create_topics([&new_topic], &options)
        .await
        .map_err(|e| fail(e.to_string()))?;
    for result in results {
        match result {
            Ok(_) => info!(topic = %topic, "created compacted schemas topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(fail(format!("create topic: {code}"))),
        }
    }
    // The topic may take a moment to appear in metadata after creation.
    let topic_name = topic.clone();
    let left = deadline.saturating_duration_since(Instant::now());
    let partitions = tokio::task::spawn_blocking(move || -> Result<usize, KafkaError> {
        let until = Instant::now() + left;
        loop {
            let md = admin
                .inner()
                .fetch_metadata(Some(&topic_name), Duration::from_secs(5))?;
            let count = md
                .topics()
                .iter()
                .find(|t| t.name() == topic_name && t.error().is_none())
                .map(|t| t.partitions().len())
                .unwrap_or(0);
            if count > 0 || Instant::now() >= until {
                return Ok(count);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .map_err(|e| fail(e.to_string()))?
    .map_err(|e| fail(format!("read metadata: {e}")))?;
    match partitions {
        1 => Ok(()),
        0 => Err(fail(
            "topic does not appear in the broker's metadata".to_string(),
        )),
        n => Err(fail(format!(
            "the schemas topic must have exactly one partition, it has {n}"
        ))),
    }
}
