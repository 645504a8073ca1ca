//! `KafkaSink`: the builder, sends with backpressure, delivery reports,
//! transactions.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerGroupMetadata;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext, PurgeConfig};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::error::{ErrorClass, SinkError, classify_code};
use kbridge_kafka_client::{self as client, RedactedOptions, Security, log_to_tracing};

// Delivery tokens ride through librdkafka as the per-message opaque pointer.
const _: () = assert!(usize::BITS >= 64, "kbridge-sink needs a 64-bit target");

/// `compression.type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// No compression (the default).
    #[default]
    None,
    /// gzip.
    Gzip,
    /// snappy.
    Snappy,
    /// lz4.
    Lz4,
    /// zstd.
    Zstd,
}

impl Compression {
    fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// `acks`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Acks {
    /// Every in-sync replica (the default; required by idempotence).
    #[default]
    All,
    /// The partition leader only.
    Leader,
    /// No acknowledgement.
    None,
}

impl Acks {
    fn as_str(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::Leader => "1",
            Acks::None => "0",
        }
    }
}

/// Delivery guarantee.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DeliveryGuarantee {
    /// Idempotent producer; the caller commits source offsets after the
    /// delivery reports of their records (the default).
    #[default]
    AtLeastOnce,
    /// Transactional producer with this `transactional.id`; source offsets
    /// are committed inside each transaction.
    ExactlyOnce {
        /// `<prefix>-<instance>`.
        transactional_id: String,
    },
}

/// Which delivery reports [`KafkaSink::poll_deliveries`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryReports {
    /// Successes and failures (default for at-least-once: successes say
    /// which source offsets became durable).
    All,
    /// Failures only (default for exactly-once: the transaction commit
    /// covers successes).
    FailuresOnly,
}

/// The slice of the short waits for delivery reports (flush, a full
/// queue, an abort): a sleep between non-blocking polls.
const SHORT_WAIT: Duration = Duration::from_micros(200);
/// From this timeout on, [`KafkaSink::poll_deliveries`] lets librdkafka
/// block (its last millisecond still spins, see `serve_reports`).
const POLL_BLOCKING_FROM: Duration = Duration::from_millis(5);

/// Options librdkafka gets unless the passthrough overrides them.
const DEFAULTS: &[(&str, &str)] = &[];

/// Options an exactly-once sink gets instead of [`DEFAULTS`] unless the
/// passthrough overrides them.
///
/// `connections.max.idle.ms`: librdkafka 2.12 (the one rdkafka 0.39
/// bundles) can block `send_offsets_to_transaction` forever, past its
/// timeout, after the group coordinator's broker left the cluster metadata
/// and came back (a broker restart): the offset request waits on the
/// forgotten broker object and is woken only by some broker connection
/// going up or down (librdkafka issues #5511 and #5456, fixes not
/// released). Closing connections idle for 10 s makes that happen while
/// the pipeline waits, and the request finds the coordinator again.
/// Connections that carry records are never idle that long; an idle one
/// is opened again when next needed.
const EXACTLY_ONCE_DEFAULTS: &[(&str, &str)] = &[("connections.max.idle.ms", "10000")];

/// Builds a [`KafkaSink`]. Bootstrap servers are required.
#[derive(Clone)]
pub struct KafkaSinkBuilder {
    bootstrap_servers: Option<String>,
    client_id: String,
    topic: Option<String>,
    compression: Compression,
    linger: Duration,
    batch_size: usize,
    acks: Acks,
    idempotence: bool,
    guarantee: DeliveryGuarantee,
    transaction_timeout: Duration,
    reports: Option<DeliveryReports>,
    security: Option<Security>,
    options: Vec<(String, String)>,
    operation_timeout: Duration,
    queue_full_timeout: Duration,
}

impl fmt::Debug for KafkaSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSinkBuilder")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("client_id", &self.client_id)
            .field("topic", &self.topic)
            .field("compression", &self.compression)
            .field("linger", &self.linger)
            .field("batch_size", &self.batch_size)
            .field("acks", &self.acks)
            .field("idempotence", &self.idempotence)
            .field("guarantee", &self.guarantee)
            .field("transaction_timeout", &self.transaction_timeout)
            .field("reports", &self.reports)
            .field("security", &self.security)
            .field("options", &RedactedOptions(&self.options))
            .field("operation_timeout", &self.operation_timeout)
            .field("queue_full_timeout", &self.queue_full_timeout)
            .finish()
    }
}

impl Default for KafkaSinkBuilder {
    fn default() -> Self {
        KafkaSinkBuilder {
            bootstrap_servers: None,
            client_id: "kbridge".to_owned(),
            topic: None,
            compression: Compression::None,
            linger: Duration::from_millis(5),
            batch_size: 1_000_000,
            acks: Acks::All,
            idempotence: true,
            guarantee: DeliveryGuarantee::AtLeastOnce,
            transaction_timeout: Duration::from_secs(60),
            reports: None,
            security: None,
            options: Vec::new(),
            operation_timeout: Duration::from_secs(30),
            queue_full_timeout: Duration::from_secs(60),
        }
    }
}

impl KafkaSinkBuilder {
    /// `host:port[,host:port]`.
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap_servers = Some(servers.into());
        self
    }

    /// `client.id` (default `kbridge`).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// The topic for records that do not name one ([`OutRecord::topic`] routes per record).
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// `compression.type` (default none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// `linger.ms` (default 5 ms).
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// `batch.size` in bytes (default 1,000,000).
    pub fn batch_size(mut self, bytes: usize) -> Self {
        self.batch_size = bytes;
        self
    }

    /// `acks` (default all).
    pub fn acks(mut self, acks: Acks) -> Self {
        self.acks = acks;
        self
    }

    /// `enable.idempotence` (default on; exactly-once requires it).
    pub fn idempotence(mut self, on: bool) -> Self {
        self.idempotence = on;
        self
    }

    /// Idempotent producer, offsets committed by the caller after delivery (the default).
    pub fn at_least_once(mut self) -> Self {
        self.guarantee = DeliveryGuarantee::AtLeastOnce;
        self
    }

    /// Transactional producer with `transactional.id = <prefix>-<instance>`.
    /// Give every concurrently running instance its own `instance`, and the
    /// same one again when it restarts: `build` then fences the previous
    /// run and aborts its lingering transaction.
    pub fn exactly_once(mut self, prefix: impl AsRef<str>, instance: impl AsRef<str>) -> Self {
        self.guarantee = DeliveryGuarantee::ExactlyOnce {
            transactional_id: format!("{}-{}", prefix.as_ref(), instance.as_ref()),
        };
        self
    }

    /// `transaction.timeout.ms` (default 60 s): the broker aborts a
    /// transaction left open longer.
    pub fn transaction_timeout(mut self, timeout: Duration) -> Self {
        self.transaction_timeout = timeout;
        self
    }

    /// Which delivery reports to keep (default: all for at-least-once,
    /// failures only for exactly-once).
    pub fn delivery_reports(mut self, reports: DeliveryReports) -> Self {
        self.reports = Some(reports);
        self
    }

    /// TLS / SASL settings.
    pub fn security(mut self, security: Security) -> Self {
        self.security = Some(security);
        self
    }

    /// A librdkafka option, applied last. A key that a typed setting
    /// controls is rejected by `build`.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// Several librdkafka options (see [`KafkaSinkBuilder::option`]).
    pub fn options<I, K, V>(mut self, options: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.options
            .extend(options.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Timeout of `init_transactions`, `send_offsets`, commit, abort and
    /// the drain before a commit (default 30 s).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// How long [`KafkaSink::send`] waits for room in a full producer
    /// queue before giving up with a retriable error (default 60 s).
    pub fn queue_full_timeout(mut self, timeout: Duration) -> Self {
        self.queue_full_timeout = timeout;
        self
    }

    /// The delivery reports asked for, or the guarantee's default.
    fn reports(&self) -> DeliveryReports {
        self.reports.unwrap_or(match self.guarantee {
            DeliveryGuarantee::ExactlyOnce { .. } => DeliveryReports::FailuresOnly,
            DeliveryGuarantee::AtLeastOnce => DeliveryReports::All,
        })
    }

    /// The full librdkafka configuration this builder produces.
    pub(crate) fn settings(&self) -> Result<BTreeMap<String, String>, SinkError> {
        let bad = |reason: String| SinkError::Configure { reason };
        let servers = self
            .bootstrap_servers
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| bad("bootstrap servers are required".into()))?;
        if self.topic.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(bad("the default topic is empty".into()));
        }
        if self.idempotence && self.acks != Acks::All {
            return Err(bad(format!(
                "idempotence needs acks=all, not acks={}",
                self.acks.as_str()
            )));
        }
        let mut typed: Vec<(&str, String)> = vec![
            ("bootstrap.servers", servers.to_owned()),
            ("client.id", self.client_id.clone()),
            ("compression.type", self.compression.as_str().to_owned()),
            ("linger.ms", self.linger.as_millis().to_string()),
            ("batch.size", self.batch_size.to_string()),
            ("acks", self.acks.as_str().to_owned()),
            ("enable.idempotence", self.idempotence.to_string()),
            // Without success reports librdkafka frees an acknowledged
            // record in its broker thread instead of handing it to the
            // poll loop; with them, at-least-once learns which offsets are
            // durable (so the passthrough may not turn them off).
            (
                "delivery.report.only.error",
                (self.reports() == DeliveryReports::FailuresOnly).to_string(),
            ),
        ];
        if let DeliveryGuarantee::ExactlyOnce { transactional_id } = &self.guarantee {
            if !self.idempotence {
                return Err(bad("exactly-once needs idempotence".into()));
            }
            if transactional_id.trim_matches('-').trim().is_empty()
                || transactional_id.starts_with('-')
            {
                return Err(bad(format!(
                    "transactional id {transactional_id:?} needs a prefix and an instance"
                )));
            }
            typed.push(("transactional.id", transactional_id.clone()));
            typed.push((
                "transaction.timeout.ms",
                self.transaction_timeout.as_millis().to_string(),
            ));
        }
        if let Some(sec) = &self.security {
            typed.extend(sec.to_pairs().map_err(bad)?);
        }
        if let Some((key, _)) = self
            .options
            .iter()
            .find(|(k, _)| k.trim() == "delivery.report.only.error")
        {
            return Err(bad(format!(
                "librdkafka option {key:?} is set from the delivery guarantee \
                 (at-least-once needs a report for every record to commit offsets; \
                 exactly-once asks for failures only): remove it"
            )));
        }
        let defaults = match self.guarantee {
            DeliveryGuarantee::ExactlyOnce { .. } => EXACTLY_ONCE_DEFAULTS,
            DeliveryGuarantee::AtLeastOnce => DEFAULTS,
        };
        client::merge(defaults, &typed, &self.options).map_err(bad)
    }

    /// Creates the producer; for exactly-once also runs `init_transactions`,
    /// which fences any earlier producer with the same transactional id and
    /// aborts the transaction it left open.
    pub fn build(self) -> Result<KafkaSink, SinkError> {
        let settings = self.settings()?;
        let transactional_id = match &self.guarantee {
            DeliveryGuarantee::ExactlyOnce { transactional_id } => Some(transactional_id.clone()),
            DeliveryGuarantee::AtLeastOnce => None,
        };
        let reports = self.reports();
        let ctx = SinkContext {
            client_id: self.client_id.clone(),
            report_successes: reports == DeliveryReports::All,
            reports: Mutex::new(Vec::new()),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        };
        let producer: BaseProducer<SinkContext> = client::client_config(&settings)
            .create_with_context(ctx)
            .map_err(|source| SinkError::CreateProducer { source })?;
        if let Some(id) = &transactional_id {
            producer
                .init_transactions(self.operation_timeout)
                .map_err(|source| SinkError::InitTransactions {
                    transactional_id: id.clone(),
                    source,
                })?;
            tracing::info!(transactional_id = %id, "kafka sink ready (exactly-once; earlier instances fenced)");
        } else {
            tracing::info!(
                idempotence = self.idempotence,
                "kafka sink ready (at-least-once)"
            );
        }
        Ok(KafkaSink {
            producer,
            default_topic: self.topic,
            transactional_id,
            operation_timeout: self.operation_timeout,
            queue_full_timeout: self.queue_full_timeout,
        })
    }
}

/// One record to produce, borrowing its bytes.
#[derive(Debug, Default)]
pub struct OutRecord<'a> {
    topic: Option<&'a str>,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    partition: Option<i32>,
    timestamp: Option<i64>,
    headers: Option<OwnedHeaders>,
}

impl<'a> OutRecord<'a> {
    /// An empty record (null key, null value, default topic, partitioner
    /// chooses the partition, broker or producer time).
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes the record to this topic instead of the sink's default.
    pub fn topic(mut self, topic: &'a str) -> Self {
        self.topic = Some(topic);
        self
    }

    /// The key bytes.
    pub fn key(mut self, key: &'a [u8]) -> Self {
        self.key = Some(key);
        self
    }

    /// The value bytes.
    pub fn value(mut self, value: &'a [u8]) -> Self {
        self.value = Some(value);
        self
    }

    /// A fixed partition (otherwise the key's hash chooses).
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// The record timestamp in milliseconds since the epoch.
    pub fn timestamp(mut self, millis: i64) -> Self {
        self.timestamp = Some(millis);
        self
    }

    /// Replaces the headers (for example a copy of the source record's).
    pub fn headers(mut self, headers: OwnedHeaders) -> Self {
        self.headers = Some(headers);
        self
    }

    /// Appends one header.
    pub fn header(mut self, key: &str, value: Option<&[u8]>) -> Self {
        let h = self.headers.take().unwrap_or_default();
        self.headers = Some(h.insert(Header { key, value }));
        self
    }
}

/// A record that was acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// Partition written.
    pub partition: i32,
    /// Offset written.
    pub offset: i64,
}

/// A copy of a record that failed delivery, to resend it or dead-letter it.
#[derive(Clone, Debug)]
pub struct FailedRecord {
    /// Destination topic.
    pub topic: String,
    /// Partition, if one was chosen.
    pub partition: Option<i32>,
    /// Key.
    pub key: Option<Vec<u8>>,
    /// Value.
    pub value: Option<Vec<u8>>,
    /// Headers, bytes as sent.
    pub headers: Option<OwnedHeaders>,
    /// Timestamp in milliseconds since the epoch, if set.
    pub timestamp: Option<i64>,
}

impl FailedRecord {
    /// The same record again, for a resend.
    pub fn to_out_record(&self) -> OutRecord<'_> {
        OutRecord {
            topic: Some(&self.topic),
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            partition: self.partition,
            timestamp: self.timestamp,
            headers: self.headers.clone(),
        }
    }
}

/// A failed delivery: why, and the record.
#[derive(Debug)]
pub struct DeliveryFailure {
    /// The error ([`SinkError::Deliver`]); `error.class()` says what to do.
    pub error: SinkError,
    /// The record.
    pub record: FailedRecord,
}

/// A delivery report.
#[derive(Debug)]
pub struct Delivery {
    /// The token given to [`KafkaSink::send`].
    pub token: u64,
    /// Where it was written, or why not.
    pub outcome: Result<Delivered, DeliveryFailure>,
}

struct SinkContext {
    client_id: String,
    report_successes: bool,
    reports: Mutex<Vec<Delivery>>,
    /// Successes reported (only with `report_successes`).
    delivered: AtomicU64,
    failed: AtomicU64,
    /// Records enqueued (only without `report_successes`, where
    /// `delivery_counts` derives the successes from it).
    sent: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ClientContext for SinkContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log_to_tracing(&self.client_id, level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(client = %self.client_id, error = %error, "kafka producer error: {reason}");
    }
}

impl ProducerContext for SinkContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, token: usize) {
        let token = token as u64;
        match result {
            Ok(m) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                if self.report_successes {
                    let d = Delivered {
                        partition: m.partition(),
                        offset: m.offset(),
                    };
                    lock(&self.reports).push(Delivery {
                        token,
                        outcome: Ok(d),
                    });
                }
            }
            Err((e, m)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let code = e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
                let partition = (m.partition() >= 0).then_some(m.partition());
                let topic = m.topic().to_owned();
                if classify_code(code) != ErrorClass::Purged {
                    tracing::warn!(topic = %topic, partition = m.partition(), error = %code, "delivery failed");
                }
                let record = FailedRecord {
                    topic: topic.clone(),
                    partition,
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers: m.headers().filter(|h| h.count() > 0).map(|h| h.detach()),
                    timestamp: m.timestamp().to_millis(),
                };
                let error = SinkError::Deliver {
                    topic,
                    partition,
                    code,
                };
                lock(&self.reports).push(Delivery {
                    token,
                    outcome: Err(DeliveryFailure { error, record }),
                });
            }
        }
    }
}

/// A Kafka producer driven by the caller's loop: [`KafkaSink::send`] never
/// blocks except on a full queue, [`KafkaSink::poll_deliveries`] serves
/// delivery reports.
pub struct KafkaSink {
    producer: BaseProducer<SinkContext>,
    default_topic: Option<String>,
    transactional_id: Option<String>,
    operation_timeout: Duration,
    queue_full_timeout: Duration,
}

impl fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSink")
            .field("default_topic", &self.default_topic)
            .field("transactional_id", &self.transactional_id)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl KafkaSink {
    /// A builder with the defaults described on each method.
    pub fn builder() -> KafkaSinkBuilder {
        KafkaSinkBuilder::default()
    }

    /// The transactional id, for an exactly-once sink.
    pub fn transactional_id(&self) -> Option<&str> {
        self.transactional_id.as_deref()
    }

    /// The default topic, if any.
    pub fn default_topic(&self) -> Option<&str> {
        self.default_topic.as_deref()
    }

    /// Enqueues a record. `token` comes back in its [`Delivery`] report (for
    /// example an offset tracker ticket). When the producer queue is full
    /// this serves delivery reports and retries, for up to the queue-full
    /// timeout; a record is never dropped silently. An error here means the
    /// record was not enqueued (`class()` says whether it is poison).
    pub fn send(&self, record: OutRecord<'_>, token: u64) -> Result<(), SinkError> {
        let topic = record
            .topic
            .or(self.default_topic.as_deref())
            .ok_or(SinkError::NoTopic)?;
        let mut rec: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(topic, token as usize);
        if let Some(k) = record.key {
            rec = rec.key(k);
        }
        if let Some(v) = record.value {
            rec = rec.payload(v);
        }
        if let Some(p) = record.partition {
            rec = rec.partition(p);
        }
        if let Some(t) = record.timestamp {
            rec = rec.timestamp(t);
        }
        if let Some(h) = record.headers {
            rec = rec.headers(h);
        }
        let mut full_since: Option<Instant> = None;
        loop {
            match self.producer.send(rec) {
                Ok(()) => {
                    let c = self.producer.context();
                    if !c.report_successes {
                        c.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    rec = back;
                    let since = *full_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= self.queue_full_timeout {
                        return Err(SinkError::QueueFull {
                            topic: topic.to_owned(),
                            waited: since.elapsed(),
                        });
                    }
                    self.serve_reports(SHORT_WAIT);
                }
                Err((source, _)) => {
                    return Err(SinkError::Send {
                        topic: topic.to_owned(),
                        partition: record.partition,
                        source,
                    });
                }
            }
        }
    }

    /// Serves delivery reports for up to `timeout` and appends them to
    /// `out`; returns how many were appended. With a zero timeout it serves
    /// at most one ready event (one produce response, usually a whole batch
    /// of reports): call it every few hundred sends in a hot loop.
    pub fn poll_deliveries(&self, timeout: Duration, out: &mut Vec<Delivery>) -> usize {
        self.serve_reports(timeout);
        self.take_deliveries(out)
    }

    /// Serves delivery reports, waiting up to `timeout` for them.
    ///
    /// rdkafka 0.39's `poll(t)` loops until `t` has passed and hands
    /// librdkafka the time left in whole milliseconds, rounded down: its
    /// last millisecond is a busy loop, and a 1 ms poll is nothing but one
    /// (measured: most of the pipeline thread's time in a transaction
    /// commit, taken from the broker on a small machine). Short waits here
    /// sleep between non-blocking polls instead and return early.
    fn serve_reports(&self, timeout: Duration) {
        self.producer.poll(Duration::ZERO);
        if timeout.is_zero() {
            return;
        }
        if timeout < POLL_BLOCKING_FROM {
            std::thread::sleep(timeout.min(SHORT_WAIT));
            self.producer.poll(Duration::ZERO);
        } else {
            self.producer.poll(timeout);
        }
    }

    /// Appends the delivery reports served so far (by `send`, `flush`, ...) to `out`.
    pub fn take_deliveries(&self, out: &mut Vec<Delivery>) -> usize {
        let mut buf = lock(&self.producer.context().reports);
        let n = buf.len();
        out.append(&mut buf);
        n
    }

    /// Records enqueued and not yet acknowledged (plus reports not yet served).
    pub fn in_flight(&self) -> usize {
        usize::try_from(self.producer.in_flight_count()).unwrap_or(0)
    }

    /// Records acknowledged and failed since the sink was built. Without
    /// success reports ([`DeliveryReports::FailuresOnly`]) the acknowledged
    /// count is what was enqueued minus what failed or is still in flight:
    /// exact once nothing is in flight.
    pub fn delivery_counts(&self) -> (u64, u64) {
        let c = self.producer.context();
        let failed = c.failed.load(Ordering::Relaxed);
        let delivered = if c.report_successes {
            c.delivered.load(Ordering::Relaxed)
        } else {
            let in_flight = self.in_flight() as u64;
            c.sent
                .load(Ordering::Relaxed)
                .saturating_sub(failed)
                .saturating_sub(in_flight)
        };
        (delivered, failed)
    }

    /// Waits until every enqueued record is acknowledged or failed, serving
    /// reports in 1 ms slices (rdkafka's own flush polls in 100 ms slices).
    /// The reports are kept for [`KafkaSink::take_deliveries`].
    pub fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let start = Instant::now();
        while self.producer.in_flight_count() > 0 {
            if start.elapsed() >= timeout {
                return Err(SinkError::Flush {
                    in_flight: self.in_flight(),
                    timeout,
                });
            }
            self.serve_reports(SHORT_WAIT);
        }
        Ok(())
    }

    fn txn_id(&self, op: &'static str) -> Result<&str, SinkError> {
        self.transactional_id
            .as_deref()
            .ok_or(SinkError::NotTransactional { op })
    }

    /// Opens a transaction (exactly-once sinks).
    pub fn begin_transaction(&self) -> Result<(), SinkError> {
        let id = self.txn_id("begin transaction")?;
        self.producer
            .begin_transaction()
            .map_err(|source| SinkError::BeginTransaction {
                transactional_id: id.to_owned(),
                source,
            })
    }

    /// Adds consumed offsets (next offsets to read) to the open transaction,
    /// with the source's group metadata: they are committed for the group
    /// if and only if the transaction commits. An empty list does nothing.
    pub fn send_offsets(
        &self,
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), SinkError> {
        let id = self.txn_id("send offsets")?;
        if offsets.count() == 0 {
            return Ok(());
        }
        self.producer
            .send_offsets_to_transaction(offsets, group, self.operation_timeout)
            .map_err(|source| SinkError::SendOffsets {
                transactional_id: id.to_owned(),
                offsets: describe(offsets),
                source: Box::new(source),
            })
    }

    /// Commits the open transaction: first waits for every record in flight
    /// with short polls (see [`KafkaSink::flush`]), then commits. On an
    /// `Abortable` error call [`KafkaSink::abort_transaction`]; on a
    /// `Retriable` one the commit may be called again.
    pub fn commit_transaction(&self) -> Result<(), SinkError> {
        let id = self.txn_id("commit transaction")?;
        self.flush(self.operation_timeout)?;
        self.producer
            .commit_transaction(self.operation_timeout)
            .map_err(|source| SinkError::CommitTransaction {
                transactional_id: id.to_owned(),
                source,
            })
    }

    /// `send_offsets` then `commit_transaction`.
    pub fn commit_with_offsets(
        &self,
        offsets: &TopicPartitionList,
        group: &ConsumerGroupMetadata,
    ) -> Result<(), SinkError> {
        self.send_offsets(offsets, group)?;
        self.commit_transaction()
    }

    /// Aborts the open transaction: its records are purged (consumers in
    /// read_committed never see them). Reports of the purged records
    /// (`ErrorClass::Purged`) are dropped; other failure reports stay for
    /// [`KafkaSink::take_deliveries`].
    pub fn abort_transaction(&self) -> Result<(), SinkError> {
        let id = self.txn_id("abort transaction")?;
        let err = |source| SinkError::AbortTransaction {
            transactional_id: id.to_owned(),
            source,
        };
        let deadline = Instant::now() + self.operation_timeout;
        // librdkafka's abort waits until every record is reported, and the
        // reports are served only by polling: drop what is still queued,
        // then serve the reports of what is in flight.
        self.producer.purge(PurgeConfig::default().queue());
        while self.producer.in_flight_count() > 0 && Instant::now() < deadline {
            self.serve_reports(SHORT_WAIT);
        }
        loop {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(100));
            match self
                .producer
                .abort_transaction(left.min(Duration::from_secs(1)))
            {
                Ok(()) => break,
                // The abort API resumes where it stopped when called again.
                Err(KafkaError::Transaction(e))
                    if e.is_retriable() && Instant::now() < deadline =>
                {
                    self.serve_reports(SHORT_WAIT);
                }
                Err(e) => return Err(err(e)),
            }
        }
        self.producer.poll(Duration::ZERO);
        lock(&self.producer.context().reports).retain(|d| match &d.outcome {
            Err(f) => f.error.class() != ErrorClass::Purged,
            Ok(_) => true,
        });
        Ok(())
    }

    /// Waits up to `timeout` for everything in flight, then drops the
    /// producer. What is still unacknowledged then is lost to this run (an
    /// at-least-once caller has not committed its offsets).
    pub fn close(self, timeout: Duration) -> Result<(), SinkError> {
        self.flush(timeout)
    }
}

fn describe(tpl: &TopicPartitionList) -> String {
    let parts: Vec<String> = tpl
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => format!("{}[{}]@{o}", e.topic(), e.partition()),
            other => format!("{}[{}]@{other:?}", e.topic(), e.partition()),
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbridge_kafka_client::{Sasl, SaslMechanism, Tls};

    fn base() -> KafkaSinkBuilder {
        KafkaSink::builder()
            .bootstrap_servers("k1:9092,k2:9092")
            .topic("out")
    }

    #[test]
    fn at_least_once_defaults() {
        let s = base().settings().unwrap();
        assert_eq!(s["bootstrap.servers"], "k1:9092,k2:9092");
        assert_eq!(s["enable.idempotence"], "true");
        assert_eq!(s["acks"], "all");
        assert_eq!(s["linger.ms"], "5");
        assert_eq!(s["batch.size"], "1000000");
        assert_eq!(s["compression.type"], "none");
        assert!(!s.contains_key("transactional.id"));
    }

    #[test]
    fn exactly_once_sets_transactional_id_from_prefix_and_instance() {
        let s = base()
            .exactly_once("kbridge-orders", "host-3")
            .transaction_timeout(Duration::from_secs(30));
        let s = s.settings().unwrap();
        assert_eq!(s["transactional.id"], "kbridge-orders-host-3");
        assert_eq!(s["transaction.timeout.ms"], "30000");
        assert_eq!(s["enable.idempotence"], "true");
    }

    #[test]
    fn exactly_once_closes_idle_connections_unless_told_otherwise() {
        // the librdkafka send_offsets_to_transaction hang mitigation
        let eos = base().exactly_once("kbridge-orders", "host-3");
        assert_eq!(eos.settings().unwrap()["connections.max.idle.ms"], "10000");
        let s = eos
            .option("connections.max.idle.ms", "0")
            .settings()
            .unwrap();
        assert_eq!(s["connections.max.idle.ms"], "0");
        assert!(
            !base()
                .settings()
                .unwrap()
                .contains_key("connections.max.idle.ms")
        );
    }

    #[test]
    fn success_reports_only_when_kept() {
        let only_error =
            |b: KafkaSinkBuilder| b.settings().unwrap()["delivery.report.only.error"].clone();
        assert_eq!(only_error(base()), "false");
        assert_eq!(only_error(base().exactly_once("p", "i")), "true");
        assert_eq!(
            only_error(base().delivery_reports(DeliveryReports::FailuresOnly)),
            "true"
        );
        assert_eq!(
            only_error(
                base()
                    .exactly_once("p", "i")
                    .delivery_reports(DeliveryReports::All)
            ),
            "false"
        );
        // at-least-once needs success reports to commit offsets
        let e = base()
            .option("delivery.report.only.error", "true")
            .settings()
            .unwrap_err();
        assert!(
            e.to_string().contains(
                "librdkafka option \"delivery.report.only.error\" is set from the delivery guarantee"
            ),
            "{e}"
        );
    }

    #[test]
    fn typed_producer_settings() {
        let s = base()
            .compression(Compression::Zstd)
            .linger(Duration::from_millis(20))
            .batch_size(65_536)
            .idempotence(false)
            .acks(Acks::Leader)
            .client_id("bridge-7")
            .settings()
            .unwrap();
        assert_eq!(s["compression.type"], "zstd");
        assert_eq!(s["linger.ms"], "20");
        assert_eq!(s["batch.size"], "65536");
        assert_eq!(s["acks"], "1");
        assert_eq!(s["enable.idempotence"], "false");
        assert_eq!(s["client.id"], "bridge-7");
    }

    #[test]
    fn contradictory_settings_are_rejected() {
        let e = base().acks(Acks::Leader).settings().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid sink configuration: idempotence needs acks=all, not acks=1"
        );
        let e = base()
            .idempotence(false)
            .exactly_once("p", "i")
            .settings()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid sink configuration: exactly-once needs idempotence"
        );
        let e = base().exactly_once("", "").settings().unwrap_err();
        assert!(
            e.to_string().contains("needs a prefix and an instance"),
            "{e}"
        );
        let e = KafkaSink::builder().settings().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid sink configuration: bootstrap servers are required"
        );
        assert!(e.is_fatal());
    }

    #[test]
    fn passthrough_cannot_override_typed_settings() {
        let e = base()
            .option("enable.idempotence", "false")
            .settings()
            .unwrap_err();
        assert!(
            e.to_string().contains("\"enable.idempotence\" conflicts"),
            "{e}"
        );
        let e = base()
            .exactly_once("p", "i")
            .option("transactional.id", "other")
            .settings()
            .unwrap_err();
        assert!(
            e.to_string().contains("\"transactional.id\" conflicts"),
            "{e}"
        );
        let e = base()
            .option("queue.buffering.max.ms", "100")
            .settings()
            .unwrap_err();
        assert!(
            e.to_string().contains("conflicts with \"linger.ms\""),
            "{e}"
        );
        let ok = base()
            .option("message.timeout.ms", "120000")
            .option("queue.buffering.max.messages", "500000");
        let s = ok.settings().unwrap();
        assert_eq!(s["message.timeout.ms"], "120000");
        assert_eq!(s["queue.buffering.max.messages"], "500000");
    }

    #[test]
    fn security_reaches_librdkafka_exactly_as_configured() {
        let sec = Security::sasl_ssl(
            Sasl {
                mechanism: SaslMechanism::ScramSha256,
                username: "bridge".into(),
                password: "s3cr3t!".into(),
            },
            Tls {
                ca_location: Some("/ca/root.pem".into()),
                ..Tls::default()
            },
        );
        let b = base().security(sec);
        let s = b.settings().unwrap();
        assert_eq!(s["security.protocol"], "sasl_ssl");
        assert_eq!(s["sasl.mechanism"], "SCRAM-SHA-256");
        assert_eq!(s["sasl.username"], "bridge");
        assert_eq!(s["sasl.password"], "s3cr3t!");
        assert_eq!(s["ssl.ca.location"], "/ca/root.pem");
        assert_eq!(s["ssl.endpoint.identification.algorithm"], "https");
        let debug = format!("{b:?}");
        assert!(!debug.contains("s3cr3t!"), "{debug}");
        let e = base()
            .security(Security::ssl(Tls::default()))
            .option("security.protocol", "plaintext")
            .settings()
            .unwrap_err();
        assert!(
            e.to_string().contains("\"security.protocol\" conflicts"),
            "{e}"
        );
    }

    #[test]
    fn out_record_routing_fields() {
        let r = OutRecord::new()
            .topic("routed")
            .key(b"k")
            .value(b"v")
            .partition(3)
            .timestamp(1_700_000_000_000)
            .header("a", Some(b"1"))
            .header("b", None);
        assert_eq!(r.topic, Some("routed"));
        assert_eq!(r.key, Some(&b"k"[..]));
        assert_eq!(r.value, Some(&b"v"[..]));
        assert_eq!(r.partition, Some(3));
        assert_eq!(r.timestamp, Some(1_700_000_000_000));
        let h = r.headers.unwrap();
        assert_eq!(h.count(), 2);
        assert_eq!(h.get(0).key, "a");
        assert_eq!(h.get(0).value, Some(&b"1"[..]));
        assert_eq!(h.get(1).value, None);
    }

    #[test]
    fn failed_record_resends_as_it_was() {
        let f = FailedRecord {
            topic: "out".into(),
            partition: Some(1),
            key: Some(b"k".to_vec()),
            value: None,
            headers: None,
            timestamp: Some(5),
        };
        let r = f.to_out_record();
        assert_eq!(
            (r.topic, r.key, r.value, r.partition, r.timestamp),
            (Some("out"), Some(&b"k"[..]), None, Some(1), Some(5))
        );
    }
}
