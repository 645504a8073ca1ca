//! Builder from kbridge's configuration (`[kafka]`, `[consumer]`, `[source]`).

use std::collections::BTreeMap;

use kbridge_config as cfg;

use crate::error::SourceError;
use crate::offsets::{
    Fallback, Isolation, PartitionOffsets, StartOffsets, StopOffsets, TopicPartition,
};
use crate::source::{KafkaSource, KafkaSourceBuilder};

/// librdkafka keys the builder sets from typed fields; the rest of the
/// configuration's consumer properties pass through.
const TYPED: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "client.id",
    "isolation.level",
    "topic.metadata.refresh.interval.ms",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.offset.reset",
];

fn fallback(r: cfg::OffsetReset) -> Fallback {
    match r {
        cfg::OffsetReset::Latest => Fallback::Latest,
        _ => Fallback::Earliest,
    }
}

fn offsets(map: &cfg::PartitionOffsets) -> PartitionOffsets {
    let mut out = BTreeMap::new();
    for (topic, parts) in map {
        for (p, o) in parts {
            out.insert(TopicPartition::new(topic.clone(), *p), *o);
        }
    }
    out
}

/// The configuration's "whole name matches" pattern as a librdkafka
/// subscription (prefix-anchored search): `^(pattern)$`.
fn whole_name(pattern: &str) -> String {
    let p = pattern.strip_prefix('^').unwrap_or(pattern);
    let p = p.strip_suffix('$').unwrap_or(p);
    format!("^({p})$")
}

impl KafkaSourceBuilder {
    /// A builder from kbridge's configuration: brokers, client id and
    /// security from `[kafka]`, group and fetch settings from `[consumer]`
    /// (its librdkafka passthrough included), topics, start and stop
    /// offsets and discovery from `[source]`. Typed builder methods may be
    /// called afterwards to adjust.
    pub fn from_config(config: &cfg::Config) -> Result<Self, SourceError> {
        let src = &config.source;
        let mut b = KafkaSource::builder()
            .bootstrap_servers(config.kafka.brokers.join(","))
            .group_id(config.consumer.group_id.clone())
            .client_id(config.kafka.client_id.clone())
            .discovery_interval(src.partition_discovery_interval)
            .isolation(match config.consumer.isolation_level {
                cfg::IsolationLevel::ReadUncommitted => Isolation::ReadUncommitted,
                _ => Isolation::ReadCommitted,
            });
        b = match &src.topic_regex {
            Some(re) => b.topic_regex(whole_name(re)),
            None => b.topics(src.topics.iter().cloned()),
        };
        b = b.start_offsets(match &src.starting_offsets {
            cfg::StartingOffsets::Earliest => StartOffsets::Earliest,
            cfg::StartingOffsets::Latest => StartOffsets::Latest,
            cfg::StartingOffsets::Committed { fallback: f } => StartOffsets::Committed {
                fallback: fallback(*f),
            },
            cfg::StartingOffsets::Timestamp(t) => StartOffsets::Timestamp(t.as_millis()),
            cfg::StartingOffsets::Specific {
                offsets: o,
                fallback: f,
            } => StartOffsets::Offsets {
                offsets: offsets(o),
                fallback: fallback(*f),
            },
        });
        if let Some(stop) = &src.stop_offsets {
            b = b.stop_offsets(match stop {
                cfg::StopOffsets::LatestAtStart => StopOffsets::LatestAtStart,
                cfg::StopOffsets::Timestamp(t) => StopOffsets::Timestamp(t.as_millis()),
                cfg::StopOffsets::Specific(o) => StopOffsets::Offsets(offsets(o)),
            });
        }
        let props = config.client_config_for_consumer();
        Ok(b.options(
            props
                .iter()
                .filter(|(k, _)| !TYPED.contains(k))
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads `toml` with `{dir}` replaced by a folder holding empty
    /// `ca.pem`, `c.pem` and `c.key` files (the loader checks they exist).
    fn config(toml: &str) -> cfg::Config {
        let dir = std::env::temp_dir().join(format!("kbridge-source-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["ca.pem", "c.pem", "c.key"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let file = dir.join(format!("{}.toml", toml.len()));
        std::fs::write(&file, toml.replace("{dir}", &dir.display().to_string())).unwrap();
        cfg::Config::load(cfg::LoadOptions {
            file: Some(file),
            overrides: Vec::new(),
            env: cfg::EnvVars::none(),
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn maps_sections_onto_the_builder() {
        let c = config(
            r#"
            [kafka]
            brokers = ["k1:9092", "k2:9092"]
            client_id = "bridge-a"
            security_protocol = "SASL_SSL"
            [kafka.sasl]
            mechanism = "SCRAM-SHA-512"
            username = "svc"
            password = "pw-123"
            [kafka.ssl]
            ca_location = "{dir}/ca.pem"
            [consumer]
            group_id = "orders-bridge"
            session_timeout = "6s"
            [consumer.librdkafka]
            "fetch.error.backoff.ms" = "50"
            [source]
            topics = ["orders", "refunds"]
            starting_offsets = { offsets = { orders = { 0 = 42 } }, fallback = "latest" }
            stop_offsets = "latest-at-start"
            partition_discovery_interval = "5s"
            "#,
        );
        let b = KafkaSourceBuilder::from_config(&c).unwrap();
        let s = b.settings().unwrap();
        assert_eq!(s["bootstrap.servers"], "k1:9092,k2:9092");
        assert_eq!(s["group.id"], "orders-bridge");
        assert_eq!(s["client.id"], "bridge-a");
        assert_eq!(s["session.timeout.ms"], "6000");
        assert_eq!(s["fetch.error.backoff.ms"], "50");
        assert_eq!(s["topic.metadata.refresh.interval.ms"], "5000");
        assert_eq!(s["security.protocol"], "sasl_ssl");
        assert_eq!(s["sasl.username"], "svc");
        assert_eq!(s["sasl.password"], "pw-123");
        assert!(s["ssl.ca.location"].ends_with("/ca.pem"));
        assert_eq!(s["enable.auto.commit"], "false");
        assert_eq!(s["isolation.level"], "read_committed");
        let text = format!("{b:?}");
        assert!(!text.contains("pw-123"), "{text}");
        assert!(
            text.contains("orders") && text.contains("LatestAtStart"),
            "{text}"
        );
        assert!(
            text.contains("fallback: Latest"),
            "specific offsets keep their fallback: {text}"
        );
    }

    #[test]
    fn regex_matches_whole_names_and_zero_discovery_is_off() {
        let c = config(
            r#"
            [source]
            topic_regex = "orders\\..*"
            partition_discovery_interval = "0s"
            starting_offsets = { timestamp = "2026-11-01T00:00:00Z" }
            "#,
        );
        let b = KafkaSourceBuilder::from_config(&c).unwrap();
        let s = b.settings().unwrap();
        assert_eq!(s["topic.metadata.refresh.interval.ms"], "-1");
        let text = format!("{b:?}");
        assert!(
            text.contains(r#"pattern: Some("^(orders\\..*)$")"#),
            "{text}"
        );
        assert!(text.contains("Timestamp(1793491200000)"), "{text}");
        assert_eq!(whole_name("^a|b$"), "^(a|b)$");
    }
}
