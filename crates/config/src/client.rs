//! `[consumer]` and `[producer]`, the librdkafka passthrough maps, and the
//! mapping of the typed sections to the final librdkafka property list.

use crate::Config;
use crate::serde_util::{Scalar, duration, size, string_enum};
use crate::source::{OffsetReset, StartingOffsets};
use serde::de::{self, Deserializer, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// `[consumer]`: the group consumer that reads the source topics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsumerConfig {
    /// `group.id`. Needed for committed starting offsets and exactly-once.
    pub group_id: String,
    /// `isolation.level`.
    pub isolation_level: IsolationLevel,
    /// `session.timeout.ms`.
    #[serde(with = "duration")]
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`; must be below the session timeout.
    #[serde(with = "duration")]
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms`.
    #[serde(with = "duration")]
    pub max_poll_interval: Duration,
    /// `fetch.min.bytes`.
    #[serde(with = "size")]
    pub fetch_min_bytes: u64,
    /// `fetch.max.bytes`.
    #[serde(with = "size")]
    pub fetch_max_bytes: u64,
    /// `max.partition.fetch.bytes`.
    #[serde(with = "size")]
    pub max_partition_fetch_bytes: u64,
    /// `fetch.wait.max.ms`.
    #[serde(with = "duration")]
    pub fetch_max_wait: Duration,
    /// `fetch.queue.backoff.ms`. librdkafka's own default (1 s) starves a
    /// pipeline that drains its queue quickly; kbridge defaults to 10 ms.
    #[serde(with = "duration")]
    pub fetch_queue_backoff: Duration,
    /// `queued.max.messages.kbytes` (given here in bytes, rounded up to KiB).
    #[serde(with = "size")]
    pub queued_max_bytes: u64,
    /// Extra librdkafka consumer properties; a key that a typed field sets is
    /// rejected.
    pub librdkafka: LibrdkafkaOptions,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            group_id: "kbridge".to_string(),
            isolation_level: IsolationLevel::default(),
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            fetch_min_bytes: 1,
            fetch_max_bytes: 50 << 20,
            max_partition_fetch_bytes: 1 << 20,
            fetch_max_wait: Duration::from_millis(500),
            fetch_queue_backoff: Duration::from_millis(10),
            queued_max_bytes: 64 << 20,
            librdkafka: LibrdkafkaOptions::default(),
        }
    }
}

string_enum! {
    /// `isolation.level`.
    pub enum IsolationLevel {
        /// Only records of committed transactions (required downstream of exactly-once).
        ReadCommitted = "read_committed",
        /// Every record, including those of open or aborted transactions.
        ReadUncommitted = "read_uncommitted",
    }
    default = ReadCommitted;
}

/// `[producer]`: the producer that writes the sink and dead-letter topics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerConfig {
    /// `acks`.
    pub acks: Acks,
    /// `enable.idempotence`.
    pub idempotence: bool,
    /// `compression.type`.
    pub compression: Compression,
    /// `linger.ms`.
    #[serde(with = "duration")]
    pub linger: Duration,
    /// `batch.size`.
    #[serde(with = "size")]
    pub batch_size: u64,
    /// `retries`.
    pub retries: u32,
    /// `retry.backoff.ms`.
    #[serde(with = "duration")]
    pub retry_backoff: Duration,
    /// `max.in.flight.requests.per.connection` (at most 5 with idempotence).
    pub max_in_flight: u32,
    /// `message.timeout.ms` (Java's `delivery.timeout.ms`).
    #[serde(with = "duration")]
    pub delivery_timeout: Duration,
    /// `request.timeout.ms`.
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// `transaction.timeout.ms` (exactly-once).
    #[serde(with = "duration")]
    pub transaction_timeout: Duration,
    /// Extra librdkafka producer properties; a key that a typed field sets is
    /// rejected.
    pub librdkafka: LibrdkafkaOptions,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            idempotence: true,
            compression: Compression::default(),
            linger: Duration::from_millis(5),
            batch_size: 1_000_000,
            retries: i32::MAX as u32,
            retry_backoff: Duration::from_millis(100),
            max_in_flight: 5,
            delivery_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
            transaction_timeout: Duration::from_secs(60),
            librdkafka: LibrdkafkaOptions::default(),
        }
    }
}

/// `acks`: how many replicas acknowledge a write. Accepts `all` (or `-1`),
/// `1`, `0`, as strings or integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Acks {
    /// All in-sync replicas (`all`, `-1`). Required by idempotence.
    #[default]
    All,
    /// The partition leader only (`1`).
    One,
    /// No acknowledgement (`0`).
    Zero,
}

impl Acks {
    /// Accepted canonical spellings.
    pub const VALUES: &'static [&'static str] = &["all", "1", "0"];

    /// Canonical spelling, also the librdkafka value.
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::One => "1",
            Acks::Zero => "0",
        }
    }
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" | "-1" => Ok(Acks::All),
            "1" => Ok(Acks::One),
            "0" => Ok(Acks::Zero),
            _ => Err(crate::serde_util::unknown_value(s, Acks::VALUES)),
        }
    }
}

impl Serialize for Acks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AcksVisitor;
        impl Visitor<'_> for AcksVisitor {
            type Value = Acks;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all`, `1` or `0`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Acks, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Acks, E> {
                v.to_string().parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Acks, E> {
                v.to_string().parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(AcksVisitor)
    }
}

string_enum! {
    /// `compression.type`.
    pub enum Compression {
        /// No compression.
        None = "none",
        /// gzip.
        Gzip = "gzip",
        /// Snappy.
        Snappy = "snappy",
        /// LZ4.
        Lz4 = "lz4",
        /// Zstandard.
        Zstd = "zstd",
    }
    default = None;
}

/// Extra librdkafka properties (`[consumer.librdkafka]`,
/// `[producer.librdkafka]`), passed through as given after the typed
/// settings. Values may be strings, numbers or booleans. `Debug` and
/// `Serialize` redact values whose key looks sensitive (password, secret,
/// token, key material, JAAS, OAUTHBEARER config).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct LibrdkafkaOptions(BTreeMap<String, String>);

impl LibrdkafkaOptions {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one property (key lower-cased and trimmed, as librdkafka reads it).
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl Into<String>) {
        self.0
            .insert(key.as_ref().trim().to_ascii_lowercase(), value.into());
    }

    /// The properties, sorted by key. Values are not redacted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// No property is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: AsRef<str>, V: Into<String>> FromIterator<(K, V)> for LibrdkafkaOptions {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut options = LibrdkafkaOptions::new();
        for (k, v) in iter {
            options.insert(k, v);
        }
        options
    }
}

/// librdkafka keys whose values must never be printed.
pub(crate) fn is_sensitive_property(key: &str) -> bool {
    const MARKERS: &[&str] = &[
        "password",
        "secret",
        "token",
        ".pem",
        "jaas",
        "sasl.oauthbearer.config",
    ];
    let key = key.to_ascii_lowercase();
    MARKERS.iter().any(|m| key.contains(m))
}

fn redacted(key: &str, value: &str) -> String {
    if is_sensitive_property(key) {
        crate::secret::REDACTED.to_string()
    } else {
        value.to_string()
    }
}

impl fmt::Debug for LibrdkafkaOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, redacted(k, v))))
            .finish()
    }
}

impl Serialize for LibrdkafkaOptions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, &redacted(k, v))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for LibrdkafkaOptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, Scalar>::deserialize(deserializer)?;
        Ok(raw.into_iter().map(|(k, v)| (k, v.0)).collect())
    }
}

/// The final librdkafka properties of one client, in the order they should
/// be applied (typed settings first, then the passthrough map). Put them into
/// `rdkafka::ClientConfig` with `set(key, value)`. `Debug` redacts sensitive
/// values.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ClientProperties(Vec<(String, String)>);

impl ClientProperties {
    fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.push((key.to_string(), value.into()));
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The properties in order. Values are not redacted.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The properties as owned pairs. Values are not redacted.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No property is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for ClientProperties {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Debug for ClientProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, redacted(k, v))))
            .finish()
    }
}

/// Which client a passthrough map belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKind {
    Consumer,
    Producer,
}

/// librdkafka properties that typed keys own (aliases included), with the key
/// that owns each. A passthrough entry for one of these is rejected.
const COMMON_OWNED: &[(&str, &str)] = &[
    ("bootstrap.servers", "kafka.brokers"),
    ("metadata.broker.list", "kafka.brokers"),
    ("client.id", "kafka.client_id"),
    ("socket.timeout.ms", "kafka.socket_timeout"),
    (
        "socket.connection.setup.timeout.ms",
        "kafka.connection_setup_timeout",
    ),
    ("metadata.max.age.ms", "kafka.metadata_max_age"),
    ("security.protocol", "kafka.security_protocol"),
    ("sasl.mechanisms", "kafka.sasl.mechanism"),
    ("sasl.mechanism", "kafka.sasl.mechanism"),
    ("sasl.username", "kafka.sasl.username"),
    ("sasl.password", "kafka.sasl.password"),
    ("sasl.oauthbearer.method", "kafka.sasl.oauthbearer_method"),
    (
        "sasl.oauthbearer.client.id",
        "kafka.sasl.oauthbearer_client_id",
    ),
    (
        "sasl.oauthbearer.client.secret",
        "kafka.sasl.oauthbearer_client_secret",
    ),
    (
        "sasl.oauthbearer.token.endpoint.url",
        "kafka.sasl.oauthbearer_token_endpoint_url",
    ),
    ("sasl.oauthbearer.scope", "kafka.sasl.oauthbearer_scope"),
    ("ssl.ca.location", "kafka.ssl.ca_location"),
    ("ssl.certificate.location", "kafka.ssl.certificate_location"),
    ("ssl.key.location", "kafka.ssl.key_location"),
    ("ssl.key.password", "kafka.ssl.key_password"),
    (
        "ssl.endpoint.identification.algorithm",
        "kafka.ssl.endpoint_identification",
    ),
];

const CONSUMER_OWNED: &[(&str, &str)] = &[
    ("group.id", "consumer.group_id"),
    ("isolation.level", "consumer.isolation_level"),
    ("session.timeout.ms", "consumer.session_timeout"),
    ("heartbeat.interval.ms", "consumer.heartbeat_interval"),
    ("max.poll.interval.ms", "consumer.max_poll_interval"),
    ("fetch.min.bytes", "consumer.fetch_min_bytes"),
    ("fetch.max.bytes", "consumer.fetch_max_bytes"),
    (
        "max.partition.fetch.bytes",
        "consumer.max_partition_fetch_bytes",
    ),
    (
        "fetch.message.max.bytes",
        "consumer.max_partition_fetch_bytes",
    ),
    ("fetch.wait.max.ms", "consumer.fetch_max_wait"),
    ("fetch.queue.backoff.ms", "consumer.fetch_queue_backoff"),
    ("queued.max.messages.kbytes", "consumer.queued_max_bytes"),
    ("auto.offset.reset", "source.starting_offsets"),
    ("enable.auto.commit", "kbridge's offset tracking"),
    ("enable.auto.offset.store", "kbridge's offset tracking"),
];

const PRODUCER_OWNED: &[(&str, &str)] = &[
    ("acks", "producer.acks"),
    ("request.required.acks", "producer.acks"),
    ("enable.idempotence", "producer.idempotence"),
    ("compression.type", "producer.compression"),
    ("compression.codec", "producer.compression"),
    ("linger.ms", "producer.linger"),
    ("queue.buffering.max.ms", "producer.linger"),
    ("batch.size", "producer.batch_size"),
    ("retries", "producer.retries"),
    ("message.send.max.retries", "producer.retries"),
    ("retry.backoff.ms", "producer.retry_backoff"),
    ("max.in.flight", "producer.max_in_flight"),
    (
        "max.in.flight.requests.per.connection",
        "producer.max_in_flight",
    ),
    ("message.timeout.ms", "producer.delivery_timeout"),
    ("delivery.timeout.ms", "producer.delivery_timeout"),
    ("request.timeout.ms", "producer.request_timeout"),
    ("transaction.timeout.ms", "producer.transaction_timeout"),
    ("transactional.id", "sink.transactional_id_prefix"),
];

/// The typed key (or kbridge feature) that owns librdkafka property `key`
/// for this client, if any.
pub(crate) fn owner_of(kind: ClientKind, key: &str) -> Option<&'static str> {
    let specific = match kind {
        ClientKind::Consumer => CONSUMER_OWNED,
        ClientKind::Producer => PRODUCER_OWNED,
    };
    let key = key.trim().to_ascii_lowercase();
    COMMON_OWNED
        .iter()
        .chain(specific)
        .find(|(property, _)| *property == key)
        .map(|(_, owner)| *owner)
}

fn ms(value: Duration) -> String {
    value.as_millis().to_string()
}

impl Config {
    /// librdkafka properties every client shares: brokers, client id,
    /// timeouts, security. Admin clients (topic listing, lag) use this alone.
    pub fn client_config_for_admin(&self) -> ClientProperties {
        let mut props = ClientProperties::default();
        let kafka = &self.kafka;
        props.set("bootstrap.servers", kafka.brokers.join(","));
        props.set("client.id", kafka.client_id.clone());
        props.set("socket.timeout.ms", ms(kafka.socket_timeout));
        props.set(
            "socket.connection.setup.timeout.ms",
            ms(kafka.connection_setup_timeout),
        );
        props.set("metadata.max.age.ms", ms(kafka.metadata_max_age));
        props.set(
            "security.protocol",
            kafka.security_protocol.librdkafka_value(),
        );
        if kafka.security_protocol.uses_sasl() {
            let sasl = &kafka.sasl;
            props.set("sasl.mechanisms", sasl.mechanism.as_str());
            if let Some(username) = &sasl.username {
                props.set("sasl.username", username.clone());
            }
            if let Some(password) = &sasl.password {
                props.set("sasl.password", password.expose());
            }
            if sasl.mechanism == crate::SaslMechanism::Oauthbearer {
                props.set("sasl.oauthbearer.method", sasl.oauthbearer_method.as_str());
                if let Some(id) = &sasl.oauthbearer_client_id {
                    props.set("sasl.oauthbearer.client.id", id.clone());
                }
                if let Some(secret) = &sasl.oauthbearer_client_secret {
                    props.set("sasl.oauthbearer.client.secret", secret.expose());
                }
                if let Some(url) = &sasl.oauthbearer_token_endpoint_url {
                    props.set("sasl.oauthbearer.token.endpoint.url", url.clone());
                }
                if let Some(scope) = &sasl.oauthbearer_scope {
                    props.set("sasl.oauthbearer.scope", scope.clone());
                }
            }
        }
        if kafka.security_protocol.uses_tls() {
            let ssl = &kafka.ssl;
            let path = |p: &std::path::PathBuf| p.to_string_lossy().into_owned();
            if let Some(ca) = &ssl.ca_location {
                props.set("ssl.ca.location", path(ca));
            }
            if let Some(cert) = &ssl.certificate_location {
                props.set("ssl.certificate.location", path(cert));
            }
            if let Some(key) = &ssl.key_location {
                props.set("ssl.key.location", path(key));
            }
            if let Some(password) = &ssl.key_password {
                props.set("ssl.key.password", password.expose());
            }
            props.set(
                "ssl.endpoint.identification.algorithm",
                if ssl.endpoint_identification {
                    "https"
                } else {
                    "none"
                },
            );
        }
        props
    }

    /// librdkafka properties of the source consumer: the shared settings,
    /// `[consumer]`, `auto.offset.reset` from `source.starting_offsets`,
    /// auto-commit off (kbridge commits what the sink has written), then
    /// `[consumer.librdkafka]`.
    pub fn client_config_for_consumer(&self) -> ClientProperties {
        let mut props = self.client_config_for_admin();
        let c = &self.consumer;
        if !c.group_id.is_empty() {
            props.set("group.id", c.group_id.clone());
        }
        props.set("isolation.level", c.isolation_level.as_str());
        props.set("session.timeout.ms", ms(c.session_timeout));
        props.set("heartbeat.interval.ms", ms(c.heartbeat_interval));
        props.set("max.poll.interval.ms", ms(c.max_poll_interval));
        props.set("fetch.min.bytes", c.fetch_min_bytes.to_string());
        props.set("fetch.max.bytes", c.fetch_max_bytes.to_string());
        props.set(
            "max.partition.fetch.bytes",
            c.max_partition_fetch_bytes.to_string(),
        );
        props.set("fetch.wait.max.ms", ms(c.fetch_max_wait));
        props.set("fetch.queue.backoff.ms", ms(c.fetch_queue_backoff));
        props.set(
            "queued.max.messages.kbytes",
            c.queued_max_bytes.div_ceil(1024).to_string(),
        );
        let reset = match &self.source.starting_offsets {
            StartingOffsets::Earliest => OffsetReset::Earliest,
            StartingOffsets::Latest => OffsetReset::Latest,
            StartingOffsets::Committed { fallback }
            | StartingOffsets::Specific { fallback, .. } => *fallback,
            // Partitions with no record at or after the timestamp start at the end.
            StartingOffsets::Timestamp(_) => OffsetReset::Latest,
        };
        props.set("auto.offset.reset", reset.as_str());
        props.set("enable.auto.commit", "false");
        props.set("enable.auto.offset.store", "false");
        for (k, v) in c.librdkafka.iter() {
            props.set(k, v);
        }
        props
    }

    /// `producer.delivery_timeout` as the producer gets it: with
    /// `exactly_once`, capped at `producer.transaction_timeout`, because
    /// librdkafka refuses a transactional producer whose
    /// `message.timeout.ms` exceeds its `transaction.timeout.ms` (the
    /// defaults, 5 min and 1 min, would). A value set above the cap is
    /// reported by validation; only the built-in default is capped quietly.
    pub fn effective_delivery_timeout(&self) -> Duration {
        let p = &self.producer;
        if self.sink.delivery_guarantee == crate::DeliveryGuarantee::ExactlyOnce {
            p.delivery_timeout.min(p.transaction_timeout)
        } else {
            p.delivery_timeout
        }
    }

    /// librdkafka properties of the sink producer: the shared settings,
    /// `[producer]`, then `[producer.librdkafka]`. `transactional.id` is not
    /// set here: the sink derives it from `sink.transactional_id_prefix`.
    pub fn client_config_for_producer(&self) -> ClientProperties {
        let mut props = self.client_config_for_admin();
        let p = &self.producer;
        props.set("acks", p.acks.as_str());
        props.set("enable.idempotence", p.idempotence.to_string());
        props.set("compression.type", p.compression.as_str());
        props.set("linger.ms", ms(p.linger));
        props.set("batch.size", p.batch_size.to_string());
        props.set("retries", p.retries.to_string());
        props.set("retry.backoff.ms", ms(p.retry_backoff));
        props.set(
            "max.in.flight.requests.per.connection",
            p.max_in_flight.to_string(),
        );
        props.set("message.timeout.ms", ms(self.effective_delivery_timeout()));
        props.set("request.timeout.ms", ms(p.request_timeout));
        props.set("transaction.timeout.ms", ms(p.transaction_timeout));
        for (k, v) in p.librdkafka.iter() {
            props.set(k, v);
        }
        props
    }
}
