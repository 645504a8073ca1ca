//! Cross-key (semantic) checks: what each value alone cannot tell.

use crate::client::{ClientKind, owner_of};
use crate::codec::{Format, FormatConfig};
use crate::error::{ConfigError, Problem, Problems, Source};
use crate::kafka::{OauthbearerMethod, SaslMechanism, TlsConfig};
use crate::load::{Provenance, render_path};
use crate::sink::DeliveryGuarantee;
use crate::source::StartingOffsets;
use crate::{Config, IsolationLevel, LibrdkafkaOptions, StopOffsets};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// Largest value librdkafka accepts for integer properties.
const LIBRDKAFKA_MAX: u128 = i32::MAX as u128;

pub(crate) struct Checker<'a> {
    provenance: Option<&'a Provenance>,
    /// Keys whose value was invalid (and replaced by its default): checks
    /// that read them are skipped, they would report on the default.
    broken: BTreeSet<String>,
    problems: Vec<Problem>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(provenance: Option<&'a Provenance>, broken: BTreeSet<String>) -> Self {
        Checker {
            provenance,
            broken,
            problems: Vec::new(),
        }
    }

    pub(crate) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    fn source(&self, key: &str) -> Source {
        match self.provenance {
            Some(p) => p.source_of(&key.split('.').map(str::to_string).collect::<Vec<_>>()),
            None => Source::Program,
        }
    }

    /// `key (set by …)`: names another key and where its value came from.
    fn named(&self, key: &str) -> String {
        match self.source(key) {
            Source::Default => format!("{key} (built-in default)"),
            Source::Program => key.to_string(),
            source => format!("{key} (set by {source})"),
        }
    }

    /// None of `keys` had an invalid value.
    fn usable(&self, keys: &[&str]) -> bool {
        keys.iter().all(|k| {
            !self.broken.iter().any(|b| {
                b == k || k.starts_with(&format!("{b}.")) || b.starts_with(&format!("{k}."))
            })
        })
    }

    fn report(&mut self, key: &str, message: impl Into<String>) {
        let source = self.source(key);
        self.problems.push(Problem {
            key: key.to_string(),
            source,
            message: message.into(),
        });
    }

    /// Reports under a key whose path contains a map key (quoted when dotted).
    fn report_path(&mut self, path: &[&str], message: impl Into<String>) {
        let owned: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        let source = match self.provenance {
            Some(p) => p.source_of(&owned),
            None => Source::Program,
        };
        self.problems.push(Problem {
            key: render_path(&owned),
            source,
            message: message.into(),
        });
    }

    pub(crate) fn run(&mut self, config: &Config) {
        self.kafka(config);
        self.consumer(config);
        self.producer(config);
        self.registry(config);
        self.source_section(config);
        self.sink(config);
        self.codec(config);
        self.dead_letter(config);
        self.metrics(config);
        self.logging(config);
    }

    fn kafka(&mut self, config: &Config) {
        let kafka = &config.kafka;
        if self.usable(&["kafka.brokers"]) {
            if kafka.brokers.is_empty() {
                self.report(
                    "kafka.brokers",
                    "must list at least one broker (`host:port`)",
                );
            }
            for broker in &kafka.brokers {
                let valid = broker
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
                if !valid {
                    self.report("kafka.brokers", format!("`{broker}` is not `host:port`"));
                }
            }
        }

        let protocol = kafka.security_protocol;
        let sasl = &kafka.sasl;
        if self.usable(&["kafka.security_protocol", "kafka.sasl"]) {
            if protocol.uses_sasl() {
                let missing: Vec<&str> = match sasl.mechanism {
                    SaslMechanism::Plain
                    | SaslMechanism::ScramSha256
                    | SaslMechanism::ScramSha512 => [
                        (
                            "kafka.sasl.username",
                            sasl.username.as_deref().is_none_or(str::is_empty),
                        ),
                        (
                            "kafka.sasl.password",
                            sasl.password.as_ref().is_none_or(|p| p.is_empty()),
                        ),
                    ]
                    .into_iter()
                    .filter(|(_, missing)| *missing)
                    .map(|(k, _)| k)
                    .collect(),
                    SaslMechanism::Oauthbearer
                        if sasl.oauthbearer_method == OauthbearerMethod::Oidc =>
                    {
                        [
                            (
                                "kafka.sasl.oauthbearer_client_id",
                                sasl.oauthbearer_client_id.is_none(),
                            ),
                            (
                                "kafka.sasl.oauthbearer_client_secret",
                                sasl.oauthbearer_client_secret.is_none(),
                            ),
                            (
                                "kafka.sasl.oauthbearer_token_endpoint_url",
                                sasl.oauthbearer_token_endpoint_url.is_none(),
                            ),
                        ]
                        .into_iter()
                        .filter(|(_, missing)| *missing)
                        .map(|(k, _)| k)
                        .collect()
                    }
                    SaslMechanism::Oauthbearer => Vec::new(),
                };
                if !missing.is_empty() {
                    self.report(
                        "kafka.security_protocol",
                        format!(
                            "`{protocol}` with SASL mechanism `{}` needs credentials: {} not set",
                            sasl.mechanism,
                            missing.join(" and ")
                        ),
                    );
                }
            } else if sasl.has_settings() {
                let first = [
                    ("kafka.sasl.username", sasl.username.is_some()),
                    ("kafka.sasl.password", sasl.password.is_some()),
                    (
                        "kafka.sasl.oauthbearer_client_id",
                        sasl.oauthbearer_client_id.is_some(),
                    ),
                    (
                        "kafka.sasl.oauthbearer_client_secret",
                        sasl.oauthbearer_client_secret.is_some(),
                    ),
                    (
                        "kafka.sasl.oauthbearer_token_endpoint_url",
                        sasl.oauthbearer_token_endpoint_url.is_some(),
                    ),
                    (
                        "kafka.sasl.oauthbearer_scope",
                        sasl.oauthbearer_scope.is_some(),
                    ),
                ]
                .into_iter()
                .find(|(_, set)| *set)
                .map_or("kafka.sasl", |(k, _)| k);
                let message = format!(
                    "SASL settings have no effect: {} is `{protocol}`; use `SASL_PLAINTEXT` or `SASL_SSL`",
                    self.named("kafka.security_protocol")
                );
                self.report(first, message);
            }
        }

        if self.usable(&["kafka.security_protocol", "kafka.ssl"]) {
            if !protocol.uses_tls() && kafka.ssl.has_settings() {
                let first = tls_first_set(&kafka.ssl, "kafka.ssl");
                let message = format!(
                    "TLS settings have no effect: {} is `{protocol}`; use `SSL` or `SASL_SSL`",
                    self.named("kafka.security_protocol")
                );
                self.report(&first, message);
            }
            if protocol.uses_tls() {
                self.tls(&kafka.ssl, "kafka.ssl");
            }
        }
    }

    fn tls(&mut self, tls: &TlsConfig, prefix: &str) {
        if !self.usable(&[prefix]) {
            return;
        }
        match (&tls.certificate_location, &tls.key_location) {
            (Some(_), None) => self.report(
                &format!("{prefix}.certificate_location"),
                format!("a client certificate needs its key: set {prefix}.key_location"),
            ),
            (None, Some(_)) => self.report(
                &format!("{prefix}.key_location"),
                format!("a client key needs its certificate: set {prefix}.certificate_location"),
            ),
            _ => {}
        }
        if tls.key_password.is_some() && tls.key_location.is_none() {
            self.report(
                &format!("{prefix}.key_password"),
                format!("has no effect without {prefix}.key_location"),
            );
        }
        for (name, path) in [
            ("ca_location", &tls.ca_location),
            ("certificate_location", &tls.certificate_location),
            ("key_location", &tls.key_location),
        ] {
            if let Some(path) = path {
                self.file_exists(&format!("{prefix}.{name}"), path);
            }
        }
    }

    fn file_exists(&mut self, key: &str, path: &Path) {
        if !path.is_file() {
            self.report(key, format!("file `{}` does not exist", path.display()));
        }
    }

    fn librdkafka_range(&mut self, key: &str, value: u128, unit: &str) {
        if self.usable(&[key]) && value > LIBRDKAFKA_MAX {
            self.report(
                key,
                format!("too large for librdkafka: at most {LIBRDKAFKA_MAX} {unit}"),
            );
        }
    }

    fn durations(&mut self, entries: &[(&str, Duration)]) {
        for (key, value) in entries {
            self.librdkafka_range(key, value.as_millis(), "ms");
        }
    }

    fn sizes(&mut self, entries: &[(&str, u64)]) {
        for (key, value) in entries {
            self.librdkafka_range(key, u128::from(*value), "bytes");
        }
    }

    fn passthrough(&mut self, options: &LibrdkafkaOptions, kind: ClientKind, section: &str) {
        if !self.usable(&[&format!("{section}.librdkafka")]) {
            return;
        }
        for (property, _) in options.iter() {
            let Some(owner) = owner_of(kind, property) else {
                continue;
            };
            let message = if owner.contains(' ') {
                format!(
                    "cannot be set: {owner} manages it (offsets are committed once the sink has written them)"
                )
            } else {
                format!("conflicts with the typed key {owner}; set {owner} instead")
            };
            self.report_path(&[section, "librdkafka", property], message);
        }
    }

    fn consumer(&mut self, config: &Config) {
        let c = &config.consumer;
        if self.usable(&["consumer.heartbeat_interval", "consumer.session_timeout"])
            && c.heartbeat_interval >= c.session_timeout
        {
            let message = format!(
                "must be shorter than {} = {}",
                self.named("consumer.session_timeout"),
                crate::serde_util::duration::format(c.session_timeout)
            );
            self.report("consumer.heartbeat_interval", message);
        }
        self.durations(&[
            ("consumer.session_timeout", c.session_timeout),
            ("consumer.heartbeat_interval", c.heartbeat_interval),
            ("consumer.max_poll_interval", c.max_poll_interval),
            ("consumer.fetch_max_wait", c.fetch_max_wait),
            ("consumer.fetch_queue_backoff", c.fetch_queue_backoff),
        ]);
        self.sizes(&[
            ("consumer.fetch_min_bytes", c.fetch_min_bytes),
            ("consumer.fetch_max_bytes", c.fetch_max_bytes),
            (
                "consumer.max_partition_fetch_bytes",
                c.max_partition_fetch_bytes,
            ),
            ("consumer.queued_max_bytes", c.queued_max_bytes),
        ]);
        self.passthrough(&c.librdkafka, ClientKind::Consumer, "consumer");
    }

    fn producer(&mut self, config: &Config) {
        let p = &config.producer;
        if self.usable(&["producer.idempotence"]) && p.idempotence {
            if self.usable(&["producer.acks"]) && p.acks != crate::Acks::All {
                let message = format!(
                    "must be `all` when {} is true (idempotence needs every in-sync replica), found `{}`",
                    self.named("producer.idempotence"),
                    p.acks
                );
                self.report("producer.acks", message);
            }
            if self.usable(&["producer.max_in_flight"]) && p.max_in_flight > 5 {
                let message = format!(
                    "must be at most 5 when {} is true",
                    self.named("producer.idempotence")
                );
                self.report("producer.max_in_flight", message);
            }
            if self.usable(&["producer.retries"]) && p.retries == 0 {
                let message = format!(
                    "must be at least 1 when {} is true",
                    self.named("producer.idempotence")
                );
                self.report("producer.retries", message);
            }
        }
        if self.usable(&["producer.max_in_flight"]) && p.max_in_flight == 0 {
            self.report("producer.max_in_flight", "must be at least 1");
        }
        self.durations(&[
            ("producer.linger", p.linger),
            ("producer.retry_backoff", p.retry_backoff),
            ("producer.delivery_timeout", p.delivery_timeout),
            ("producer.request_timeout", p.request_timeout),
            ("producer.transaction_timeout", p.transaction_timeout),
        ]);
        self.sizes(&[("producer.batch_size", p.batch_size)]);
        self.librdkafka_range("producer.retries", u128::from(p.retries), "retries");
        self.passthrough(&p.librdkafka, ClientKind::Producer, "producer");
    }

    fn registry(&mut self, config: &Config) {
        let r = &config.schema_registry;
        if self.usable(&["schema_registry.url"]) {
            if r.url.is_empty() {
                self.report("schema_registry.url", "must list at least one URL");
            }
            for url in &r.url {
                let lower = url.to_ascii_lowercase();
                let host = lower
                    .strip_prefix("http://")
                    .or_else(|| lower.strip_prefix("https://"));
                if host.is_none_or(str::is_empty) {
                    self.report(
                        "schema_registry.url",
                        format!("`{url}` is not an `http://` or `https://` URL"),
                    );
                }
            }
        }
        if self.usable(&["schema_registry.username", "schema_registry.password"]) {
            match (&r.username, &r.password) {
                (Some(_), None) => self.report(
                    "schema_registry.username",
                    "basic auth needs schema_registry.password too",
                ),
                (None, Some(_)) => self.report(
                    "schema_registry.password",
                    "basic auth needs schema_registry.username too",
                ),
                _ => {}
            }
        }
        if self.usable(&["schema_registry.bearer_token", "schema_registry.username"])
            && r.bearer_token.is_some()
            && r.username.is_some()
        {
            let message = format!(
                "cannot be combined with basic auth ({}); choose one",
                self.named("schema_registry.username")
            );
            self.report("schema_registry.bearer_token", message);
        }
        self.tls(&r.ssl, "schema_registry.ssl");
    }

    fn source_section(&mut self, config: &Config) {
        let s = &config.source;
        if self.usable(&["source.topics", "source.topic_regex"])
            && !s.topics.is_empty()
            && s.topic_regex.is_some()
        {
            let message = format!(
                "cannot be combined with {}; use one of them",
                self.named("source.topics")
            );
            self.report("source.topic_regex", message);
        }
        if self.usable(&["source.topics"]) {
            for topic in &s.topics {
                if let Some(reason) = invalid_topic(topic) {
                    self.report(
                        "source.topics",
                        format!("`{topic}` is not a valid topic name: {reason}"),
                    );
                }
            }
        }
        if self.usable(&["source.topic_regex"])
            && let Some(pattern) = &s.topic_regex
            && let Err(e) = regex::Regex::new(pattern)
        {
            let detail = e
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string();
            self.report(
                "source.topic_regex",
                format!("invalid regular expression `{pattern}`: {detail}"),
            );
        }
        if self.usable(&["source.starting_offsets", "consumer.group_id"])
            && s.starting_offsets.uses_committed()
            && config.consumer.group_id.trim().is_empty()
        {
            self.report(
                "source.starting_offsets",
                "committed offsets need a consumer group: set consumer.group_id (KAFKA_GROUP_ID)",
            );
        }
        if self.usable(&["source.starting_offsets", "source.topics"])
            && let StartingOffsets::Specific { offsets, .. } = &s.starting_offsets
            && !s.topics.is_empty()
        {
            for topic in offsets.keys().filter(|t| !s.topics.contains(t)) {
                self.report(
                    "source.starting_offsets",
                    format!("has offsets for topic `{topic}`, which source.topics does not list"),
                );
            }
        }
        if self.usable(&["source.starting_offsets", "source.stop_offsets"])
            && let (StartingOffsets::Timestamp(start), Some(StopOffsets::Timestamp(stop))) =
                (&s.starting_offsets, &s.stop_offsets)
            && stop <= start
        {
            self.report(
                "source.stop_offsets",
                format!("stop timestamp {stop} is not after the starting timestamp {start}"),
            );
        }
    }

    fn sink(&mut self, config: &Config) {
        let sink = &config.sink;
        if let Some(topic) = &sink.topic
            && self.usable(&["sink.topic"])
        {
            self.topic_template("sink.topic", topic);
        }
        for (key, value) in [
            ("sink.transaction_max_records", sink.transaction_max_records),
            ("sink.max_in_flight_records", sink.max_in_flight_records),
            ("sink.max_in_flight_bytes", sink.max_in_flight_bytes),
        ] {
            if self.usable(&[key]) && value == 0 {
                self.report(key, "must be at least 1");
            }
        }
        if !self.usable(&["sink.delivery_guarantee"])
            || sink.delivery_guarantee != DeliveryGuarantee::ExactlyOnce
        {
            return;
        }
        if self.usable(&["producer.idempotence"]) && !config.producer.idempotence {
            let message = format!(
                "`exactly_once` needs an idempotent producer, but {} is false",
                self.named("producer.idempotence")
            );
            self.report("sink.delivery_guarantee", message);
        }
        if self.usable(&["consumer.group_id"]) && config.consumer.group_id.trim().is_empty() {
            self.report(
                "sink.delivery_guarantee",
                "`exactly_once` needs a consumer group (its metadata fences zombie instances): set consumer.group_id",
            );
        }
        if self.usable(&["consumer.isolation_level"])
            && config.consumer.isolation_level != IsolationLevel::ReadCommitted
        {
            let message = format!(
                "must be `read_committed` when {} is `exactly_once`",
                self.named("sink.delivery_guarantee")
            );
            self.report("consumer.isolation_level", message);
        }
        if self.usable(&["sink.transactional_id_prefix"])
            && sink.transactional_id_prefix.trim().is_empty()
        {
            self.report(
                "sink.transactional_id_prefix",
                "must not be empty with `exactly_once`",
            );
        }
        let delivery_timeout = config.producer.delivery_timeout;
        if self.usable(&["producer.delivery_timeout", "producer.transaction_timeout"])
            && delivery_timeout > config.producer.transaction_timeout
            && delivery_timeout != crate::ProducerConfig::default().delivery_timeout
        {
            let message = format!(
                "must not exceed {} = {} when {} is `exactly_once` (librdkafka's message.timeout.ms <= transaction.timeout.ms)",
                self.named("producer.transaction_timeout"),
                crate::serde_util::duration::format(config.producer.transaction_timeout),
                self.named("sink.delivery_guarantee"),
            );
            self.report("producer.delivery_timeout", message);
        }
        if self.usable(&[
            "sink.transaction_max_duration",
            "producer.transaction_timeout",
        ]) && sink.transaction_max_duration >= config.producer.transaction_timeout
        {
            let message = format!(
                "must be shorter than {} = {}",
                self.named("producer.transaction_timeout"),
                crate::serde_util::duration::format(config.producer.transaction_timeout)
            );
            self.report("sink.transaction_max_duration", message);
        }
    }

    fn topic_template(&mut self, key: &str, template: &str) {
        let rest = template.replace("{topic}", "");
        if let Some(start) = rest.find('{') {
            let placeholder: String = rest[start..].chars().take_while(|c| *c != '}').collect();
            self.report(
                key,
                format!("unknown placeholder `{placeholder}}}`; only `{{topic}}` is replaced"),
            );
            return;
        }
        // The literal parts must make a legal name around any source topic.
        if let Some(reason) = invalid_topic(&template.replace("{topic}", "t")) {
            self.report(
                key,
                format!("`{template}` does not make a valid topic name: {reason}"),
            );
        }
    }

    fn codec(&mut self, config: &Config) {
        for (side, format) in [("key", &config.codec.key), ("value", &config.codec.value)] {
            let prefix = format!("codec.{side}");
            if !self.usable(&[&prefix]) {
                continue;
            }
            self.format(&prefix, format);
        }
    }

    fn format(&mut self, prefix: &str, f: &FormatConfig) {
        let fixed = [f.format, f.output()].contains(&Format::AvroFixedSchema);
        if fixed && f.schema_file.is_none() {
            self.report(
                &format!("{prefix}.schema_file"),
                "required by format `avro-fixed-schema` (the schema is not in the records)",
            );
        }
        if f.version.is_some() && f.subject.is_none() {
            self.report(
                &format!("{prefix}.version"),
                format!("pins a version of no subject: set {prefix}.subject too"),
            );
        }
        if f.reader_schema_file.is_some() && !f.format.is_avro() {
            self.report(
                &format!("{prefix}.reader_schema_file"),
                format!(
                    "applies only to Avro formats, and {prefix}.format is `{}`",
                    f.format
                ),
            );
        }
        for (name, path) in [
            ("schema_file", &f.schema_file),
            ("reader_schema_file", &f.reader_schema_file),
        ] {
            if let Some(path) = path {
                self.file_exists(&format!("{prefix}.{name}"), path);
            }
        }
    }

    fn dead_letter(&mut self, config: &Config) {
        if self.usable(&["dead_letter.topic"]) {
            self.topic_template("dead_letter.topic", &config.dead_letter.topic);
        }
    }

    fn metrics(&mut self, config: &Config) {
        if let Some(endpoint) = &config.metrics.otlp_endpoint
            && self.usable(&["metrics.otlp_endpoint"])
        {
            let lower = endpoint.to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                self.report(
                    "metrics.otlp_endpoint",
                    format!("`{endpoint}` is not an `http://` or `https://` URL"),
                );
            }
        }
        if self.usable(&["metrics.otlp_interval"]) && config.metrics.otlp_interval.is_zero() {
            self.report("metrics.otlp_interval", "must be longer than 0s");
        }
    }

    fn logging(&mut self, config: &Config) {
        if !self.usable(&["logging.level"]) {
            return;
        }
        if let Err(message) = check_filter(&config.logging.level) {
            self.report("logging.level", message);
        }
    }
}

const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// A light check of `tracing` filter syntax: `level`, `target`,
/// `target=level`, comma-separated; span filters (`[…]`) are not checked.
fn check_filter(filter: &str) -> Result<(), String> {
    if filter.trim().is_empty() {
        return Err("must not be empty (for example `info`)".to_string());
    }
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if directive.contains('[') {
            continue;
        }
        let level = match directive.rsplit_once('=') {
            Some((_, level)) => level,
            None if LEVELS.contains(&directive.to_ascii_lowercase().as_str()) => continue,
            None if directive
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-')) =>
            {
                continue;
            }
            None => directive,
        };
        if !LEVELS.contains(&level.trim().to_ascii_lowercase().as_str()) {
            return Err(format!(
                "invalid filter directive `{directive}`: unknown level `{level}`, expected {}",
                crate::serde_util::one_of(LEVELS)
            ));
        }
    }
    Ok(())
}

/// Why `name` is not a legal Kafka topic name, if it is not.
fn invalid_topic(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("empty".to_string());
    }
    if name == "." || name == ".." {
        return Some("`.` and `..` are reserved".to_string());
    }
    if name.len() > 249 {
        return Some("longer than 249 characters".to_string());
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .map(|c| format!("`{c}` is not allowed (use letters, digits, `.`, `_`, `-`)"))
}

fn tls_first_set(tls: &TlsConfig, prefix: &str) -> String {
    let name = [
        ("ca_location", tls.ca_location.is_some()),
        ("certificate_location", tls.certificate_location.is_some()),
        ("key_location", tls.key_location.is_some()),
        ("key_password", tls.key_password.is_some()),
    ]
    .into_iter()
    .find(|(_, set)| *set)
    .map_or("ca_location", |(n, _)| n);
    format!("{prefix}.{name}")
}

impl Config {
    /// Runs the cross-key checks on a configuration built in code (what
    /// [`Config::load`] runs after extraction). Problems name keys; their
    /// source is [`Source::Program`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut checker = Checker::new(None, BTreeSet::new());
        checker.run(self);
        let problems = checker.into_problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Validate(Problems(problems)))
        }
    }
}
