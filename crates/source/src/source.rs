//! `KafkaSource`: the builder, the poll loop, rebalances, bounded replays.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerGroupMetadata, RebalanceProtocol,
};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message, OwnedHeaders, Timestamp};
use rdkafka::{Offset, TopicPartitionList};

use crate::context::{RebalanceOp, SourceContext};
use crate::error::{ErrorClass, SourceError, classify};
use crate::headers::RecordHeaders;
use crate::offsets::{
    Fallback, Isolation, PartitionOffsets, StartOffsets, StopOffsets, TopicPartition, list,
};
use kbridge_kafka_client::{self as client, RedactedOptions, Security};

/// What the source reads: a topic list or a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subscription {
    /// These topics.
    Topics(Vec<String>),
    /// Every topic whose name matches this regular expression (anchored at
    /// the start; end it with `$` to match whole names). New matching topics
    /// are picked up at each discovery interval.
    Pattern(String),
}

impl fmt::Display for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subscription::Topics(t) => write!(f, "topics {}", t.join(", ")),
            Subscription::Pattern(p) => write!(f, "pattern {p}"),
        }
    }
}

/// Options librdkafka gets unless the passthrough overrides them.
const DEFAULTS: &[(&str, &str)] = &[
    // librdkafka >= 2.4 waits a full second before refetching a partition
    // whose local queue is above queued.min.messages: a fast pipeline drains
    // the queue and starves (bench RESULTS §4).
    ("fetch.queue.backoff.ms", "10"),
    // Fewer, larger fetches (tansu lists every stored batch on each Fetch).
    ("max.partition.fetch.bytes", "4194304"),
    ("enable.partition.eof", "false"),
];

/// Builds a [`KafkaSource`]. Bootstrap servers, a subscription and a group
/// id are required.
#[derive(Clone)]
pub struct KafkaSourceBuilder {
    bootstrap_servers: Option<String>,
    topics: Vec<String>,
    pattern: Option<String>,
    group_id: Option<String>,
    client_id: String,
    start: StartOffsets,
    stop: Option<StopOffsets>,
    discovery_interval: Duration,
    isolation: Isolation,
    security: Option<Security>,
    options: Vec<(String, String)>,
    operation_timeout: Duration,
}

impl fmt::Debug for KafkaSourceBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSourceBuilder")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("topics", &self.topics)
            .field("pattern", &self.pattern)
            .field("group_id", &self.group_id)
            .field("client_id", &self.client_id)
            .field("start", &self.start)
            .field("stop", &self.stop)
            .field("discovery_interval", &self.discovery_interval)
            .field("isolation", &self.isolation)
            .field("security", &self.security)
            .field("options", &RedactedOptions(&self.options))
            .field("operation_timeout", &self.operation_timeout)
            .finish()
    }
}

impl Default for KafkaSourceBuilder {
    fn default() -> Self {
        KafkaSourceBuilder {
            bootstrap_servers: None,
            topics: Vec::new(),
            pattern: None,
            group_id: None,
            client_id: "kbridge".to_owned(),
            start: StartOffsets::default(),
            stop: None,
            discovery_interval: Duration::from_secs(60),
            isolation: Isolation::default(),
            security: None,
            options: Vec::new(),
            operation_timeout: Duration::from_secs(30),
        }
    }
}

impl KafkaSourceBuilder {
    /// `host:port[,host:port]`.
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap_servers = Some(servers.into());
        self
    }

    /// Adds one topic to read.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topics.push(topic.into());
        self
    }

    /// Adds topics to read.
    pub fn topics<I, S>(mut self, topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.topics.extend(topics.into_iter().map(Into::into));
        self
    }

    /// Reads every topic matching this regular expression instead of a list
    /// (a leading `^` is added if missing).
    pub fn topic_regex(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }

    /// The consumer group (`group.id`).
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.group_id = Some(group.into());
        self
    }

    /// `client.id` (default `kbridge`).
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = id.into();
        self
    }

    /// Where reading starts (default: committed, else earliest).
    pub fn start_offsets(mut self, start: StartOffsets) -> Self {
        self.start = start;
        self
    }

    /// Makes the source bounded: it reports [`SourceEvent::Finished`] once
    /// every assigned partition reached its stop offset.
    pub fn stop_offsets(mut self, stop: StopOffsets) -> Self {
        self.stop = Some(stop);
        self
    }

    /// How often topic metadata is refreshed to discover new partitions and,
    /// with a pattern, new topics (default 60 s; at least 1 s; zero turns
    /// periodic discovery off).
    pub fn discovery_interval(mut self, every: Duration) -> Self {
        self.discovery_interval = every;
        self
    }

    /// `isolation.level` (default read_committed).
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    /// TLS / SASL settings.
    pub fn security(mut self, security: Security) -> Self {
        self.security = Some(security);
        self
    }

    /// A librdkafka option, applied after the defaults. A key that a typed
    /// setting controls (bootstrap servers, group, client id, isolation,
    /// discovery, offsets handling, security) is rejected by `build`.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((key.into(), value.into()));
        self
    }

    /// Several librdkafka options (see [`KafkaSourceBuilder::option`]).
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

    /// Timeout of the metadata, offset and commit requests the source makes
    /// itself (default 30 s).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    fn subscription(&self) -> Result<Subscription, SourceError> {
        let bad = |reason: String| SourceError::Configure { reason };
        match (&self.pattern, self.topics.is_empty()) {
            (Some(_), false) => Err(bad("give either topics or a topic regex, not both".into())),
            (None, true) => Err(bad("no topics and no topic regex given".into())),
            (None, false) => {
                if let Some(t) = self
                    .topics
                    .iter()
                    .find(|t| t.trim().is_empty() || t.starts_with('^'))
                {
                    return Err(bad(format!(
                        "invalid topic name {t:?} (use topic_regex for patterns)"
                    )));
                }
                Ok(Subscription::Topics(self.topics.clone()))
            }
            (Some(p), true) => {
                let anchored = if p.starts_with('^') {
                    p.clone()
                } else {
                    format!("^{p}")
                };
                regex::Regex::new(&anchored).map_err(|e| bad(format!("topic regex {p:?}: {e}")))?;
                Ok(Subscription::Pattern(anchored))
            }
        }
    }

    /// The full librdkafka configuration this builder produces.
    pub(crate) fn settings(
        &self,
    ) -> Result<std::collections::BTreeMap<String, String>, SourceError> {
        let bad = |reason: String| SourceError::Configure { reason };
        let servers = self
            .bootstrap_servers
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| bad("bootstrap servers are required".into()))?;
        let group = self
            .group_id
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| bad("a group id is required".into()))?;
        if !self.discovery_interval.is_zero() && self.discovery_interval < Duration::from_secs(1) {
            return Err(bad(format!(
                "discovery interval {:?} is below 1 s",
                self.discovery_interval
            )));
        }
        // Zero turns periodic discovery off (-1).
        let discovery_ms = if self.discovery_interval.is_zero() {
            "-1".to_owned()
        } else {
            self.discovery_interval
                .as_millis()
                .min(3_600_000)
                .to_string()
        };
        let mut typed: Vec<(&str, String)> = vec![
            ("bootstrap.servers", servers.to_owned()),
            ("group.id", group.to_owned()),
            ("client.id", self.client_id.clone()),
            ("isolation.level", self.isolation.as_str().to_owned()),
            ("topic.metadata.refresh.interval.ms", discovery_ms),
            // The pipeline says which offsets are durable; nothing is
            // committed or stored behind its back.
            ("enable.auto.commit", "false".to_owned()),
            ("enable.auto.offset.store", "false".to_owned()),
            // Start offsets are resolved by the source itself on each
            // assignment; this only applies when a position falls out of
            // range (retention deleted it): take the oldest records left.
            ("auto.offset.reset", "earliest".to_owned()),
        ];
        if let Some(sec) = &self.security {
            typed.extend(sec.to_pairs().map_err(bad)?);
        }
        client::merge(DEFAULTS, &typed, &self.options).map_err(bad)
    }

    /// Creates the consumer, takes the partition snapshot used to tell new
    /// partitions apart, resolves `LatestAtStart` stop offsets and subscribes.
    pub fn build(self) -> Result<KafkaSource, SourceError> {
        let subscription = self.subscription()?;
        let settings = self.settings()?;
        let group_id = settings.get("group.id").cloned().unwrap_or_default();
        let ctx = SourceContext::new(self.client_id.clone());
        let consumer: BaseConsumer<SourceContext> = client::client_config(&settings)
            .create_with_context(ctx)
            .map_err(|source| SourceError::CreateConsumer { source })?;
        let timeout = self.operation_timeout;
        let known_at_start = snapshot(&consumer, &subscription, timeout)?;
        let mut stops = HashMap::new();
        if let Some(StopOffsets::LatestAtStart) = &self.stop {
            let parts: Vec<TopicPartition> = known_at_start.iter().cloned().collect();
            for (tp, off) in list_offsets(&consumer, &parts, Offset::End, timeout, "stop")? {
                stops.insert(tp, off.to_raw().unwrap_or(0).max(0));
            }
        }
        match &subscription {
            Subscription::Topics(t) => {
                let refs: Vec<&str> = t.iter().map(String::as_str).collect();
                consumer.subscribe(&refs)
            }
            Subscription::Pattern(p) => consumer.subscribe(&[p.as_str()]),
        }
        .map_err(|source| SourceError::Subscribe {
            subscription: subscription.to_string(),
            source,
        })?;
        tracing::info!(
            group = %group_id,
            subscription = %subscription,
            partitions_at_start = known_at_start.len(),
            bounded = self.stop.is_some(),
            "kafka source subscribed"
        );
        Ok(KafkaSource {
            consumer,
            group_id,
            subscription,
            start: self.start,
            stop: self.stop,
            known_at_start,
            timeout,
            state: RefCell::new(State {
                stops,
                ..State::default()
            }),
        })
    }
}

/// Topic metadata (`topic`, or all topics) within `timeout`, asked in
/// slices of at most a second: between slices the error events librdkafka
/// queued are served (a blocking call does not serve them), and a TLS or
/// authentication failure among them ends the wait at once, naming the
/// cause — librdkafka would retry it until the timeout. Only called before
/// the subscription, when polling takes no records.
fn fetch_metadata(
    consumer: &BaseConsumer<SourceContext>,
    topic: Option<&str>,
    timeout: Duration,
) -> Result<rdkafka::metadata::Metadata, SourceError> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let err = match consumer.fetch_metadata(topic, left.min(Duration::from_secs(1))) {
            Ok(md) => return Ok(md),
            Err(e) => e,
        };
        for _ in 0..1024 {
            let _ = consumer.poll(Duration::ZERO);
        }
        let setup = consumer.context().take_setup_error();
        if setup.is_some() || Instant::now() >= deadline {
            return Err(SourceError::FetchMetadata {
                what: topic.map_or_else(|| "all topics".to_owned(), |t| format!("topic {t}")),
                source: err,
                reason: setup
                    .unwrap_or_else(|| consumer.context().take_last_error())
                    .into(),
            });
        }
    }
}

/// Partitions that exist now, for the subscription.
fn snapshot(
    consumer: &BaseConsumer<SourceContext>,
    subscription: &Subscription,
    timeout: Duration,
) -> Result<HashSet<TopicPartition>, SourceError> {
    let mut known = HashSet::new();
    let mut add = |md: &rdkafka::metadata::Metadata, filter: &dyn Fn(&str) -> bool| {
        for t in md
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && filter(t.name()))
        {
            for p in t.partitions() {
                known.insert(TopicPartition::new(t.name(), p.id()));
            }
        }
    };
    match subscription {
        Subscription::Topics(topics) => {
            for topic in topics {
                let md = fetch_metadata(consumer, Some(topic), timeout)?;
                add(&md, &|_| true);
            }
        }
        Subscription::Pattern(p) => {
            let re = regex::Regex::new(p).map_err(|e| SourceError::Configure {
                reason: e.to_string(),
            })?;
            let md = fetch_metadata(consumer, None, timeout)?;
            add(&md, &|name| re.is_match(name));
        }
    }
    Ok(known)
}

/// `ListOffsets` for many partitions at once: `Offset::End` for the high
/// watermark (the last stable offset under read_committed),
/// `Offset::Beginning` for the low one, `Offset::Offset(ts)` for a timestamp.
fn list_offsets(
    consumer: &BaseConsumer<SourceContext>,
    parts: &[TopicPartition],
    spec: Offset,
    timeout: Duration,
    what: &'static str,
) -> Result<Vec<(TopicPartition, Offset)>, SourceError> {
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let err = |source| SourceError::ResolveOffsets {
        what,
        partitions: list(parts),
        source,
    };
    let mut tpl = TopicPartitionList::with_capacity(parts.len());
    for tp in parts {
        tpl.add_partition_offset(&tp.topic, tp.partition, spec)
            .map_err(err)?;
    }
    let res = consumer.offsets_for_times(tpl, timeout).map_err(err)?;
    let mut out = Vec::with_capacity(parts.len());
    for e in res.elements() {
        if let Err(source) = e.error() {
            return Err(SourceError::ResolveOffsets {
                what,
                partitions: format!("{}[{}]", e.topic(), e.partition()),
                source,
            });
        }
        out.push((TopicPartition::new(e.topic(), e.partition()), e.offset()));
    }
    Ok(out)
}

/// The kind of a record timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    /// Set by the producer.
    CreateTime,
    /// Set by the broker when it appended the record.
    LogAppendTime,
    /// The record has no timestamp.
    NotAvailable,
}

/// A consumed record, borrowed from the consumer's buffer (no copy).
pub struct SourceRecord<'a> {
    msg: BorrowedMessage<'a>,
}

impl fmt::Debug for SourceRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceRecord")
            .field("topic", &self.topic())
            .field("partition", &self.partition())
            .field("offset", &self.offset())
            .field("key_len", &self.msg.key_len())
            .field("value_len", &self.msg.payload_len())
            .finish()
    }
}

impl<'a> SourceRecord<'a> {
    /// The key bytes, `None` for a null key.
    pub fn key(&self) -> Option<&[u8]> {
        self.msg.key()
    }

    /// The value bytes, `None` for a null value (tombstone).
    pub fn value(&self) -> Option<&[u8]> {
        self.msg.payload()
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        self.msg.topic()
    }

    /// The partition.
    pub fn partition(&self) -> i32 {
        self.msg.partition()
    }

    /// The offset.
    pub fn offset(&self) -> i64 {
        self.msg.offset()
    }

    /// Milliseconds since the epoch, if the record has a timestamp.
    pub fn timestamp(&self) -> Option<i64> {
        self.msg.timestamp().to_millis()
    }

    /// Whether the timestamp was set by the producer or the broker.
    pub fn timestamp_type(&self) -> TimestampType {
        match self.msg.timestamp() {
            Timestamp::CreateTime(_) => TimestampType::CreateTime,
            Timestamp::LogAppendTime(_) => TimestampType::LogAppendTime,
            Timestamp::NotAvailable => TimestampType::NotAvailable,
        }
    }

    /// The headers, in order, borrowed.
    ///
    /// librdkafka parses a record's headers on each call until it finds
    /// some: for a record without headers every call allocates and frees
    /// a parse buffer. To read them more than once, call this once and
    /// clone the iterator.
    pub fn headers(&self) -> RecordHeaders<'_> {
        RecordHeaders::of(&self.msg)
    }

    /// A copy of the headers exactly as received (bytes untouched), ready to
    /// hand to a producer; `None` if the record has none.
    pub fn owned_headers(&self) -> Option<OwnedHeaders> {
        use rdkafka::message::Headers;
        self.msg
            .headers()
            .filter(|h| h.count() > 0)
            .map(|h| h.detach())
    }

    /// `topic[partition]` (allocates).
    pub fn topic_partition(&self) -> TopicPartition {
        TopicPartition::new(self.topic(), self.partition())
    }

    /// The underlying rdkafka message.
    pub fn message(&self) -> &BorrowedMessage<'a> {
        &self.msg
    }
}

/// Partitions taken away by a rebalance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The partitions being released.
    pub partitions: Vec<TopicPartition>,
    /// librdkafka considers the assignment already lost (session timeout,
    /// fenced): other members may own the partitions now, so commits for
    /// them will fail — abandon (ALO) or abort (EOS) their work instead.
    pub lost: bool,
}

/// What [`KafkaSource::poll`] returns.
#[derive(Debug)]
pub enum SourceEvent<'a> {
    /// A record.
    Record(SourceRecord<'a>),
    /// Partitions were assigned; their start positions are applied.
    Assigned(Vec<TopicPartition>),
    /// Partitions are being revoked. They stay assigned until the next call
    /// to `poll` (or the source is dropped): before that, finish the
    /// in-flight work for them and commit what is durable (ALO), or commit
    /// or abort the open transaction (EOS).
    Revoked(Revocation),
    /// Bounded source: every assigned partition reached its stop offset.
    /// Returned by every later `poll` too.
    Finished,
}

#[derive(Debug)]
struct Part {
    tp: TopicPartition,
    /// Offset of the first record returned since the last `mark_committed`.
    first_uncommitted: Option<i64>,
    /// Offset after the last record returned since the last `mark_committed`.
    next: Option<i64>,
    stop: Option<i64>,
    finished: bool,
    /// Started from a timestamp: skip records older than it until the first
    /// record at or after it (brokers may answer the look-up per batch).
    skip_before: Option<i64>,
}

#[derive(Debug, Default)]
struct State {
    parts: Vec<Part>,
    index: HashMap<String, HashMap<i32, usize>>,
    last: Option<usize>,
    /// Partitions assigned at least once in this run.
    seen: HashSet<TopicPartition>,
    /// Resolved stop offsets (bounded sources), kept across rebalances.
    stops: HashMap<TopicPartition, i64>,
    /// A revocation handed to the caller; released on the next poll.
    revoking: Option<Vec<TopicPartition>>,
    last_position_check: Option<Instant>,
}

impl State {
    fn reindex(&mut self) {
        self.index.clear();
        self.last = None;
        for (i, p) in self.parts.iter().enumerate() {
            self.index
                .entry(p.tp.topic.clone())
                .or_default()
                .insert(p.tp.partition, i);
        }
    }

    fn find(&mut self, topic: &str, partition: i32) -> Option<usize> {
        if let Some(i) = self.last {
            let p = &self.parts[i];
            if p.tp.partition == partition && p.tp.topic == topic {
                return Some(i);
            }
        }
        let i = *self.index.get(topic)?.get(&partition)?;
        self.last = Some(i);
        Some(i)
    }

    fn all_finished(&self) -> bool {
        self.revoking.is_none() && !self.parts.is_empty() && self.parts.iter().all(|p| p.finished)
    }
}

/// A Kafka consumer-group source driven by the caller's loop
/// ([`KafkaSource::poll`]). Not `Sync`: use it from one thread.
pub struct KafkaSource {
    consumer: BaseConsumer<SourceContext>,
    group_id: String,
    subscription: Subscription,
    start: StartOffsets,
    stop: Option<StopOffsets>,
    known_at_start: HashSet<TopicPartition>,
    timeout: Duration,
    state: RefCell<State>,
}

impl fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSource")
            .field("group_id", &self.group_id)
            .field("subscription", &self.subscription)
            .field("start", &self.start)
            .field("stop", &self.stop)
            .field("assignment", &self.assignment())
            .finish()
    }
}

/// What to do with a polled record.
enum Admit {
    Deliver,
    Skip,
}

/// How the start position of one partition is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pos {
    Fixed(Offset),
    Timestamp(i64),
}

impl KafkaSource {
    /// A builder with the defaults described on each method.
    pub fn builder() -> KafkaSourceBuilder {
        KafkaSourceBuilder::default()
    }

    /// The consumer group.
    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// The subscription.
    pub fn subscription(&self) -> &Subscription {
        &self.subscription
    }

    fn bounded(&self) -> bool {
        self.stop.is_some()
    }

    fn cooperative(&self) -> bool {
        matches!(
            self.consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        )
    }

    /// Waits up to `timeout` for the next record or event.
    ///
    /// Records come one at a time, borrowed from the consumer; drop the
    /// record before you need `&mut` access to anything it borrows. Returns
    /// `Ok(None)` when the timeout passes with nothing to report. Transient
    /// consumer errors (broker down, ...) are logged and retried by
    /// librdkafka; only fatal ones (authentication, TLS, authorization, a
    /// fatal client state) and failed offset look-ups come back as errors.
    pub fn poll(&self, timeout: Duration) -> Result<Option<SourceEvent<'_>>, SourceError> {
        self.finish_revoke()?;
        if self.consumer.context().has_pending()
            && let Some(ev) = self.next_rebalance_event()?
        {
            return Ok(Some(ev));
        }
        // no clock read for a poll that must not wait (the pipeline's
        // common case: records already fetched)
        let deadline = (!timeout.is_zero()).then(|| Instant::now() + timeout);
        loop {
            if self.bounded() && self.state.borrow().all_finished() {
                // Serve events (a rebalance may still come) without
                // returning records beyond the stop offsets.
                while let Some(r) = self.consumer.poll(Duration::ZERO) {
                    match r {
                        Ok(m) => {
                            if let Admit::Deliver = self.admit(&m)? {
                                return Ok(Some(SourceEvent::Record(SourceRecord { msg: m })));
                            }
                        }
                        Err(e) => self.on_consume_error(e)?,
                    }
                }
                if let Some(ev) = self.next_rebalance_event()? {
                    return Ok(Some(ev));
                }
                if self.state.borrow().all_finished() {
                    return Ok(Some(SourceEvent::Finished));
                }
                continue;
            }
            let remaining = deadline.map_or(Duration::ZERO, |d| {
                d.saturating_duration_since(Instant::now())
            });
            match self.consumer.poll(remaining) {
                Some(Ok(m)) => {
                    if let Admit::Deliver = self.admit(&m)? {
                        return Ok(Some(SourceEvent::Record(SourceRecord { msg: m })));
                    }
                }
                Some(Err(e)) => self.on_consume_error(e)?,
                None => {
                    if let Some(ev) = self.next_rebalance_event()? {
                        return Ok(Some(ev));
                    }
                    if self.bounded() {
                        self.check_positions()?;
                        if self.state.borrow().all_finished() {
                            continue;
                        }
                    }
                    if deadline.is_none_or(|d| Instant::now() >= d) {
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn on_consume_error(&self, e: KafkaError) -> Result<(), SourceError> {
        if matches!(e, KafkaError::PartitionEOF(_)) {
            return Ok(());
        }
        let reason = self.consumer.context().take_last_error();
        match classify(&e) {
            ErrorClass::Fatal => Err(SourceError::Consume { source: e, reason }),
            _ => {
                tracing::warn!(group = %self.group_id, error = %e, reason, "consumer error (librdkafka retries)");
                Ok(())
            }
        }
    }

    /// Bookkeeping for a polled record: position tracking, stop offsets.
    fn admit(&self, m: &BorrowedMessage<'_>) -> Result<Admit, SourceError> {
        let mut st = self.state.borrow_mut();
        let (topic, partition, offset) = (m.topic(), m.partition(), m.offset());
        let Some(i) = st.find(topic, partition) else {
            tracing::debug!(
                topic,
                partition,
                offset,
                "dropping record of a partition not assigned to this source"
            );
            return Ok(Admit::Skip);
        };
        let p = &mut st.parts[i];
        if let Some(t) = p.skip_before {
            match m.timestamp().to_millis() {
                Some(ts) if ts < t => return Ok(Admit::Skip),
                _ => p.skip_before = None,
            }
        }
        let past_time = match &self.stop {
            Some(StopOffsets::Timestamp(t)) => m.timestamp().to_millis().is_some_and(|ts| ts >= *t),
            _ => false,
        };
        if let Some(stop) = p.stop {
            if offset >= stop || past_time {
                if !p.finished {
                    p.finished = true;
                    let tp = p.tp.clone();
                    drop(st);
                    self.pause(&tp)?;
                }
                return Ok(Admit::Skip);
            }
            if offset + 1 >= stop {
                p.finished = true;
                let tp = p.tp.clone();
                p.first_uncommitted.get_or_insert(offset);
                p.next = Some(offset + 1);
                drop(st);
                self.pause(&tp)?;
                return Ok(Admit::Deliver);
            }
        }
        p.first_uncommitted.get_or_insert(offset);
        p.next = Some(offset + 1);
        Ok(Admit::Deliver)
    }

    fn pause(&self, tp: &TopicPartition) -> Result<(), SourceError> {
        tracing::debug!(topic = %tp.topic, partition = tp.partition, "partition reached its stop offset");
        self.pause_resume(tp, true)
    }

    fn pause_resume(&self, tp: &TopicPartition, pause: bool) -> Result<(), SourceError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&tp.topic, tp.partition);
        let r = if pause {
            self.consumer.pause(&tpl)
        } else {
            self.consumer.resume(&tpl)
        };
        r.map_err(|source| SourceError::PauseResume {
            op: if pause { "pause" } else { "resume" },
            topic: tp.topic.clone(),
            partition: tp.partition,
            source,
        })
    }

    /// Bounded sources: a partition whose last records before the stop are
    /// transaction markers never returns a record at `stop - 1`; its
    /// position still moves past them.
    fn check_positions(&self) -> Result<(), SourceError> {
        {
            let mut st = self.state.borrow_mut();
            if st.parts.iter().all(|p| p.finished || p.stop.is_none()) {
                return Ok(());
            }
            if st
                .last_position_check
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
            {
                return Ok(());
            }
            st.last_position_check = Some(Instant::now());
        }
        let pos = self
            .consumer
            .position()
            .map_err(|source| SourceError::Position { source })?;
        let mut done = Vec::new();
        {
            let mut st = self.state.borrow_mut();
            for e in pos.elements() {
                let Offset::Offset(at) = e.offset() else {
                    continue;
                };
                let Some(i) = st.find(e.topic(), e.partition()) else {
                    continue;
                };
                let p = &mut st.parts[i];
                if !p.finished && p.stop.is_some_and(|s| at >= s) {
                    p.finished = true;
                    done.push(p.tp.clone());
                }
            }
        }
        for tp in &done {
            self.pause(tp)?;
        }
        Ok(())
    }

    /// Takes the next rebalance step librdkafka asked for and applies it.
    fn next_rebalance_event(&self) -> Result<Option<SourceEvent<'_>>, SourceError> {
        let ctx = self.consumer.context();
        let Some(op) = ctx.pop_pending() else {
            return Ok(None);
        };
        match op {
            RebalanceOp::Assign(parts) => match self.apply_assign(&parts) {
                Ok(()) => Ok(Some(SourceEvent::Assigned(parts))),
                Err(e) => {
                    ctx.push_front(RebalanceOp::Assign(parts));
                    Err(e)
                }
            },
            RebalanceOp::Revoke { partitions, lost } => {
                self.state.borrow_mut().revoking = Some(partitions.clone());
                tracing::info!(group = %self.group_id, partitions = %list(&partitions), lost, "partitions revoked");
                Ok(Some(SourceEvent::Revoked(Revocation { partitions, lost })))
            }
        }
    }

    /// Releases the partitions of a revocation handed out by the previous poll.
    fn finish_revoke(&self) -> Result<(), SourceError> {
        let Some(parts) = self.state.borrow_mut().revoking.take() else {
            return Ok(());
        };
        let r = if self.cooperative() {
            let mut tpl = TopicPartitionList::new();
            for tp in &parts {
                tpl.add_partition(&tp.topic, tp.partition);
            }
            self.consumer.incremental_unassign(&tpl)
        } else {
            self.consumer.unassign()
        };
        if let Err(source) = r {
            self.state.borrow_mut().revoking = Some(parts.clone());
            return Err(SourceError::Assign {
                op: "unassign",
                partitions: list(&parts),
                source,
            });
        }
        let mut st = self.state.borrow_mut();
        let gone: HashSet<&TopicPartition> = parts.iter().collect();
        st.parts.retain(|p| !gone.contains(&p.tp));
        st.reindex();
        Ok(())
    }

    /// Resolves start (and stop) offsets for newly assigned partitions and assigns them.
    fn apply_assign(&self, parts: &[TopicPartition]) -> Result<(), SourceError> {
        let planned = self.resolve_starts(parts)?;
        let skip_before: HashMap<TopicPartition, i64> = planned
            .iter()
            .filter_map(|(tp, _, t)| t.map(|t| (tp.clone(), t)))
            .collect();
        let starts: Vec<(TopicPartition, Offset)> =
            planned.into_iter().map(|(tp, o, _)| (tp, o)).collect();
        if self.bounded() {
            self.resolve_stops(parts)?;
        }
        let mut tpl = TopicPartitionList::with_capacity(starts.len());
        for (tp, off) in &starts {
            tpl.add_partition_offset(&tp.topic, tp.partition, *off)
                .map_err(|source| SourceError::Assign {
                    op: "assign",
                    partitions: tp.to_string(),
                    source,
                })?;
        }
        let r = if self.cooperative() {
            self.consumer.incremental_assign(&tpl)
        } else {
            self.consumer.assign(&tpl)
        };
        r.map_err(|source| SourceError::Assign {
            op: "assign",
            partitions: list(parts),
            source,
        })?;

        // Bounded: partitions already at or past their stop are finished now.
        let mut finished_now = HashSet::new();
        if self.bounded() {
            let concrete = self.concrete_starts(&starts)?;
            let st = self.state.borrow();
            for (tp, start) in concrete {
                if st.stops.get(&tp).is_some_and(|&stop| stop <= start) {
                    finished_now.insert(tp);
                }
            }
        }
        {
            let mut st = self.state.borrow_mut();
            if !self.cooperative() {
                st.parts.clear();
            }
            for tp in parts {
                st.seen.insert(tp.clone());
                let stop = st.stops.get(tp).copied();
                st.parts.retain(|p| &p.tp != tp);
                st.parts.push(Part {
                    tp: tp.clone(),
                    first_uncommitted: None,
                    next: None,
                    stop,
                    finished: finished_now.contains(tp),
                    skip_before: skip_before.get(tp).copied(),
                });
            }
            st.reindex();
        }
        for tp in &finished_now {
            self.pause(tp)?;
        }
        let described: Vec<String> = starts.iter().map(|(tp, o)| format!("{tp}@{o:?}")).collect();
        tracing::info!(group = %self.group_id, starts = %described.join(", "), "partitions assigned");
        Ok(())
    }

    /// Start offset per partition, per the policy (see [`StartOffsets`]).
    fn resolve_starts(
        &self,
        parts: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, Offset, Option<i64>)>, SourceError> {
        let seen = self.state.borrow().seen.clone();
        let mut plan: Vec<(TopicPartition, Option<Pos>, Pos)> = Vec::with_capacity(parts.len());
        for tp in parts {
            let new = !self.known_at_start.contains(tp);
            let first = !seen.contains(tp);
            let explicit = match &self.start {
                StartOffsets::Earliest => Some(Pos::Fixed(Offset::Beginning)),
                StartOffsets::Latest => Some(Pos::Fixed(Offset::End)),
                StartOffsets::Timestamp(t) => Some(Pos::Timestamp(*t)),
                StartOffsets::Offsets { offsets, .. } => {
                    offsets.get(tp).map(|o| Pos::Fixed(Offset::Offset(*o)))
                }
                StartOffsets::Committed { .. } => None,
            };
            let listed = matches!(&self.start, StartOffsets::Offsets { offsets, .. } if offsets.contains_key(tp));
            let fallback = match (&self.start, explicit) {
                _ if new && !listed => Pos::Fixed(Offset::Beginning),
                (_, Some(pos)) => pos,
                (
                    StartOffsets::Committed {
                        fallback: Fallback::Latest,
                    },
                    None,
                )
                | (
                    StartOffsets::Offsets {
                        fallback: Fallback::Latest,
                        ..
                    },
                    None,
                ) => Pos::Fixed(Offset::End),
                _ => Pos::Fixed(Offset::Beginning),
            };
            let use_explicit = first && explicit.is_some() && (!new || listed);
            plan.push((
                tp.clone(),
                if use_explicit { explicit } else { None },
                fallback,
            ));
        }
        // Committed offsets for partitions without an explicit position.
        let need: Vec<TopicPartition> = plan
            .iter()
            .filter(|(_, e, _)| e.is_none())
            .map(|(tp, _, _)| tp.clone())
            .collect();
        let committed = self.committed_for(&need)?;
        let mut resolved: Vec<(TopicPartition, Pos)> = plan
            .into_iter()
            .map(|(tp, explicit, fallback)| {
                let pos = explicit.unwrap_or_else(|| match committed.get(&tp) {
                    Some(&o) => Pos::Fixed(Offset::Offset(o)),
                    None => fallback,
                });
                (tp, pos)
            })
            .collect();
        // Timestamps, looked up together per distinct timestamp.
        let mut by_ts: HashMap<i64, Vec<TopicPartition>> = HashMap::new();
        for (tp, pos) in &resolved {
            if let Pos::Timestamp(t) = pos {
                by_ts.entry(*t).or_default().push(tp.clone());
            }
        }
        let mut ts_offsets: HashMap<TopicPartition, Offset> = HashMap::new();
        for (t, tps) in by_ts {
            for (tp, off) in list_offsets(
                &self.consumer,
                &tps,
                Offset::Offset(t),
                self.timeout,
                "start",
            )? {
                // No record that recent: start at the end.
                let off = match off {
                    Offset::Offset(o) if o >= 0 => Offset::Offset(o),
                    _ => Offset::End,
                };
                ts_offsets.insert(tp, off);
            }
        }
        Ok(resolved
            .drain(..)
            .map(|(tp, pos)| match pos {
                Pos::Fixed(o) => (tp, o, None),
                Pos::Timestamp(t) => {
                    let off = ts_offsets.get(&tp).copied().unwrap_or(Offset::End);
                    (tp, off, Some(t))
                }
            })
            .collect())
    }

    fn committed_for(
        &self,
        parts: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>, SourceError> {
        let mut out = HashMap::new();
        if parts.is_empty() {
            return Ok(out);
        }
        let mut tpl = TopicPartitionList::with_capacity(parts.len());
        for tp in parts {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        let res = self
            .consumer
            .committed_offsets(tpl, self.timeout)
            .map_err(|source| SourceError::ResolveOffsets {
                what: "committed",
                partitions: list(parts),
                source,
            })?;
        for e in res.elements() {
            if let Offset::Offset(o) = e.offset()
                && o >= 0
            {
                out.insert(TopicPartition::new(e.topic(), e.partition()), o);
            }
        }
        Ok(out)
    }

    /// Stop offsets for partitions seen for the first time.
    fn resolve_stops(&self, parts: &[TopicPartition]) -> Result<(), SourceError> {
        let todo: Vec<TopicPartition> = parts
            .iter()
            .filter(|tp| !self.state.borrow().stops.contains_key(*tp))
            .cloned()
            .collect();
        if todo.is_empty() {
            return Ok(());
        }
        let mut found: Vec<(TopicPartition, i64)> = Vec::new();
        match &self.stop {
            None => return Ok(()),
            // Known partitions were resolved at build time; the rest did not
            // exist then and hold nothing "at start".
            Some(StopOffsets::LatestAtStart) => found.extend(todo.into_iter().map(|tp| (tp, 0))),
            Some(StopOffsets::Offsets(m)) => {
                found.extend(todo.into_iter().map(|tp| {
                    let o = m.get(&tp).copied().unwrap_or(0);
                    (tp, o)
                }));
            }
            // The cap is the high watermark now; the timestamp itself is
            // checked on each record (`admit`), which needs no timestamp
            // index on the broker (tansu 0.6 answers such look-ups with 0).
            Some(StopOffsets::Timestamp(_)) => {
                for (tp, off) in
                    list_offsets(&self.consumer, &todo, Offset::End, self.timeout, "stop")?
                {
                    found.push((tp, off.to_raw().unwrap_or(0).max(0)));
                }
            }
        }
        let mut st = self.state.borrow_mut();
        for (tp, o) in found {
            st.stops.insert(tp, o);
        }
        Ok(())
    }

    /// Concrete start offsets (logical ones looked up) for the stop check.
    fn concrete_starts(
        &self,
        starts: &[(TopicPartition, Offset)],
    ) -> Result<Vec<(TopicPartition, i64)>, SourceError> {
        let mut out = Vec::with_capacity(starts.len());
        let mut lows = Vec::new();
        let mut highs = Vec::new();
        for (tp, off) in starts {
            match off {
                Offset::Offset(o) => out.push((tp.clone(), *o)),
                Offset::End => highs.push(tp.clone()),
                _ => lows.push(tp.clone()),
            }
        }
        for (set, spec) in [(lows, Offset::Beginning), (highs, Offset::End)] {
            for (tp, off) in list_offsets(&self.consumer, &set, spec, self.timeout, "start")? {
                out.push((tp, off.to_raw().unwrap_or(0).max(0)));
            }
        }
        Ok(out)
    }

    /// The partitions currently assigned to this source.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.state
            .borrow()
            .parts
            .iter()
            .map(|p| p.tp.clone())
            .collect()
    }

    /// Bounded source: every assigned partition reached its stop offset.
    pub fn is_finished(&self) -> bool {
        self.bounded() && self.state.borrow().all_finished()
    }

    /// Resolved stop offsets of a bounded source (partitions seen so far).
    pub fn stop_offsets(&self) -> PartitionOffsets {
        self.state
            .borrow()
            .stops
            .iter()
            .map(|(tp, o)| (tp.clone(), *o))
            .collect()
    }

    /// The group metadata to pass to the sink's `send_offsets_to_transaction`.
    pub fn group_metadata(&self) -> Result<ConsumerGroupMetadata, SourceError> {
        self.consumer
            .group_metadata()
            .ok_or_else(|| SourceError::GroupMetadata {
                group: self.group_id.clone(),
            })
    }

    /// Next offsets (last returned + 1) of the partitions that returned
    /// records since the last [`KafkaSource::mark_committed`]: what an
    /// exactly-once transaction covering those records must commit.
    pub fn pending_offsets(&self) -> TopicPartitionList {
        let st = self.state.borrow();
        let mut tpl = TopicPartitionList::new();
        for p in &st.parts {
            if let Some(n) = p.next {
                let _ = tpl.add_partition_offset(&p.tp.topic, p.tp.partition, Offset::Offset(n));
            }
        }
        tpl
    }

    /// Declares everything returned so far durable and committed (after a
    /// transaction commit): [`KafkaSource::pending_offsets`] and
    /// [`KafkaSource::rewind`] start over from here.
    pub fn mark_committed(&self) {
        for p in &mut self.state.borrow_mut().parts {
            p.first_uncommitted = None;
            p.next = None;
        }
    }

    /// Declares the records before `offsets` (next offsets to read, as a
    /// transaction commits them) durable and committed, when records after
    /// them were already returned and are not: for those partitions
    /// [`KafkaSource::rewind`] goes back to `offsets`; partitions not in
    /// `offsets` keep their uncommitted records. With everything returned
    /// committed this is [`KafkaSource::mark_committed`].
    pub fn mark_committed_up_to(&self, offsets: &TopicPartitionList) {
        for p in &mut self.state.borrow_mut().parts {
            let Some(c) = offsets
                .find_partition(&p.tp.topic, p.tp.partition)
                .and_then(|e| e.offset().to_raw())
            else {
                continue;
            };
            if p.next.is_some_and(|n| n > c) {
                p.first_uncommitted = Some(c);
            } else {
                p.first_uncommitted = None;
                p.next = None;
            }
        }
    }

    /// Seeks every partition back to the first record returned since the
    /// last [`KafkaSource::mark_committed`] (after an aborted transaction),
    /// so those records are read again. Returns how many partitions moved.
    pub fn rewind(&self) -> Result<usize, SourceError> {
        let targets: Vec<(TopicPartition, i64)> = {
            let st = self.state.borrow();
            st.parts
                .iter()
                .filter_map(|p| p.first_uncommitted.map(|o| (p.tp.clone(), o)))
                .collect()
        };
        for (tp, o) in &targets {
            self.seek(tp, *o)?;
        }
        Ok(targets.len())
    }

    /// Moves one assigned partition to `offset`; the next record of that
    /// partition comes from there.
    pub fn seek(&self, tp: &TopicPartition, offset: i64) -> Result<(), SourceError> {
        self.consumer
            .seek(
                &tp.topic,
                tp.partition,
                Offset::Offset(offset),
                self.timeout,
            )
            .map_err(|e| SourceError::Seek {
                topic: tp.topic.clone(),
                partition: tp.partition,
                offset,
                reason: e.to_string(),
            })?;
        let resume = {
            let mut st = self.state.borrow_mut();
            let Some(i) = st.find(&tp.topic, tp.partition) else {
                return Ok(());
            };
            let p = &mut st.parts[i];
            p.first_uncommitted = None;
            p.next = None;
            let reopen = p.finished && p.stop.is_some_and(|s| offset < s);
            if reopen {
                p.finished = false;
            }
            reopen
        };
        if resume {
            self.pause_resume(tp, false)?;
        }
        tracing::debug!(topic = %tp.topic, partition = tp.partition, offset, "seek");
        Ok(())
    }

    /// Commits these offsets (next offsets to read) for the group.
    /// `CommitMode::Sync` waits for the broker; `Async` returns at once and
    /// logs a failure. An empty list commits nothing.
    pub fn commit(
        &self,
        offsets: &TopicPartitionList,
        mode: CommitMode,
    ) -> Result<(), SourceError> {
        if offsets.count() == 0 {
            return Ok(());
        }
        self.consumer
            .commit(offsets, mode)
            .map_err(|source| SourceError::Commit {
                offsets: describe(offsets),
                source,
            })
    }

    /// The group's committed offsets for the current assignment (`None`
    /// where the group has none).
    pub fn committed(&self) -> Result<Vec<(TopicPartition, Option<i64>)>, SourceError> {
        let parts = self.assignment();
        let found = self.committed_for(&parts)?;
        Ok(parts
            .into_iter()
            .map(|tp| {
                let o = found.get(&tp).copied();
                (tp, o)
            })
            .collect())
    }

    /// Leaves the group: completes any revocation in progress and closes the
    /// consumer (librdkafka's close revokes the assignment). Dropping the
    /// source does the same.
    pub fn close(self) {
        drop(self);
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

impl Drop for KafkaSource {
    fn drop(&mut self) {
        let ctx = self.consumer.context();
        ctx.closing.store(true, Ordering::Release);
        // librdkafka is waiting for an assign/unassign call for anything
        // still pending; close cannot finish before it gets one.
        let revoking = self.state.get_mut().revoking.take();
        let mut unassign = revoking.is_some();
        for op in ctx.take_pending() {
            match op {
                RebalanceOp::Assign(parts) => {
                    let mut tpl = TopicPartitionList::new();
                    for tp in &parts {
                        tpl.add_partition(&tp.topic, tp.partition);
                    }
                    let r = if self.cooperative() {
                        self.consumer.incremental_assign(&tpl)
                    } else {
                        self.consumer.assign(&tpl)
                    };
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "assign while closing failed");
                    }
                }
                RebalanceOp::Revoke { .. } => unassign = true,
            }
        }
        if unassign {
            let r = if self.cooperative() {
                self.consumer
                    .assignment()
                    .and_then(|a| self.consumer.incremental_unassign(&a))
            } else {
                self.consumer.unassign()
            };
            if let Err(e) = r {
                tracing::warn!(error = %e, "unassign while closing failed");
            }
        }
        tracing::debug!(group = %self.group_id, "kafka source closing");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbridge_kafka_client::{Sasl, SaslMechanism, SecurityProtocol, Tls};

    fn base() -> KafkaSourceBuilder {
        KafkaSource::builder()
            .bootstrap_servers("k1:9092")
            .group_id("g1")
            .topic("in")
    }

    #[test]
    fn consumer_settings_guarantee_manual_offsets_and_read_committed() {
        let s = base().settings().unwrap();
        assert_eq!(s["bootstrap.servers"], "k1:9092");
        assert_eq!(s["group.id"], "g1");
        assert_eq!(s["enable.auto.commit"], "false");
        assert_eq!(s["enable.auto.offset.store"], "false");
        assert_eq!(s["isolation.level"], "read_committed");
        assert_eq!(s["fetch.queue.backoff.ms"], "10");
        assert_eq!(s["topic.metadata.refresh.interval.ms"], "60000");
        let s = base()
            .isolation(Isolation::ReadUncommitted)
            .discovery_interval(Duration::from_secs(5))
            .settings()
            .unwrap();
        assert_eq!(s["isolation.level"], "read_uncommitted");
        assert_eq!(s["topic.metadata.refresh.interval.ms"], "5000");
    }

    #[test]
    fn passthrough_tunes_defaults_but_cannot_break_guarantees() {
        let s = base()
            .option("fetch.queue.backoff.ms", "100")
            .options([
                ("session.timeout.ms", "6000"),
                ("heartbeat.interval.ms", "1000"),
            ])
            .settings()
            .unwrap();
        assert_eq!(s["fetch.queue.backoff.ms"], "100");
        assert_eq!(s["session.timeout.ms"], "6000");
        for key in [
            "enable.auto.commit",
            "group.id",
            "isolation.level",
            "auto.commit.enable",
            "metadata.broker.list",
        ] {
            let e = base().option(key, "x").settings().unwrap_err();
            assert!(
                e.to_string().contains(&format!("{key:?} conflicts")),
                "{key}: {e}"
            );
            assert!(e.is_fatal());
        }
    }

    #[test]
    fn tls_and_sasl_settings_exactly_as_configured() {
        let tls = Tls {
            ca_location: Some("/pki/ca.pem".into()),
            certificate_location: Some("/pki/client.pem".into()),
            key_location: Some("/pki/client.key".into()),
            key_password: None,
            verify_hostname: true,
        };
        let s = base().security(Security::ssl(tls)).settings().unwrap();
        assert_eq!(s["security.protocol"], "ssl");
        assert_eq!(s["ssl.ca.location"], "/pki/ca.pem");
        assert_eq!(s["ssl.certificate.location"], "/pki/client.pem");
        assert_eq!(s["ssl.key.location"], "/pki/client.key");
        assert!(!s.contains_key("ssl.key.password"));
        let sasl = Sasl {
            mechanism: SaslMechanism::Plain,
            username: "alice".into(),
            password: "pw-1".into(),
        };
        let s = base()
            .security(Security::sasl_plaintext(sasl))
            .settings()
            .unwrap();
        assert_eq!(s["security.protocol"], "sasl_plaintext");
        assert_eq!(s["sasl.mechanism"], "PLAIN");
        assert_eq!(s["sasl.username"], "alice");
        assert_eq!(s["sasl.password"], "pw-1");
        let bad = Security {
            protocol: SecurityProtocol::SaslSsl,
            tls: None,
            sasl: None,
        };
        let e = base().security(bad).settings().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid source configuration: security.protocol sasl_ssl needs SASL settings"
        );
    }

    #[test]
    fn required_settings() {
        let e = KafkaSource::builder()
            .group_id("g")
            .topic("t")
            .settings()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid source configuration: bootstrap servers are required"
        );
        let e = KafkaSource::builder()
            .bootstrap_servers("b:1")
            .topic("t")
            .settings()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid source configuration: a group id is required"
        );
        let e = base()
            .discovery_interval(Duration::from_millis(10))
            .settings()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid source configuration: discovery interval 10ms is below 1 s"
        );
    }

    #[test]
    fn subscription_forms() {
        assert_eq!(
            base().topic("in2").subscription().unwrap(),
            Subscription::Topics(vec!["in".into(), "in2".into()])
        );
        let p = KafkaSource::builder()
            .topic_regex("orders\\..*")
            .subscription()
            .unwrap();
        assert_eq!(p, Subscription::Pattern("^orders\\..*".into()));
        let p = KafkaSource::builder()
            .topic_regex("^x$")
            .subscription()
            .unwrap();
        assert_eq!(p, Subscription::Pattern("^x$".into()));
        let e = base().topic_regex("x").subscription().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid source configuration: give either topics or a topic regex, not both"
        );
        let e = KafkaSource::builder().subscription().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid source configuration: no topics and no topic regex given"
        );
        let e = KafkaSource::builder()
            .topic_regex("(unclosed")
            .subscription()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid source configuration: topic regex \"(unclosed\": "),
            "{e}"
        );
        let e = KafkaSource::builder()
            .topic("^x")
            .subscription()
            .unwrap_err();
        assert!(
            e.to_string().contains("use topic_regex for patterns"),
            "{e}"
        );
    }
}
