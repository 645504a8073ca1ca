//! Builder from kbridge's configuration (`[kafka]`, `[producer]`, `[sink]`).

use kbridge_config as cfg;

use crate::error::SinkError;
use crate::sink::{Acks, Compression, KafkaSink, KafkaSinkBuilder};

/// librdkafka keys the builder sets from typed fields; the rest of the
/// configuration's producer properties pass through.
const TYPED: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "compression.type",
    "linger.ms",
    "batch.size",
    "acks",
    "enable.idempotence",
    "transactional.id",
    "transaction.timeout.ms",
];

impl KafkaSinkBuilder {
    /// A builder from kbridge's configuration: brokers, client id and
    /// security from `[kafka]`, producer settings from `[producer]` (its
    /// librdkafka passthrough included), the default topic and the delivery
    /// guarantee from `[sink]`. For exactly-once the transactional id is
    /// `<sink.transactional_id_prefix>-<instance>`. A `sink.topic` with a
    /// `{topic}` placeholder is not a fixed topic: the caller routes each
    /// record.
    pub fn from_config(config: &cfg::Config, instance: &str) -> Result<Self, SinkError> {
        let p = &config.producer;
        let batch = usize::try_from(p.batch_size).map_err(|_| SinkError::Configure {
            reason: format!("producer.batch_size {} is too large", p.batch_size),
        })?;
        let mut b = KafkaSink::builder()
            .bootstrap_servers(config.kafka.brokers.join(","))
            .client_id(config.kafka.client_id.clone())
            .compression(match p.compression {
                cfg::Compression::Gzip => Compression::Gzip,
                cfg::Compression::Snappy => Compression::Snappy,
                cfg::Compression::Lz4 => Compression::Lz4,
                cfg::Compression::Zstd => Compression::Zstd,
                _ => Compression::None,
            })
            .linger(p.linger)
            .batch_size(batch)
            .acks(match p.acks {
                cfg::Acks::One => Acks::Leader,
                cfg::Acks::Zero => Acks::None,
                _ => Acks::All,
            })
            .idempotence(p.idempotence)
            .transaction_timeout(p.transaction_timeout);
        if let Some(topic) = config
            .sink
            .topic
            .as_deref()
            .filter(|t| !t.contains("{topic}"))
        {
            b = b.topic(topic);
        }
        if config.sink.delivery_guarantee == cfg::DeliveryGuarantee::ExactlyOnce {
            b = b.exactly_once(&config.sink.transactional_id_prefix, instance);
        }
        let props = config.client_config_for_producer();
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
        let dir = std::env::temp_dir().join(format!("kbridge-sink-cfg-{}", std::process::id()));
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
            brokers = ["k1:9092"]
            client_id = "bridge-b"
            security_protocol = "SSL"
            [kafka.ssl]
            ca_location = "{dir}/ca.pem"
            certificate_location = "{dir}/c.pem"
            key_location = "{dir}/c.key"
            key_password = "kp-9"
            [producer]
            compression = "zstd"
            linger = "20ms"
            batch_size = "256KiB"
            delivery_timeout = "20s"
            transaction_timeout = "30s"
            [producer.librdkafka]
            "queue.buffering.max.messages" = "200000"
            [sink]
            topic = "orders.v2"
            delivery_guarantee = "exactly_once"
            transactional_id_prefix = "orders-bridge"
            "#,
        );
        let b = KafkaSinkBuilder::from_config(&c, "host-1").unwrap();
        let s = b.settings().unwrap();
        assert_eq!(s["bootstrap.servers"], "k1:9092");
        assert_eq!(s["client.id"], "bridge-b");
        assert_eq!(s["compression.type"], "zstd");
        assert_eq!(s["linger.ms"], "20");
        assert_eq!(s["batch.size"], "262144");
        assert_eq!(s["message.timeout.ms"], "20000");
        assert_eq!(s["transaction.timeout.ms"], "30000");
        assert_eq!(s["transactional.id"], "orders-bridge-host-1");
        assert_eq!(s["queue.buffering.max.messages"], "200000");
        assert_eq!(s["security.protocol"], "ssl");
        assert_eq!(s["ssl.key.password"], "kp-9");
        assert!(s["ssl.certificate.location"].ends_with("/c.pem"));
        let text = format!("{b:?}");
        assert!(!text.contains("kp-9"), "{text}");
        assert!(text.contains("topic: Some(\"orders.v2\")"), "{text}");
    }

    #[test]
    fn placeholder_topic_is_routed_by_the_caller() {
        let c = config("[sink]\ntopic = \"{topic}.v2\"\n");
        let b = KafkaSinkBuilder::from_config(&c, "i").unwrap();
        assert!(format!("{b:?}").contains("topic: None"));
        let s = b.settings().unwrap();
        assert!(!s.contains_key("transactional.id"));
        assert_eq!(s["enable.idempotence"], "true");
    }
}
