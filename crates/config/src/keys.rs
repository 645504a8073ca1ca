//! The key tree: every configuration key with its kind and a one-line
//! description, the plain environment aliases, and "did you mean" lookups.
//!
//! The table drives the unknown-key check, the typing of environment and
//! `--set` values, and the reference in `docs/configuration.md`. Tests check
//! that it lists exactly the fields of [`crate::Config`].

use crate::client::Acks;
use crate::codec::{Format, SubjectNameStrategy};
use crate::kafka::{OauthbearerMethod, SaslMechanism, SecurityProtocol};
use crate::observability::LogFormat;
use crate::serde_util::closest;
use crate::sink::{DeliveryGuarantee, Tolerance};
use crate::{IsolationLevel, client::Compression};

/// What a key holds; decides how an environment or `--set` string is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Secret,
    Path,
    Bool,
    Integer,
    Duration,
    Size,
    List,
    Enum(&'static [&'static str]),
    Address,
    Version,
    /// librdkafka passthrough: a table of string values, keys are free.
    Options,
    /// Starting or stop offsets: a string or a small table, parsed by its type.
    Offsets,
    /// `transforms`: an array of tables kept raw.
    Tables,
}

impl Kind {
    /// The value's inner keys are not part of the key tree.
    pub(crate) fn is_opaque(self) -> bool {
        matches!(self, Kind::Options | Kind::Offsets | Kind::Tables)
    }

    /// How the reference names the type.
    pub(crate) fn describe(self) -> String {
        match self {
            Kind::String => "string".to_string(),
            Kind::Secret => "secret string".to_string(),
            Kind::Path => "path".to_string(),
            Kind::Bool => "bool".to_string(),
            Kind::Integer => "integer".to_string(),
            Kind::Duration => "duration".to_string(),
            Kind::Size => "size".to_string(),
            Kind::List => "list of strings".to_string(),
            Kind::Enum(values) => values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(" \\| "),
            Kind::Address => "`ip:port`".to_string(),
            Kind::Version => "integer or `latest`".to_string(),
            Kind::Options => "table of strings".to_string(),
            Kind::Offsets => "offsets (see below)".to_string(),
            Kind::Tables => "array of tables".to_string(),
        }
    }
}

/// One key of the tree.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySpec {
    pub(crate) path: &'static str,
    pub(crate) kind: Kind,
    pub(crate) doc: &'static str,
}

const fn key(path: &'static str, kind: Kind, doc: &'static str) -> KeySpec {
    KeySpec { path, kind, doc }
}

pub(crate) use table::KEYS;

mod table {
    use super::Kind::*;
    use super::*;

    /// Every leaf key, in `config show` order.
    pub(crate) const KEYS: &[KeySpec] = &[
        key(
            "shutdown_timeout",
            Duration,
            "How long a stopping pipeline may drain and commit before it exits.",
        ),
        key(
            "kafka.brokers",
            List,
            "Bootstrap servers, `host:port` (`bootstrap.servers`).",
        ),
        key(
            "kafka.client_id",
            String,
            "`client.id`, shown in broker logs and quotas.",
        ),
        key("kafka.socket_timeout", Duration, "`socket.timeout.ms`."),
        key(
            "kafka.connection_setup_timeout",
            Duration,
            "`socket.connection.setup.timeout.ms`.",
        ),
        key("kafka.metadata_max_age", Duration, "`metadata.max.age.ms`."),
        key(
            "kafka.security_protocol",
            Enum(SecurityProtocol::VALUES),
            "`security.protocol`.",
        ),
        key(
            "kafka.sasl.mechanism",
            Enum(SaslMechanism::VALUES),
            "`sasl.mechanisms` (with `SASL_*` protocols).",
        ),
        key(
            "kafka.sasl.username",
            String,
            "`sasl.username` (PLAIN, SCRAM).",
        ),
        key(
            "kafka.sasl.password",
            Secret,
            "`sasl.password` (PLAIN, SCRAM).",
        ),
        key(
            "kafka.sasl.oauthbearer_method",
            Enum(OauthbearerMethod::VALUES),
            "`sasl.oauthbearer.method`.",
        ),
        key(
            "kafka.sasl.oauthbearer_client_id",
            String,
            "`sasl.oauthbearer.client.id` (OIDC).",
        ),
        key(
            "kafka.sasl.oauthbearer_client_secret",
            Secret,
            "`sasl.oauthbearer.client.secret` (OIDC).",
        ),
        key(
            "kafka.sasl.oauthbearer_token_endpoint_url",
            String,
            "`sasl.oauthbearer.token.endpoint.url` (OIDC).",
        ),
        key(
            "kafka.sasl.oauthbearer_scope",
            String,
            "`sasl.oauthbearer.scope` (OIDC).",
        ),
        key(
            "kafka.ssl.ca_location",
            Path,
            "`ssl.ca.location`: CA bundle (PEM); unset uses the system store.",
        ),
        key(
            "kafka.ssl.certificate_location",
            Path,
            "`ssl.certificate.location`: client certificate (PEM).",
        ),
        key(
            "kafka.ssl.key_location",
            Path,
            "`ssl.key.location`: client private key (PEM).",
        ),
        key("kafka.ssl.key_password", Secret, "`ssl.key.password`."),
        key(
            "kafka.ssl.endpoint_identification",
            Bool,
            "Verify the broker host name (`ssl.endpoint.identification.algorithm` `https`/`none`).",
        ),
        key(
            "consumer.group_id",
            String,
            "`group.id`; needed for committed offsets and exactly-once.",
        ),
        key(
            "consumer.isolation_level",
            Enum(IsolationLevel::VALUES),
            "`isolation.level`.",
        ),
        key(
            "consumer.session_timeout",
            Duration,
            "`session.timeout.ms`.",
        ),
        key(
            "consumer.heartbeat_interval",
            Duration,
            "`heartbeat.interval.ms`; below the session timeout.",
        ),
        key(
            "consumer.max_poll_interval",
            Duration,
            "`max.poll.interval.ms`.",
        ),
        key("consumer.fetch_min_bytes", Size, "`fetch.min.bytes`."),
        key("consumer.fetch_max_bytes", Size, "`fetch.max.bytes`."),
        key(
            "consumer.max_partition_fetch_bytes",
            Size,
            "`max.partition.fetch.bytes`.",
        ),
        key("consumer.fetch_max_wait", Duration, "`fetch.wait.max.ms`."),
        key(
            "consumer.fetch_queue_backoff",
            Duration,
            "`fetch.queue.backoff.ms` (librdkafka's 1 s default starves pipelines).",
        ),
        key(
            "consumer.queued_max_bytes",
            Size,
            "`queued.max.messages.kbytes` (rounded up to KiB).",
        ),
        key(
            "consumer.librdkafka",
            Options,
            "Extra librdkafka consumer properties; keys owned by typed settings are rejected.",
        ),
        key(
            "producer.acks",
            Enum(Acks::VALUES),
            "`acks` (`-1` is accepted for `all`).",
        ),
        key("producer.idempotence", Bool, "`enable.idempotence`."),
        key(
            "producer.compression",
            Enum(Compression::VALUES),
            "`compression.type`.",
        ),
        key("producer.linger", Duration, "`linger.ms`."),
        key("producer.batch_size", Size, "`batch.size`."),
        key("producer.retries", Integer, "`retries`."),
        key("producer.retry_backoff", Duration, "`retry.backoff.ms`."),
        key(
            "producer.max_in_flight",
            Integer,
            "`max.in.flight.requests.per.connection` (at most 5 with idempotence).",
        ),
        key(
            "producer.delivery_timeout",
            Duration,
            "`message.timeout.ms` (Java: `delivery.timeout.ms`); with `exactly_once` the default is capped at `producer.transaction_timeout`.",
        ),
        key(
            "producer.request_timeout",
            Duration,
            "`request.timeout.ms`.",
        ),
        key(
            "producer.transaction_timeout",
            Duration,
            "`transaction.timeout.ms` (exactly-once).",
        ),
        key(
            "producer.librdkafka",
            Options,
            "Extra librdkafka producer properties; keys owned by typed settings are rejected.",
        ),
        key(
            "schema_registry.url",
            List,
            "Registry base URL, or several tried in order.",
        ),
        key(
            "schema_registry.username",
            String,
            "Basic auth user (Confluent Cloud: API key).",
        ),
        key(
            "schema_registry.password",
            Secret,
            "Basic auth password (Confluent Cloud: API secret).",
        ),
        key(
            "schema_registry.bearer_token",
            Secret,
            "Bearer token (instead of basic auth).",
        ),
        key(
            "schema_registry.ssl.ca_location",
            Path,
            "CA bundle (PEM) to verify the registry.",
        ),
        key(
            "schema_registry.ssl.certificate_location",
            Path,
            "Client certificate (PEM) for mutual TLS.",
        ),
        key(
            "schema_registry.ssl.key_location",
            Path,
            "Client private key (PEM) for mutual TLS.",
        ),
        key(
            "schema_registry.ssl.key_password",
            Secret,
            "Password of an encrypted client key.",
        ),
        key(
            "schema_registry.ssl.endpoint_identification",
            Bool,
            "Verify the registry host name.",
        ),
        key(
            "schema_registry.request_timeout",
            Duration,
            "Timeout of one HTTP request.",
        ),
        key(
            "schema_registry.retries",
            Integer,
            "Retries of a failed request after the first try.",
        ),
        key(
            "schema_registry.retry_backoff",
            Duration,
            "Wait before the first retry (doubles each retry).",
        ),
        key(
            "schema_registry.latest_cache_ttl",
            Duration,
            "How long \"latest version\" lookups are cached.",
        ),
        key(
            "source.topics",
            List,
            "Topics to read. Exclusive with `topic_regex`.",
        ),
        key(
            "source.topic_regex",
            String,
            "Read every topic whose whole name matches. Exclusive with `topics`.",
        ),
        key(
            "source.starting_offsets",
            Offsets,
            "Where to start: `earliest`, `latest`, `committed`, `{ committed = \"latest\" }`, `{ timestamp = … }`, `{ offsets = … }`.",
        ),
        key(
            "source.stop_offsets",
            Offsets,
            "Where a bounded run stops: `latest-at-start`, `{ timestamp = … }`, `{ offsets = … }`; unset: never.",
        ),
        key(
            "source.partition_discovery_interval",
            Duration,
            "How often new partitions (and regex topics) are looked for; `0s` turns it off.",
        ),
        key(
            "sink.topic",
            String,
            "Output topic; `{topic}` is the source topic. Unset: transforms must route.",
        ),
        key(
            "sink.delivery_guarantee",
            Enum(DeliveryGuarantee::VALUES),
            "At-least-once (idempotent) or exactly-once (transactions).",
        ),
        key(
            "sink.transactional_id_prefix",
            String,
            "Exactly-once: transactional ids are `<prefix>-<instance>`.",
        ),
        key(
            "sink.transaction_max_records",
            Integer,
            "Exactly-once: commit after this many records…",
        ),
        key(
            "sink.transaction_max_duration",
            Duration,
            "…or after this long.",
        ),
        key(
            "sink.max_in_flight_records",
            Integer,
            "At most this many records sent but not acknowledged.",
        ),
        key(
            "sink.max_in_flight_bytes",
            Size,
            "At most this many bytes sent but not acknowledged.",
        ),
        key(
            "codec.key.format",
            Enum(Format::VALUES),
            "Format of input keys.",
        ),
        key(
            "codec.key.output_format",
            Enum(Format::VALUES),
            "Format of output keys; unset: same as `format`.",
        ),
        key(
            "codec.key.schema_file",
            Path,
            "Avro schema (`.avsc`) for `avro-fixed-schema`, or the output schema.",
        ),
        key(
            "codec.key.reader_schema_file",
            Path,
            "Reader schema (`.avsc`) decoded keys are resolved to.",
        ),
        key(
            "codec.key.subject_name_strategy",
            Enum(SubjectNameStrategy::VALUES),
            "Output subject naming.",
        ),
        key(
            "codec.key.auto_register",
            Bool,
            "Register output schemas the subject lacks.",
        ),
        key("codec.key.subject", String, "Pinned output subject."),
        key(
            "codec.key.version",
            Version,
            "Pinned output schema version of `subject`.",
        ),
        key(
            "codec.value.format",
            Enum(Format::VALUES),
            "Format of input values.",
        ),
        key(
            "codec.value.output_format",
            Enum(Format::VALUES),
            "Format of output values; unset: same as `format`.",
        ),
        key(
            "codec.value.schema_file",
            Path,
            "Avro schema (`.avsc`) for `avro-fixed-schema`, or the output schema.",
        ),
        key(
            "codec.value.reader_schema_file",
            Path,
            "Reader schema (`.avsc`) decoded values are resolved to.",
        ),
        key(
            "codec.value.subject_name_strategy",
            Enum(SubjectNameStrategy::VALUES),
            "Output subject naming.",
        ),
        key(
            "codec.value.auto_register",
            Bool,
            "Register output schemas the subject lacks.",
        ),
        key("codec.value.subject", String, "Pinned output subject."),
        key(
            "codec.value.version",
            Version,
            "Pinned output schema version of `subject`.",
        ),
        key(
            "dead_letter.enabled",
            Bool,
            "Write failed records to the dead-letter topic.",
        ),
        key(
            "dead_letter.topic",
            String,
            "Dead-letter topic; `{topic}` is the source topic.",
        ),
        key(
            "dead_letter.tolerance",
            Enum(Tolerance::VALUES),
            "`none`: stop at the first failed record; `all`: skip (dead-letter) and go on.",
        ),
        key(
            "dead_letter.context_headers",
            Bool,
            "Add `__connect.errors.*` and `kbridge.error.*` headers.",
        ),
        key(
            "metrics.enabled",
            Bool,
            "Serve `/metrics` and the health endpoints.",
        ),
        key(
            "metrics.listen",
            Address,
            "Listen address of the metrics and health HTTP server.",
        ),
        key(
            "metrics.otlp_endpoint",
            String,
            "OTLP/HTTP endpoint to push metrics to; unset: no push.",
        ),
        key("metrics.otlp_interval", Duration, "OTLP push interval."),
        key(
            "logging.level",
            String,
            "Level or `tracing` filter (`info,kbridge_source=debug`).",
        ),
        key(
            "logging.format",
            Enum(LogFormat::VALUES),
            "`pretty` lines or `json` objects.",
        ),
        key(
            "transforms",
            Tables,
            "Transform steps, kept raw here and parsed by the pipeline.",
        ),
    ];
}

/// How a plain environment alias is turned into its key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AliasValue {
    /// As the key's own environment variable would be.
    AsKey,
    /// Whole milliseconds, for a duration key.
    Millis,
}

/// A plain environment variable name accepted for a key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Alias {
    pub(crate) var: &'static str,
    pub(crate) key: &'static str,
    pub(crate) value: AliasValue,
}

const fn alias(var: &'static str, key: &'static str, value: AliasValue) -> Alias {
    Alias { var, key, value }
}

/// The plain aliases, lowest precedence first: a later alias wins over an
/// earlier one for the same key, and every `KBRIDGE_…` variable wins over
/// every alias.
pub(crate) const ALIASES: &[Alias] = &[
    alias("RUST_LOG", "logging.level", AliasValue::AsKey),
    alias(
        "KAFKA_BOOTSTRAP_SERVERS",
        "kafka.brokers",
        AliasValue::AsKey,
    ),
    alias("KAFKA_BROKERS", "kafka.brokers", AliasValue::AsKey),
    alias("KAFKA_TOPIC", "source.topics", AliasValue::AsKey),
    alias("KAFKA_GROUP_ID", "consumer.group_id", AliasValue::AsKey),
    alias(
        "KAFKA_AUTO_OFFSET_RESET",
        "source.starting_offsets",
        AliasValue::AsKey,
    ),
    alias(
        "KAFKA_PARTITION_DISCOVERY_INTERVAL_MS",
        "source.partition_discovery_interval",
        AliasValue::Millis,
    ),
    alias(
        "KAFKA_SECURITY_PROTOCOL",
        "kafka.security_protocol",
        AliasValue::AsKey,
    ),
    alias(
        "KAFKA_SASL_MECHANISM",
        "kafka.sasl.mechanism",
        AliasValue::AsKey,
    ),
    alias(
        "KAFKA_SASL_USERNAME",
        "kafka.sasl.username",
        AliasValue::AsKey,
    ),
    alias(
        "KAFKA_SASL_PASSWORD",
        "kafka.sasl.password",
        AliasValue::AsKey,
    ),
    alias(
        "SCHEMA_REGISTRY_URL",
        "schema_registry.url",
        AliasValue::AsKey,
    ),
];

/// Prefix of the structured environment variables.
pub const ENV_PREFIX: &str = "KBRIDGE_";

/// `KBRIDGE_` variables that are not configuration keys and are ignored:
/// `KBRIDGE_CONFIG` (the CLI's `--config`), `KBRIDGE_BIN` (the binary the
/// integration tests run).
pub const RESERVED_ENV_VARS: &[&str] = &["KBRIDGE_CONFIG", "KBRIDGE_BIN"];

/// The `KBRIDGE_…` variable of a key: `kafka.sasl.username` →
/// `KBRIDGE_KAFKA__SASL__USERNAME`.
pub(crate) fn env_var_of(path: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        path.to_ascii_uppercase().replace('.', "__")
    )
}

/// Where a path lands in the key tree.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup {
    /// Exactly a leaf key.
    Leaf(KeySpec),
    /// Below an opaque leaf (a passthrough map entry, an offsets field).
    Inside,
    /// A section (a prefix of some keys).
    Section,
    /// Not a key.
    Unknown,
}

pub(crate) fn lookup<S: AsRef<str>>(path: &[S]) -> Lookup {
    let joined = path.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(".");
    for spec in KEYS {
        if spec.path == joined {
            return Lookup::Leaf(*spec);
        }
    }
    for depth in (1..path.len()).rev() {
        let prefix = path[..depth]
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(".");
        if let Some(spec) = KEYS.iter().find(|s| s.path == prefix) {
            return if spec.kind.is_opaque() {
                Lookup::Inside
            } else {
                Lookup::Unknown
            };
        }
    }
    let section = format!("{joined}.");
    if KEYS.iter().any(|s| s.path.starts_with(&section)) {
        Lookup::Section
    } else {
        Lookup::Unknown
    }
}

/// The kind of the key at `path`, if it is a leaf.
pub(crate) fn kind_of<S: AsRef<str>>(path: &[S]) -> Option<Kind> {
    match lookup(path) {
        Lookup::Leaf(spec) => Some(spec.kind),
        _ => None,
    }
}

/// The names directly below a section (`""` for the top level).
pub(crate) fn children(section: &str) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for spec in KEYS {
        let rest = if section.is_empty() {
            Some(spec.path)
        } else {
            spec.path
                .strip_prefix(section)
                .and_then(|r| r.strip_prefix('.'))
        };
        if let Some(rest) = rest {
            let name = rest.split('.').next().unwrap_or(rest);
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| *c != '.' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The message for an unknown key: the likely intended key (with its
/// `KBRIDGE_…` name when `from_env`), else the valid names at that level.
pub(crate) fn unknown_key_message(path: &[String], from_env: bool) -> String {
    let joined = path.join(".");
    // `KBRIDGE_KAFKA_BROKERS` (one underscore): the same letters as a real key.
    let flat = squash(&joined);
    let candidates = KEYS.iter().map(|s| s.path).chain(
        KEYS.iter()
            .flat_map(|s| s.path.match_indices('.').map(move |(i, _)| &s.path[..i])),
    );
    let mut suggestion = candidates
        .clone()
        .find(|c| squash(c) == flat)
        .map(str::to_string);
    let (parent, last) = match path.split_last() {
        Some((last, parent)) => (parent.join("."), last.as_str()),
        None => (String::new(), ""),
    };
    let siblings = children(&parent);
    if suggestion.is_none() {
        suggestion = closest(last, siblings.iter().copied()).map(|name| {
            if parent.is_empty() {
                name.to_string()
            } else {
                format!("{parent}.{name}")
            }
        });
    }
    if suggestion.is_none() {
        // The right name in the wrong section: `kafka.group_id`.
        suggestion = KEYS
            .iter()
            .find(|s| s.path.rsplit('.').next() == Some(last))
            .map(|s| s.path.to_string());
    }
    match suggestion {
        Some(s) if from_env => format!("unknown key, did you mean `{s}` ({})?", env_var_of(&s)),
        Some(s) => format!("unknown key, did you mean `{s}`?"),
        None if parent.is_empty() => format!(
            "unknown key, expected {}",
            crate::serde_util::one_of(&siblings)
        ),
        None => format!(
            "unknown key, `{parent}` has {}",
            crate::serde_util::one_of(&siblings)
        ),
    }
}

/// The Markdown table of every key: type, default, environment variables,
/// description. `docs/configuration.md` embeds it (a test keeps it current).
pub fn reference_markdown() -> String {
    let defaults = serde_json::to_value(crate::Config::default()).unwrap_or_default();
    let mut out = String::from(
        "| Key | Type | Default | Environment | Description |\n|---|---|---|---|---|\n",
    );
    for spec in KEYS {
        let mut value = &defaults;
        for segment in spec.path.split('.') {
            value = value.get(segment).unwrap_or(&serde_json::Value::Null);
        }
        let default = match value {
            serde_json::Value::Null => "unset".to_string(),
            other => format!("`{other}`"),
        };
        let mut env = vec![format!("`{}`", env_var_of(spec.path))];
        env.extend(
            ALIASES
                .iter()
                .rev()
                .filter(|a| a.key == spec.path)
                .map(|a| format!("`{}`", a.var)),
        );
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            spec.path,
            spec.kind.describe(),
            default.replace('|', "\\|"),
            env.join("<br>"),
            spec.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> Vec<String> {
        path.split('.').map(str::to_string).collect()
    }

    fn unknown_key_message(from_env: bool, path: &[String]) -> String {
        super::unknown_key_message(path, from_env)
    }

    #[test]
    fn lookup_distinguishes_leaves_sections_and_map_entries() {
        assert!(matches!(lookup(&p("kafka.brokers")), Lookup::Leaf(_)));
        assert!(matches!(lookup(&p("kafka.sasl")), Lookup::Section));
        assert!(matches!(
            lookup(&p("consumer.librdkafka.fetch.min.bytes")),
            Lookup::Inside
        ));
        assert!(matches!(lookup(&p("kafka.brokers.x")), Lookup::Unknown));
        assert!(matches!(lookup(&p("kafak")), Lookup::Unknown));
    }

    #[test]
    fn unknown_keys_get_the_likely_intended_key() {
        assert_eq!(
            unknown_key_message(false, &p("kafka.brokerz")),
            "unknown key, did you mean `kafka.brokers`?"
        );
        assert_eq!(
            unknown_key_message(false, &p("kafka_brokers")),
            "unknown key, did you mean `kafka.brokers`?"
        );
        assert_eq!(
            unknown_key_message(false, &p("kafka.group_id")),
            "unknown key, did you mean `consumer.group_id`?"
        );
        assert_eq!(
            unknown_key_message(false, &p("kafak")),
            "unknown key, did you mean `kafka`?"
        );
        assert_eq!(
            unknown_key_message(true, &p("kafka_brokers")),
            "unknown key, did you mean `kafka.brokers` (KBRIDGE_KAFKA__BROKERS)?"
        );
        assert_eq!(
            unknown_key_message(false, &p("logging.zzz")),
            "unknown key, `logging` has `level` or `format`"
        );
    }

    #[test]
    fn env_names_follow_the_double_underscore_rule() {
        assert_eq!(
            env_var_of("kafka.sasl.username"),
            "KBRIDGE_KAFKA__SASL__USERNAME"
        );
        assert_eq!(env_var_of("shutdown_timeout"), "KBRIDGE_SHUTDOWN_TIMEOUT");
    }
}
