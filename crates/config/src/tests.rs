//! Loading tests: every layer and precedence rule, every environment alias,
//! the exact text of each problem, secrets, the librdkafka mapping, and the
//! key table against the structs. No test reads the process environment:
//! each passes its own variables through `EnvVars::from_pairs`.

use crate::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A loaded configuration or its problem lines; `{file}` stands for the
/// temporary file's path in the lines.
struct Outcome {
    result: Result<Config, ConfigError>,
    file: String,
}

impl Outcome {
    fn ok(self) -> Config {
        match self.result {
            Ok(config) => config,
            Err(e) => panic!("expected a valid configuration, got:\n{e}"),
        }
    }

    fn problems(self) -> Vec<String> {
        match self.result {
            Ok(_) => panic!("expected problems, the configuration is valid"),
            Err(e) => e
                .problems()
                .iter()
                .map(|p| {
                    let line = p.to_string();
                    if self.file.is_empty() {
                        line
                    } else {
                        line.replace(&self.file, "{file}")
                    }
                })
                .collect(),
        }
    }
}

fn load(file: Option<(&str, &str)>, env: &[(&str, &str)], sets: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = file.map(|(name, text)| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    });
    let file = path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let result = Config::load(LoadOptions {
        file: path,
        overrides: sets.iter().map(|s| s.to_string()).collect(),
        env: EnvVars::from_pairs(env.iter().copied()),
    });
    Outcome { result, file }
}

fn toml(text: &str) -> Option<(&'static str, &str)> {
    Some(("kbridge.toml", text))
}

// ---------------------------------------------------------------- layers

#[test]
fn nothing_set_gives_the_built_in_defaults() {
    let config = load(None, &[], &[]).ok();
    assert_eq!(config, Config::default());
    assert_eq!(config.kafka.brokers, ["localhost:9092"]);
    assert_eq!(config.schema_registry.url, ["http://localhost:8081"]);
    assert_eq!(
        config.consumer.fetch_queue_backoff,
        Duration::from_millis(10)
    );
    assert_eq!(
        config.consumer.isolation_level,
        IsolationLevel::ReadCommitted
    );
    assert!(config.producer.idempotence);
    assert_eq!(config.sink.transaction_max_records, 10_000);
    assert_eq!(config.dead_letter.topic, "{topic}.dlq");
    assert_eq!(
        config.source.partition_discovery_interval,
        Duration::from_secs(60)
    );
    assert_eq!(config.codec.key.format, Format::Bytes);
    assert_eq!(config.codec.value.format, Format::AvroConfluent);
}

#[test]
fn the_file_overrides_defaults_and_tables_merge_key_by_key() {
    let config = load(
        toml(
            r#"
            shutdown_timeout = "5s"
            [kafka]
            client_id = "from-file"
            [producer]
            compression = "zstd"
            linger = "20ms"
            batch_size = "256KiB"
            [codec.key]
            subject = "pinned"
            "#,
        ),
        &[],
        &[],
    )
    .ok();
    assert_eq!(config.shutdown_timeout, Duration::from_secs(5));
    assert_eq!(config.kafka.client_id, "from-file");
    assert_eq!(
        config.kafka.brokers,
        ["localhost:9092"],
        "untouched keys keep their default"
    );
    assert_eq!(config.producer.compression, Compression::Zstd);
    assert_eq!(config.producer.linger, Duration::from_millis(20));
    assert_eq!(config.producer.batch_size, 256 * 1024);
    assert!(config.producer.idempotence);
    // A partial `[codec.key]` keeps the key's own default format.
    assert_eq!(config.codec.key.format, Format::Bytes);
    assert_eq!(config.codec.key.subject.as_deref(), Some("pinned"));
}

#[test]
fn yaml_and_json_files_are_read_by_extension() {
    let yaml =
        "kafka:\n  brokers: [y1:9092, y2:9092]\nproducer:\n  acks: 1\n  idempotence: false\n";
    let config = load(Some(("kbridge.yaml", yaml)), &[], &[]).ok();
    assert_eq!(config.kafka.brokers, ["y1:9092", "y2:9092"]);
    assert_eq!(config.producer.acks, Acks::One);
    let config = load(
        Some(("kbridge.yml", "kafka:\n  client_id: yml\n")),
        &[],
        &[],
    )
    .ok();
    assert_eq!(config.kafka.client_id, "yml");
    let config = load(
        Some(("kbridge.json", r#"{"kafka": {"client_id": "json"}}"#)),
        &[],
        &[],
    )
    .ok();
    assert_eq!(config.kafka.client_id, "json");
    let config = load(Some(("empty.yaml", "")), &[], &[]).ok();
    assert_eq!(config, Config::default());
}

#[test]
fn environment_beats_the_file_and_overrides_beat_the_environment() {
    let file = toml("[kafka]\nclient_id = \"file\"\nbrokers = [\"file:9092\"]\n");
    let env = [("KBRIDGE_KAFKA__CLIENT_ID", "env")];
    let config = load(file, &env, &[]).ok();
    assert_eq!(config.kafka.client_id, "env");
    assert_eq!(
        config.kafka.brokers,
        ["file:9092"],
        "the file's other keys stay"
    );

    let config = load(file, &env, &["kafka.client_id=cli"]).ok();
    assert_eq!(config.kafka.client_id, "cli");

    let config = load(
        file,
        &env,
        &["kafka.client_id=first", "kafka.client_id=second"],
    )
    .ok();
    assert_eq!(config.kafka.client_id, "second", "later overrides win");
}

#[test]
fn an_alias_beats_the_file_and_kbridge_variables_beat_aliases() {
    let file = toml("[kafka]\nbrokers = \"file:9092\"\n");
    let config = load(file, &[("KAFKA_BROKERS", "alias:9092")], &[]).ok();
    assert_eq!(config.kafka.brokers, ["alias:9092"]);

    let both = [
        ("KAFKA_BROKERS", "alias:9092"),
        ("KBRIDGE_KAFKA__BROKERS", "kbridge:9092"),
    ];
    let config = load(file, &both, &[]).ok();
    assert_eq!(config.kafka.brokers, ["kbridge:9092"]);

    let config = load(file, &both, &["kafka.brokers=cli:9092"]).ok();
    assert_eq!(config.kafka.brokers, ["cli:9092"]);
}

#[test]
fn kafka_brokers_beats_kafka_bootstrap_servers() {
    let env = [
        ("KAFKA_BOOTSTRAP_SERVERS", "bootstrap:9092"),
        ("KAFKA_BROKERS", "brokers:9092"),
    ];
    assert_eq!(load(None, &env, &[]).ok().kafka.brokers, ["brokers:9092"]);
    let env = [("KAFKA_BOOTSTRAP_SERVERS", "bootstrap:9092")];
    assert_eq!(load(None, &env, &[]).ok().kafka.brokers, ["bootstrap:9092"]);
}

#[test]
fn empty_variables_count_as_unset() {
    let env = [
        ("KAFKA_GROUP_ID", ""),
        ("KBRIDGE_KAFKA__CLIENT_ID", "  "),
        ("KAFKA_BROKERS", ""),
    ];
    let config = load(None, &env, &[]).ok();
    assert_eq!(config.consumer.group_id, "kbridge");
    assert_eq!(config.kafka.client_id, "kbridge");
    assert_eq!(config.kafka.brokers, ["localhost:9092"]);
}

#[test]
fn reserved_and_foreign_variables_are_ignored() {
    let env = [
        ("KBRIDGE_CONFIG", "/etc/kbridge.toml"),
        ("KBRIDGE_BIN", "/usr/bin/kbridge"),
        ("PATH", "/usr/bin"),
        ("KAFKA_UNRELATED", "x"),
    ];
    assert_eq!(load(None, &env, &[]).ok(), Config::default());
}

#[test]
fn every_alias_sets_its_key() {
    let config = load(
        None,
        &[
            ("KAFKA_BROKERS", "a:9092, b:9092"),
            ("KAFKA_TOPIC", "orders,payments"),
            ("KAFKA_GROUP_ID", "billing"),
            ("KAFKA_AUTO_OFFSET_RESET", "latest"),
            ("KAFKA_PARTITION_DISCOVERY_INTERVAL_MS", "30000"),
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            ("KAFKA_SASL_USERNAME", "svc"),
            ("KAFKA_SASL_PASSWORD", "hunter2"),
            ("SCHEMA_REGISTRY_URL", "https://sr1:8081,https://sr2:8081"),
            ("RUST_LOG", "debug,rdkafka=warn"),
        ],
        &[],
    )
    .ok();
    assert_eq!(config.kafka.brokers, ["a:9092", "b:9092"]);
    assert_eq!(config.source.topics, ["orders", "payments"]);
    assert_eq!(config.consumer.group_id, "billing");
    assert_eq!(config.source.starting_offsets, StartingOffsets::Latest);
    assert_eq!(
        config.source.partition_discovery_interval,
        Duration::from_secs(30)
    );
    assert_eq!(config.kafka.security_protocol, SecurityProtocol::SaslSsl);
    assert_eq!(config.kafka.sasl.mechanism, SaslMechanism::ScramSha512);
    assert_eq!(config.kafka.sasl.username.as_deref(), Some("svc"));
    assert_eq!(
        config.kafka.sasl.password.as_ref().map(Secret::expose),
        Some("hunter2")
    );
    assert_eq!(
        config.schema_registry.url,
        ["https://sr1:8081", "https://sr2:8081"]
    );
    assert_eq!(config.logging.level, "debug,rdkafka=warn");

    let bootstrap = load(None, &[("KAFKA_BOOTSTRAP_SERVERS", "c:9092")], &[]).ok();
    assert_eq!(bootstrap.kafka.brokers, ["c:9092"]);
}

#[test]
fn auto_offset_reset_accepts_earliest_latest_and_committed() {
    for (value, expected) in [
        ("earliest", StartingOffsets::Earliest),
        ("latest", StartingOffsets::Latest),
        (
            "committed",
            StartingOffsets::Committed {
                fallback: OffsetReset::Earliest,
            },
        ),
    ] {
        let config = load(None, &[("KAFKA_AUTO_OFFSET_RESET", value)], &[]).ok();
        assert_eq!(config.source.starting_offsets, expected, "{value}");
    }
}

#[test]
fn lists_come_comma_separated_or_as_json_arrays() {
    let config = load(None, &[("KBRIDGE_SOURCE__TOPICS", r#"["a","b"]"#)], &[]).ok();
    assert_eq!(config.source.topics, ["a", "b"]);
    let config = load(None, &[], &["source.topics=x, y"]).ok();
    assert_eq!(config.source.topics, ["x", "y"]);
    let config = load(None, &[], &[r#"kafka.brokers=["h1:1","h2:2"]"#]).ok();
    assert_eq!(config.kafka.brokers, ["h1:1", "h2:2"]);
    let config = load(toml("[source]\ntopics = \"t1,t2\"\n"), &[], &[]).ok();
    assert_eq!(config.source.topics, ["t1", "t2"]);
}

#[test]
fn environment_and_overrides_type_their_values_by_key() {
    let config = load(
        None,
        &[
            ("KBRIDGE_PRODUCER__IDEMPOTENCE", "false"),
            ("KBRIDGE_PRODUCER__ACKS", "1"),
            ("KBRIDGE_PRODUCER__RETRIES", "7"),
            ("KBRIDGE_CONSUMER__FETCH_MAX_BYTES", "8MiB"),
            ("KBRIDGE_SINK__TRANSACTION_MAX_DURATION", "250ms"),
            ("KBRIDGE_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
            ("KBRIDGE_KAFKA__SASL__USERNAME", "007"),
            ("KBRIDGE_KAFKA__SASL__PASSWORD", "12345"),
            ("KBRIDGE_CODEC__VALUE__SUBJECT", "orders-value"),
            ("KBRIDGE_CODEC__VALUE__VERSION", "3"),
        ],
        &[
            "metrics.listen=127.0.0.1:9000",
            "shutdown_timeout=2m",
            "codec.key.version=latest",
            "codec.key.subject=k",
        ],
    )
    .ok();
    assert!(!config.producer.idempotence);
    assert_eq!(config.producer.acks, Acks::One);
    assert_eq!(config.producer.retries, 7);
    assert_eq!(config.consumer.fetch_max_bytes, 8 << 20);
    assert_eq!(
        config.sink.transaction_max_duration,
        Duration::from_millis(250)
    );
    assert_eq!(
        config.kafka.sasl.username.as_deref(),
        Some("007"),
        "strings stay strings"
    );
    assert_eq!(
        config.kafka.sasl.password.as_ref().map(Secret::expose),
        Some("12345")
    );
    assert_eq!(config.codec.value.version, Some(SchemaVersion::Number(3)));
    assert_eq!(config.codec.key.version, Some(SchemaVersion::Latest));
    assert_eq!(config.metrics.listen.to_string(), "127.0.0.1:9000");
    assert_eq!(config.shutdown_timeout, Duration::from_secs(120));
}

#[test]
fn passthrough_properties_come_from_file_env_and_overrides() {
    let config = load(
        toml("[consumer.librdkafka]\n\"fetch.error.backoff.ms\" = 250\n\"check.crcs\" = true\n"),
        &[(
            "KBRIDGE_PRODUCER__LIBRDKAFKA__QUEUE_BUFFERING_MAX_MESSAGES",
            "5000",
        )],
        &["consumer.librdkafka.statistics.interval.ms=1000"],
    )
    .ok();
    let consumer: Vec<(&str, &str)> = config.consumer.librdkafka.iter().collect();
    assert_eq!(
        consumer,
        [
            ("check.crcs", "true"),
            ("fetch.error.backoff.ms", "250"),
            ("statistics.interval.ms", "1000")
        ]
    );
    let producer: Vec<(&str, &str)> = config.producer.librdkafka.iter().collect();
    assert_eq!(producer, [("queue.buffering.max.messages", "5000")]);
    let props = config.client_config_for_consumer();
    assert_eq!(props.get("statistics.interval.ms"), Some("1000"));
    let json = load(
        None,
        &[(
            "KBRIDGE_CONSUMER__LIBRDKAFKA",
            r#"{"fetch.min.bytes.x": 1}"#,
        )],
        &[],
    );
    assert_eq!(
        json.ok().consumer.librdkafka.iter().collect::<Vec<_>>(),
        [("fetch.min.bytes.x", "1")]
    );
}

#[test]
fn starting_and_stop_offsets_from_a_file_with_a_toml_datetime() {
    let config = load(
        toml(
            r#"
            [source]
            topics = ["orders"]
            starting_offsets = { timestamp = 2024-05-01T00:00:00Z }
            stop_offsets = { offsets = { orders = { 0 = 100, 1 = 200 } } }
            "#,
        ),
        &[],
        &[],
    )
    .ok();
    assert_eq!(
        config.source.starting_offsets,
        StartingOffsets::Timestamp(Timestamp::from_millis(1_714_521_600_000))
    );
    assert_eq!(
        config.source.stop_offsets,
        Some(StopOffsets::Specific(BTreeMap::from([(
            "orders".to_string(),
            BTreeMap::from([(0, 100), (1, 200)])
        )])))
    );
    let config = load(
        None,
        &[("KBRIDGE_SOURCE__STARTING_OFFSETS__COMMITTED", "latest")],
        &[],
    )
    .ok();
    assert_eq!(
        config.source.starting_offsets,
        StartingOffsets::Committed {
            fallback: OffsetReset::Latest
        }
    );
}

#[test]
fn transforms_stay_raw_tables() {
    let config = load(
        toml(
            r#"
            [[transforms]]
            type = "filter"
            expression = "value.amount > 10"
            [[transforms]]
            type = "fields"
            drop = ["ssn"]
            "#,
        ),
        &[],
        &[],
    )
    .ok();
    assert_eq!(config.transforms.len(), 2);
    assert_eq!(config.transforms[0]["type"], "filter");
    assert_eq!(config.transforms[1]["drop"], serde_json::json!(["ssn"]));
}

// -------------------------------------------------------- problem messages

#[test]
fn a_missing_file_and_an_unknown_extension_are_reported() {
    let outcome = Config::load(LoadOptions {
        file: Some(PathBuf::from("/nonexistent/kbridge.toml")),
        overrides: vec![],
        env: EnvVars::none(),
    });
    let lines: Vec<String> = outcome
        .unwrap_err()
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        ["cannot read the configuration file: not found (set by file /nonexistent/kbridge.toml)"]
    );
    assert_eq!(
        load(Some(("kbridge.ini", "x=1")), &[], &[]).problems(),
        [
            "unsupported configuration file type: use a `.toml`, `.yaml`, `.yml` or `.json` file (set by file {file})"
        ]
    );
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    assert_eq!(
        load(toml("[kafka]\nclient_id = [\n"), &[], &[]).problems(),
        [
            "invalid TOML: TOML parse error at line 2, column 15: invalid array: expected `]` (set by file {file})"
        ]
    );
    let yaml = load(Some(("kbridge.yaml", "kafka: [\n")), &[], &[]).problems();
    assert_eq!(yaml.len(), 1);
    assert!(yaml[0].starts_with("invalid YAML: "), "{}", yaml[0]);
    assert!(yaml[0].ends_with(" (set by file {file})"), "{}", yaml[0]);
}

#[test]
fn unknown_keys_name_their_source_and_the_closest_key() {
    let problems = load(
        toml("[kafka]\nbrokerz = \"x:1\"\n[kafak]\nx = 1\n[logging]\nzzz = 1\n"),
        &[
            ("KBRIDGE_KAFKA_BROKERS", "a:1"),
            ("KBRIDGE_PRODUCER__IDEMPOTENT", "true"),
        ],
        &["kafka.group_id=g"],
    )
    .problems();
    assert_eq!(
        problems,
        [
            "kafak: unknown key, did you mean `kafka`? (set by file {file})",
            "kafka.brokerz: unknown key, did you mean `kafka.brokers`? (set by file {file})",
            "kafka.group_id: unknown key, did you mean `consumer.group_id`? (set by --set kafka.group_id)",
            "kafka_brokers: unknown key, did you mean `kafka.brokers` (KBRIDGE_KAFKA__BROKERS)? (set by env KBRIDGE_KAFKA_BROKERS)",
            "logging.zzz: unknown key, `logging` has `level` or `format` (set by file {file})",
            "producer.idempotent: unknown key, did you mean `producer.idempotence` (KBRIDGE_PRODUCER__IDEMPOTENCE)? (set by env KBRIDGE_PRODUCER__IDEMPOTENT)",
        ]
    );
}

#[test]
fn invalid_values_are_all_reported_with_their_source() {
    let problems = load(
        toml("[kafka]\nclient_id = 5\n[producer]\nacks = 2\nlinger = 20\n[consumer]\nfetch_max_bytes = \"8XB\"\n"),
        &[
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSLL"),
            ("KBRIDGE_PRODUCER__IDEMPOTENCE", "yes"),
            ("KAFKA_PARTITION_DISCOVERY_INTERVAL_MS", "soon"),
        ],
        &["sink.transaction_max_duration=5x", "producer.retries=-1", "codec.value.format=avro"],
    )
    .problems();
    assert_eq!(
        problems,
        [
            // Reading the layers comes first, then values in key order.
            "source.partition_discovery_interval: expected a whole number of milliseconds, found `soon` (set by env KAFKA_PARTITION_DISCOVERY_INTERVAL_MS)",
            "codec.value.format: unknown value `avro`, expected one of `avro-confluent`, `avro-confluent-guid`, `avro-header`, `avro-fixed-schema`, `avro-single-object`, `json-schema-confluent`, `json`, `string`, `bytes` (did you mean `avro-header`?) (set by --set codec.value.format)",
            "consumer.fetch_max_bytes: invalid size `8XB`: couldn't parse \"XB\" into a known SI unit, Failed to parse unit \"XB\" (examples: `1MiB`, `512KiB`, `1048576`) (set by file {file})",
            "kafka.client_id: expected a string, found signed int `5` (set by file {file})",
            "kafka.security_protocol: unknown value `SASL_SSLL`, expected one of `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL` (did you mean `SASL_SSL`?) (set by env KAFKA_SECURITY_PROTOCOL)",
            "producer.acks: unknown value `2`, expected one of `all`, `1`, `0` (set by file {file})",
            "producer.idempotence: expected a boolean, found string \"yes\" (set by env KBRIDGE_PRODUCER__IDEMPOTENCE)",
            "producer.linger: invalid duration `20`: a unit is required (for example `20ms` or `20s`) (set by file {file})",
            "producer.retries: invalid value signed int `-1`, expected a non-negative integer (set by --set producer.retries)",
            "sink.transaction_max_duration: invalid duration `5x`: unknown time unit \"x\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations) (examples: `500ms`, `60s`, `5m`) (set by --set sink.transaction_max_duration)",
        ]
    );
}

#[test]
fn values_of_the_wrong_shape_are_reported_per_key() {
    let problems = load(
        toml("kafka = \"x\"\ntransforms = { a = 1 }\n[source]\ntopics = [\"ok\", { a = 1 }]\n[consumer.librdkafka]\nnested = { a = 1 }\n"),
        &[],
        &["producer.librdkafka={bad"],
    )
    .problems();
    assert_eq!(
        problems,
        [
            "producer.librdkafka: invalid JSON: key must be a string at line 1 column 2 (set by --set producer.librdkafka)",
            "consumer.librdkafka.nested: expected a string, number or boolean, found a table (set by file {file})",
            "kafka: expected a table, found string \"x\" (set by file {file})",
            "source.topics.1: expected a string, number or boolean, found a table (set by file {file})",
            "transforms: expected a list, found a table (set by file {file})",
        ]
    );
}

#[test]
fn a_secret_of_the_wrong_type_is_not_echoed() {
    let outcome = load(toml("[kafka.sasl]\npassword = 987654321\n"), &[], &[]);
    let problems = outcome.problems();
    assert_eq!(
        problems,
        [
            "kafka.sasl.password: expected a string, found a number (value not shown: this key holds a secret) (set by file {file})"
        ]
    );
}

#[test]
fn malformed_overrides_and_variable_names_are_reported() {
    assert_eq!(
        load(
            None,
            &[("KBRIDGE_KAFKA____BROKERS", "x:1")],
            &["kafka.brokers", "=x", "a..b=1"]
        )
        .problems(),
        [
            "kafka..brokers: malformed variable name: nest keys with `__` between non-empty names (KBRIDGE_KAFKA__BROKERS) (set by env KBRIDGE_KAFKA____BROKERS)",
            "kafka.brokers: expected `--set key=value` (set by --set kafka.brokers)",
            "expected `--set dotted.key=value` (set by --set )",
            "a..b: expected `--set dotted.key=value` (set by --set a..b)",
        ]
    );
}

#[test]
fn passthrough_keys_owned_by_typed_keys_are_rejected_naming_both() {
    let problems = load(
        toml(
            "[producer.librdkafka]\n\"enable.idempotence\" = false\n\"sasl.mechanism\" = \"PLAIN\"\n\"queue.buffering.max.ms\" = 5\n[consumer.librdkafka]\n\"group.id\" = \"g\"\n\"enable.auto.commit\" = true\n\"linger.ms\" = 5\n",
        ),
        &[("KBRIDGE_CONSUMER__LIBRDKAFKA__AUTO_OFFSET_RESET", "latest")],
        &[],
    )
    .problems();
    assert_eq!(
        problems,
        [
            "consumer.librdkafka.\"auto.offset.reset\": conflicts with the typed key source.starting_offsets; set source.starting_offsets instead (set by env KBRIDGE_CONSUMER__LIBRDKAFKA__AUTO_OFFSET_RESET)",
            "consumer.librdkafka.\"enable.auto.commit\": cannot be set: kbridge's offset tracking manages it (offsets are committed once the sink has written them) (set by file {file})",
            "consumer.librdkafka.\"group.id\": conflicts with the typed key consumer.group_id; set consumer.group_id instead (set by file {file})",
            "producer.librdkafka.\"enable.idempotence\": conflicts with the typed key producer.idempotence; set producer.idempotence instead (set by file {file})",
            "producer.librdkafka.\"queue.buffering.max.ms\": conflicts with the typed key producer.linger; set producer.linger instead (set by file {file})",
            "producer.librdkafka.\"sasl.mechanism\": conflicts with the typed key kafka.sasl.mechanism; set kafka.sasl.mechanism instead (set by file {file})",
        ],
        "`linger.ms` is a producer property: the consumer map may carry it"
    );
}

#[test]
fn sasl_without_credentials_is_reported() {
    assert_eq!(
        load(None, &[("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")], &[]).problems(),
        [
            "kafka.security_protocol: `SASL_SSL` with SASL mechanism `PLAIN` needs credentials: kafka.sasl.username and kafka.sasl.password not set (set by env KAFKA_SECURITY_PROTOCOL)"
        ]
    );
    assert_eq!(
        load(
            None,
            &[
                ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
                ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
                ("KAFKA_SASL_USERNAME", "u")
            ],
            &[]
        )
        .problems(),
        [
            "kafka.security_protocol: `SASL_PLAINTEXT` with SASL mechanism `SCRAM-SHA-256` needs credentials: kafka.sasl.password not set (set by env KAFKA_SECURITY_PROTOCOL)"
        ]
    );
    assert_eq!(
        load(
            toml("[kafka]\nsecurity_protocol = \"SASL_SSL\"\n[kafka.sasl]\nmechanism = \"OAUTHBEARER\"\noauthbearer_method = \"oidc\"\noauthbearer_client_id = \"id\"\n"),
            &[],
            &[]
        )
        .problems(),
        ["kafka.security_protocol: `SASL_SSL` with SASL mechanism `OAUTHBEARER` needs credentials: kafka.sasl.oauthbearer_client_secret and kafka.sasl.oauthbearer_token_endpoint_url not set (set by file {file})"]
    );
}

#[test]
fn security_settings_that_the_protocol_ignores_are_reported() {
    assert_eq!(
        load(
            None,
            &[("KAFKA_SASL_USERNAME", "u"), ("KAFKA_SASL_PASSWORD", "p")],
            &["kafka.ssl.ca_location=/etc/ca.pem"]
        )
        .problems(),
        [
            "kafka.sasl.username: SASL settings have no effect: kafka.security_protocol (built-in default) is `PLAINTEXT`; use `SASL_PLAINTEXT` or `SASL_SSL` (set by env KAFKA_SASL_USERNAME)",
            "kafka.ssl.ca_location: TLS settings have no effect: kafka.security_protocol (built-in default) is `PLAINTEXT`; use `SSL` or `SASL_SSL` (set by --set kafka.ssl.ca_location)",
        ]
    );
}

#[test]
fn tls_files_must_pair_and_exist() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("client.pem");
    std::fs::write(&cert, "cert").unwrap();
    let problems = load(
        None,
        &[("KAFKA_SECURITY_PROTOCOL", "SSL")],
        &[
            &format!("kafka.ssl.certificate_location={}", cert.display()),
            "kafka.ssl.ca_location=/nonexistent/ca.pem",
            "kafka.ssl.key_password=k",
        ],
    )
    .problems();
    assert_eq!(
        problems,
        [
            "kafka.ssl.certificate_location: a client certificate needs its key: set kafka.ssl.key_location (set by --set kafka.ssl.certificate_location)",
            "kafka.ssl.key_password: has no effect without kafka.ssl.key_location (set by --set kafka.ssl.key_password)",
            "kafka.ssl.ca_location: file `/nonexistent/ca.pem` does not exist (set by --set kafka.ssl.ca_location)",
        ]
    );
}

#[test]
fn producer_and_exactly_once_rules_are_checked() {
    assert_eq!(
        load(
            None,
            &[],
            &[
                "producer.acks=1",
                "producer.max_in_flight=6",
                "producer.retries=0"
            ]
        )
        .problems(),
        [
            "producer.acks: must be `all` when producer.idempotence (built-in default) is true (idempotence needs every in-sync replica), found `1` (set by --set producer.acks)",
            "producer.max_in_flight: must be at most 5 when producer.idempotence (built-in default) is true (set by --set producer.max_in_flight)",
            "producer.retries: must be at least 1 when producer.idempotence (built-in default) is true (set by --set producer.retries)",
        ]
    );
    assert_eq!(
        load(
            toml("[producer]\nidempotence = false\n[consumer]\nisolation_level = \"read_uncommitted\"\ngroup_id = \"\"\n"),
            &[("KBRIDGE_SINK__DELIVERY_GUARANTEE", "exactly_once")],
            &["sink.transaction_max_duration=2m", "source.starting_offsets=earliest"]
        )
        .problems(),
        [
            "sink.delivery_guarantee: `exactly_once` needs an idempotent producer, but producer.idempotence (set by file {file}) is false (set by env KBRIDGE_SINK__DELIVERY_GUARANTEE)",
            "sink.delivery_guarantee: `exactly_once` needs a consumer group (its metadata fences zombie instances): set consumer.group_id (set by env KBRIDGE_SINK__DELIVERY_GUARANTEE)",
            "consumer.isolation_level: must be `read_committed` when sink.delivery_guarantee (set by env KBRIDGE_SINK__DELIVERY_GUARANTEE) is `exactly_once` (set by file {file})",
            "sink.transaction_max_duration: must be shorter than producer.transaction_timeout (built-in default) = 1m (set by --set sink.transaction_max_duration)",
        ]
    );
    assert!(
        load(
            None,
            &[("KBRIDGE_SINK__DELIVERY_GUARANTEE", "exactly_once")],
            &[]
        )
        .result
        .is_ok()
    );
}

#[test]
fn source_rules_are_checked() {
    assert_eq!(
        load(
            toml("[source]\ntopics = [\"orders\", \"bad topic\"]\ntopic_regex = \"^orders-(\"\n"),
            &[("KAFKA_GROUP_ID", "g")],
            &[r#"source.starting_offsets={"offsets":{"payments":{"0":1}}}"#],
        )
        .problems(),
        [
            "source.topic_regex: cannot be combined with source.topics (set by file {file}); use one of them (set by file {file})",
            "source.topics: `bad topic` is not a valid topic name: ` ` is not allowed (use letters, digits, `.`, `_`, `-`) (set by file {file})",
            "source.topic_regex: invalid regular expression `^orders-(`: error: unclosed group (set by file {file})",
            "source.starting_offsets: has offsets for topic `payments`, which source.topics does not list (set by --set source.starting_offsets)",
        ]
    );
    assert_eq!(
        load(
            toml("[consumer]\ngroup_id = \"\"\n"),
            &[("KAFKA_AUTO_OFFSET_RESET", "committed")],
            &[]
        )
        .problems(),
        [
            "source.starting_offsets: committed offsets need a consumer group: set consumer.group_id (KAFKA_GROUP_ID) (set by env KAFKA_AUTO_OFFSET_RESET)"
        ]
    );
    assert_eq!(
        load(
            None,
            &[],
            &[
                "source.starting_offsets.timestamp=2000",
                "source.stop_offsets.timestamp=1000"
            ]
        )
        .problems(),
        [
            "source.stop_offsets: stop timestamp 1970-01-01T00:00:01Z is not after the starting timestamp 1970-01-01T00:00:02Z (set by --set source.stop_offsets.timestamp)"
        ]
    );
}

#[test]
fn registry_codec_sink_and_other_rules_are_checked() {
    let problems = load(
        toml(
            r#"
            [schema_registry]
            url = ["localhost:8081"]
            username = "u"
            bearer_token = "t"
            [codec.value]
            format = "avro-fixed-schema"
            version = 3
            [codec.key]
            format = "string"
            reader_schema_file = "/nonexistent/key.avsc"
            [sink]
            topic = "{topic}.{env}"
            max_in_flight_records = 0
            [dead_letter]
            topic = "dlq topic"
            [metrics]
            otlp_endpoint = "collector:4318"
            [logging]
            level = "info,kbridge=loud"
            [consumer]
            heartbeat_interval = "60s"
            session_timeout = "30s"
            max_poll_interval = "30d"
            "#,
        ),
        &[],
        &[],
    )
    .problems();
    assert_eq!(
        problems,
        [
            "consumer.heartbeat_interval: must be shorter than consumer.session_timeout (set by file {file}) = 30s (set by file {file})",
            "consumer.max_poll_interval: too large for librdkafka: at most 2147483647 ms (set by file {file})",
            "schema_registry.url: `localhost:8081` is not an `http://` or `https://` URL (set by file {file})",
            "schema_registry.username: basic auth needs schema_registry.password too (set by file {file})",
            "schema_registry.bearer_token: cannot be combined with basic auth (schema_registry.username (set by file {file})); choose one (set by file {file})",
            "sink.topic: unknown placeholder `{env}`; only `{topic}` is replaced (set by file {file})",
            "sink.max_in_flight_records: must be at least 1 (set by file {file})",
            "codec.key.reader_schema_file: applies only to Avro formats, and codec.key.format is `string` (set by file {file})",
            "codec.key.reader_schema_file: file `/nonexistent/key.avsc` does not exist (set by file {file})",
            "codec.value.schema_file: required by format `avro-fixed-schema` (the schema is not in the records) (built-in default)",
            "codec.value.version: pins a version of no subject: set codec.value.subject too (set by file {file})",
            "dead_letter.topic: `dlq topic` does not make a valid topic name: ` ` is not allowed (use letters, digits, `.`, `_`, `-`) (set by file {file})",
            "metrics.otlp_endpoint: `collector:4318` is not an `http://` or `https://` URL (set by file {file})",
            "logging.level: invalid filter directive `kbridge=loud`: unknown level `loud`, expected one of `trace`, `debug`, `info`, `warn`, `error`, `off` (set by file {file})",
        ]
    );
}

#[test]
fn an_invalid_value_does_not_cause_checks_on_its_replacement_default() {
    // The protocol is invalid: the SASL check must not run against the
    // default `PLAINTEXT` and claim the credentials are ignored.
    let problems = load(
        None,
        &[
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSLL"),
            ("KAFKA_SASL_USERNAME", "u"),
            ("KAFKA_SASL_PASSWORD", "p"),
        ],
        &[],
    )
    .problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("kafka.security_protocol: unknown value `SASL_SSLL`"));
}

#[test]
fn the_error_lists_every_problem_one_per_line() {
    let err = load(
        None,
        &[("KBRIDGE_KAFKA__BROKERZ", "x")],
        &["producer.acks=1"],
    )
    .result
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "2 configuration problems:\n  kafka.brokerz: unknown key, did you mean `kafka.brokers` (KBRIDGE_KAFKA__BROKERS)? (set by env KBRIDGE_KAFKA__BROKERZ)\n  producer.acks: must be `all` when producer.idempotence (built-in default) is true (idempotence needs every in-sync replica), found `1` (set by --set producer.acks)"
    );
    let err = load(None, &[], &["producer.acks=7"]).result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "1 configuration problem:\n  producer.acks: unknown value `7`, expected one of `all`, `1`, `0` (set by --set producer.acks)"
    );
}

#[test]
fn validate_checks_a_configuration_built_in_code() {
    let mut config = Config::default();
    assert!(config.validate().is_ok());
    config.sink.delivery_guarantee = DeliveryGuarantee::ExactlyOnce;
    config.producer.idempotence = false;
    let err = config.validate().unwrap_err();
    assert_eq!(
        err.problems()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "sink.delivery_guarantee: `exactly_once` needs an idempotent producer, but producer.idempotence is false (set by the program)"
        ]
    );
}

// ---------------------------------------------------------------- secrets

#[test]
fn secrets_never_reach_debug_show_or_problems() {
    let config = load(
        toml(
            "[schema_registry]\nusername = \"u\"\npassword = \"sr-pass\"\n[kafka.ssl]\nkey_password = \"key-pass\"\n[producer.librdkafka]\n\"ssl.keystore.password\" = \"ks-pass\"\n",
        ),
        &[
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_USERNAME", "u"),
            ("KAFKA_SASL_PASSWORD", "sasl-pass"),
            ("KBRIDGE_SCHEMA_REGISTRY__BEARER_TOKEN", "tok"),
        ],
        &[],
    );
    // bearer + basic auth is a problem; the message must not leak either.
    let err = config.result.unwrap_err();
    let text = format!("{err}\n{err:?}");
    for secret in ["sr-pass", "key-pass", "ks-pass", "sasl-pass", "tok\""] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }

    let config = load(
        toml(
            "[schema_registry]\nusername = \"u\"\npassword = \"sr-pass\"\n[producer.librdkafka]\n\"ssl.keystore.password\" = \"ks-pass\"\n",
        ),
        &[
            ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("KAFKA_SASL_USERNAME", "u"),
            ("KAFKA_SASL_PASSWORD", "sasl-pass"),
        ],
        &[
            "kafka.ssl.key_location=/dev/null",
            "kafka.ssl.certificate_location=/dev/null",
            "kafka.ssl.key_password=key-pass",
        ],
    );
    let config = match config.result {
        Ok(c) => c,
        Err(e) => {
            // /dev/null is not a regular file: only those problems are expected.
            assert!(
                e.problems()
                    .iter()
                    .all(|p| p.message.contains("does not exist")),
                "{e}"
            );
            let mut c = Config::default();
            c.kafka.sasl.password = Some(Secret::new("sasl-pass"));
            c.kafka.ssl.key_password = Some(Secret::new("key-pass"));
            c.schema_registry.password = Some(Secret::new("sr-pass"));
            c.producer
                .librdkafka
                .insert("ssl.keystore.password", "ks-pass");
            c
        }
    };
    let rendered = [
        format!("{config:?}"),
        config.to_toml_string().unwrap(),
        config.to_json_string().unwrap(),
        format!("{:?}", config.client_config_for_producer()),
    ];
    for text in &rendered {
        for secret in ["sr-pass", "key-pass", "ks-pass", "sasl-pass"] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
    }
    assert!(
        rendered[1].contains("password = \"***\""),
        "{}",
        rendered[1]
    );
    assert!(
        rendered[1].contains("\"ssl.keystore.password\" = \"***\""),
        "{}",
        rendered[1]
    );
    // The real values are still there for the clients.
    assert_eq!(
        config
            .client_config_for_producer()
            .get("ssl.keystore.password"),
        Some("ks-pass")
    );
    assert_eq!(
        config.schema_registry.password.as_ref().map(Secret::expose),
        Some("sr-pass")
    );
}

#[test]
fn load_options_debug_hides_override_and_env_values() {
    let options = LoadOptions {
        file: None,
        overrides: vec!["kafka.sasl.password=hunter2".into()],
        env: EnvVars::from_pairs([("KAFKA_SASL_PASSWORD", "hunter3")]),
    };
    let text = format!("{options:?}");
    assert!(!text.contains("hunter"), "{text}");
    assert!(
        text.contains("kafka.sasl.password") && text.contains("KAFKA_SASL_PASSWORD"),
        "{text}"
    );
}

// --------------------------------------------------------------- librdkafka

fn props(p: &ClientProperties) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn default_consumer_and_producer_properties() {
    let config = Config::default();
    assert_eq!(
        props(&config.client_config_for_consumer()),
        pairs(&[
            ("bootstrap.servers", "localhost:9092"),
            ("client.id", "kbridge"),
            ("socket.timeout.ms", "60000"),
            ("socket.connection.setup.timeout.ms", "30000"),
            ("metadata.max.age.ms", "900000"),
            ("security.protocol", "plaintext"),
            ("group.id", "kbridge"),
            ("isolation.level", "read_committed"),
            ("session.timeout.ms", "45000"),
            ("heartbeat.interval.ms", "3000"),
            ("max.poll.interval.ms", "300000"),
            ("fetch.min.bytes", "1"),
            ("fetch.max.bytes", "52428800"),
            ("max.partition.fetch.bytes", "1048576"),
            ("fetch.wait.max.ms", "500"),
            ("fetch.queue.backoff.ms", "10"),
            ("queued.max.messages.kbytes", "65536"),
            ("auto.offset.reset", "earliest"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
        ])
    );
    assert_eq!(
        props(&config.client_config_for_producer())[6..],
        pairs(&[
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("compression.type", "none"),
            ("linger.ms", "5"),
            ("batch.size", "1000000"),
            ("retries", "2147483647"),
            ("retry.backoff.ms", "100"),
            ("max.in.flight.requests.per.connection", "5"),
            ("message.timeout.ms", "300000"),
            ("request.timeout.ms", "30000"),
            ("transaction.timeout.ms", "60000"),
        ])
    );
    assert_eq!(config.client_config_for_admin().len(), 6);
}

#[test]
fn sasl_ssl_maps_to_the_exact_librdkafka_names() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, "pem").unwrap();
        p.display().to_string()
    };
    let (ca, cert, key) = (file("ca.pem"), file("cert.pem"), file("key.pem"));
    let config = load(
        None,
        &[
            ("KAFKA_SECURITY_PROTOCOL", "sasl_ssl"),
            ("KAFKA_SASL_MECHANISM", "scram-sha-256"),
            ("KAFKA_SASL_USERNAME", "svc"),
            ("KAFKA_SASL_PASSWORD", "pw"),
        ],
        &[
            &format!("kafka.ssl.ca_location={ca}"),
            &format!("kafka.ssl.certificate_location={cert}"),
            &format!("kafka.ssl.key_location={key}"),
            "kafka.ssl.key_password=kp",
            "kafka.ssl.endpoint_identification=false",
        ],
    )
    .ok();
    let admin = config.client_config_for_admin();
    assert_eq!(
        props(&admin)[5..],
        pairs(&[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "SCRAM-SHA-256"),
            ("sasl.username", "svc"),
            ("sasl.password", "pw"),
            ("ssl.ca.location", &ca),
            ("ssl.certificate.location", &cert),
            ("ssl.key.location", &key),
            ("ssl.key.password", "kp"),
            ("ssl.endpoint.identification.algorithm", "none"),
        ])
    );
    let debug = format!("{admin:?}");
    assert!(
        debug.contains("\"sasl.password\": \"***\"") && !debug.contains("\"pw\""),
        "{debug}"
    );
    assert!(
        debug.contains("\"ssl.key.password\": \"***\"") && !debug.contains("\"kp\""),
        "{debug}"
    );
    // Consumer and producer carry the same security settings.
    for client in [
        config.client_config_for_consumer(),
        config.client_config_for_producer(),
    ] {
        assert_eq!(client.get("sasl.password"), Some("pw"));
        assert_eq!(client.get("ssl.ca.location"), Some(ca.as_str()));
    }
}

#[test]
fn oauthbearer_oidc_and_plain_ssl_mappings() {
    let config = load(
        toml(
            "[kafka]\nsecurity_protocol = \"SASL_PLAINTEXT\"\n[kafka.sasl]\nmechanism = \"OAUTHBEARER\"\noauthbearer_method = \"oidc\"\noauthbearer_client_id = \"cid\"\noauthbearer_client_secret = \"cs\"\noauthbearer_token_endpoint_url = \"https://idp/token\"\noauthbearer_scope = \"kafka\"\n",
        ),
        &[],
        &[],
    )
    .ok();
    assert_eq!(
        props(&config.client_config_for_admin())[5..],
        pairs(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("sasl.oauthbearer.method", "oidc"),
            ("sasl.oauthbearer.client.id", "cid"),
            ("sasl.oauthbearer.client.secret", "cs"),
            ("sasl.oauthbearer.token.endpoint.url", "https://idp/token"),
            ("sasl.oauthbearer.scope", "kafka"),
        ])
    );
    let config = load(None, &[("KAFKA_SECURITY_PROTOCOL", "SSL")], &[]).ok();
    assert_eq!(
        props(&config.client_config_for_admin())[5..],
        pairs(&[
            ("security.protocol", "ssl"),
            ("ssl.endpoint.identification.algorithm", "https")
        ])
    );
}

#[test]
fn starting_offsets_choose_auto_offset_reset_and_passthrough_comes_last() {
    for (offsets, reset) in [
        ("earliest", "earliest"),
        ("latest", "latest"),
        (r#"{"committed":"latest"}"#, "latest"),
        (r#"{"timestamp":5}"#, "latest"),
        (r#"{"offsets":{"t":{"0":1}},"fallback":"latest"}"#, "latest"),
    ] {
        let config = load(None, &[], &[&format!("source.starting_offsets={offsets}")]).ok();
        assert_eq!(
            config.client_config_for_consumer().get("auto.offset.reset"),
            Some(reset),
            "{offsets}"
        );
    }
    let config = load(
        None,
        &[],
        &["producer.librdkafka.queue.buffering.max.kbytes=2048"],
    )
    .ok();
    let producer = config.client_config_for_producer().into_vec();
    assert_eq!(
        producer.last(),
        Some(&("queue.buffering.max.kbytes".to_string(), "2048".to_string()))
    );
    let config = load(None, &[], &["consumer.group_id="]);
    assert!(
        config.problems()[0]
            .starts_with("source.starting_offsets: committed offsets need a consumer group")
    );
}

// ------------------------------------------------------- show and the table

#[test]
fn shown_toml_loads_back_to_the_same_configuration() {
    let config = load(
        toml(
            r#"
            shutdown_timeout = "90s"
            [kafka]
            brokers = ["a:1", "b:2"]
            [source]
            topics = ["orders"]
            starting_offsets = { offsets = { orders = { 0 = 5 } }, fallback = "latest" }
            stop_offsets = { timestamp = "2024-05-01T00:00:00.250Z" }
            [codec.value]
            format = "avro-fixed-schema"
            output_format = "avro-confluent"
            schema_file = "Cargo.toml"
            subject = "orders-value"
            version = "latest"
            [consumer.librdkafka]
            "check.crcs" = "true"
            [sink]
            topic = "{topic}.out"
            [[transforms]]
            type = "filter"
            "#,
        ),
        &[],
        &[
            "producer.batch_size=1234",
            "consumer.queued_max_bytes=1GiB",
            "metrics.otlp_endpoint=http://c:4318",
        ],
    )
    .ok();
    let shown = config.to_toml_string().unwrap();
    let again = load(toml(&shown), &[], &[]).ok();
    assert_eq!(again, config, "{shown}");
    let json = config.to_json_string().unwrap();
    let again = load(Some(("shown.json", &json)), &[], &[]).ok();
    assert_eq!(again, config, "{json}");
}

/// Leaf paths of a serialized configuration (opaque kinds are leaves).
fn leaves(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map)
            if keys::kind_of(&prefix.split('.').collect::<Vec<_>>()).is_none() =>
        {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &path, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

#[test]
fn the_key_table_lists_exactly_the_struct_fields() {
    let mut from_structs = Vec::new();
    leaves(
        &serde_json::to_value(Config::default()).unwrap(),
        "",
        &mut from_structs,
    );
    let from_table: Vec<String> = keys::KEYS.iter().map(|k| k.path.to_string()).collect();
    assert_eq!(
        from_structs, from_table,
        "keys.rs must list every field, in struct order"
    );
    for alias in keys::ALIASES {
        assert!(from_table.iter().any(|k| k == alias.key), "{}", alias.var);
    }
}

#[test]
fn docs_configuration_md_carries_the_current_key_table() {
    const BEGIN: &str =
        "<!-- BEGIN GENERATED KEY TABLE (cargo test -p kbridge-config updates it) -->\n";
    const END: &str = "<!-- END GENERATED KEY TABLE -->";
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let text = std::fs::read_to_string(&path).expect("docs/configuration.md exists");
    let start = text.find(BEGIN).expect("begin marker") + BEGIN.len();
    let end = text.find(END).expect("end marker");
    let table = reference_markdown();
    if text[start..end] != table {
        let updated = format!("{}{table}{}", &text[..start], &text[end..]);
        std::fs::write(&path, updated).unwrap();
        panic!("docs/configuration.md was out of date and has been updated: review and commit it");
    }
}

#[test]
fn exactly_once_caps_the_default_delivery_timeout_at_the_transaction_timeout() {
    let eos = [("KBRIDGE_SINK__DELIVERY_GUARANTEE", "exactly_once")];
    let config = load(None, &eos, &[]).ok();
    let producer = config.client_config_for_producer();
    assert_eq!(producer.get("message.timeout.ms"), Some("60000"));
    assert_eq!(producer.get("transaction.timeout.ms"), Some("60000"));
    let config = load(None, &eos, &["producer.transaction_timeout=90s"]).ok();
    assert_eq!(
        config
            .client_config_for_producer()
            .get("message.timeout.ms"),
        Some("90000")
    );
    let config = load(None, &eos, &["producer.delivery_timeout=20s"]).ok();
    assert_eq!(
        config
            .client_config_for_producer()
            .get("message.timeout.ms"),
        Some("20000")
    );
    // at-least-once keeps the configured value
    let config = load(None, &[], &[]).ok();
    assert_eq!(
        config
            .client_config_for_producer()
            .get("message.timeout.ms"),
        Some("300000")
    );
    assert_eq!(
        load(None, &eos, &["producer.delivery_timeout=2m"]).problems(),
        [
            "producer.delivery_timeout: must not exceed producer.transaction_timeout (built-in default) = 1m when sink.delivery_guarantee (set by env KBRIDGE_SINK__DELIVERY_GUARANTEE) is `exactly_once` (librdkafka's message.timeout.ms <= transaction.timeout.ms) (set by --set producer.delivery_timeout)",
        ]
    );
}
