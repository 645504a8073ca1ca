//! The real images (Apache Kafka in KRaft mode, Confluent Schema Registry)
//! and how they are configured; shared by `stack up` and `it`, and kept in
//! step with `docker/compose.yaml`.

/// Apache Kafka, single KRaft node (broker + controller). Override with
/// `XTASK_KAFKA_IMAGE=name:tag`.
pub const KAFKA_IMAGE: &str = "apache/kafka:4.1.0";
/// Confluent Schema Registry. Override with `XTASK_REGISTRY_IMAGE=name:tag`.
pub const REGISTRY_IMAGE: &str = "confluentinc/cp-schema-registry:8.0.0";

/// Listener the host reaches (mapped to a host port, advertised as
/// `127.0.0.1:<host port>`).
pub const KAFKA_EXTERNAL_PORT: u16 = 9092;
/// Listener other containers on the network reach (`<name>:19092`).
pub const KAFKA_INTERNAL_PORT: u16 = 19092;
/// Port the schema registry listens on inside its container.
pub const REGISTRY_PORT: u16 = 8081;

/// Line the Kafka broker logs once it serves clients.
pub const KAFKA_READY_LOG: &str = "Kafka Server started";
/// Line the schema registry logs once it serves requests.
pub const REGISTRY_READY_LOG: &str = "Server started, listening for requests";

/// The image reference to use: the env override or the default.
pub fn kafka_image() -> String {
    std::env::var("XTASK_KAFKA_IMAGE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| KAFKA_IMAGE.to_string())
}

/// The image reference to use: the env override or the default.
pub fn registry_image() -> String {
    std::env::var("XTASK_REGISTRY_IMAGE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| REGISTRY_IMAGE.to_string())
}

/// Split `name:tag` (a registry host with a port stays in the name).
pub fn split_reference(reference: &str) -> (String, String) {
    match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') && !name.is_empty() => {
            (name.to_string(), tag.to_string())
        }
        _ => (reference.to_string(), "latest".to_string()),
    }
}

/// Environment for `apache/kafka`: one KRaft node, an INTERNAL listener for
/// containers (`internal_host:19092`), an EXTERNAL one advertised as
/// `external` (`127.0.0.1:<host port>`), replication factors of 1 so
/// transactions and consumer groups work on a single node.
pub fn kafka_env(internal_host: &str, external: &str) -> Vec<(String, String)> {
    [
        // a base64 UUID, as `kafka-storage format` requires
        ("CLUSTER_ID", "MkU3OEVBNTcwNTJENDM2Qk".to_string()),
        ("KAFKA_NODE_ID", "1".to_string()),
        ("KAFKA_PROCESS_ROLES", "broker,controller".to_string()),
        (
            "KAFKA_LISTENERS",
            format!(
                "INTERNAL://0.0.0.0:{KAFKA_INTERNAL_PORT},EXTERNAL://0.0.0.0:{KAFKA_EXTERNAL_PORT},CONTROLLER://localhost:9093"
            ),
        ),
        (
            "KAFKA_ADVERTISED_LISTENERS",
            format!("INTERNAL://{internal_host}:{KAFKA_INTERNAL_PORT},EXTERNAL://{external}"),
        ),
        (
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
            "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT".to_string(),
        ),
        ("KAFKA_INTER_BROKER_LISTENER_NAME", "INTERNAL".to_string()),
        ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".to_string()),
        ("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093".to_string()),
        ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1".to_string()),
        ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1".to_string()),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1".to_string()),
        ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0".to_string()),
        ("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Environment for `confluentinc/cp-schema-registry` storing schemas in the
/// broker reachable at `kafka_internal` (`host:port` on the container network).
pub fn registry_env(kafka_internal: &str) -> Vec<(String, String)> {
    vec![
        (
            "SCHEMA_REGISTRY_HOST_NAME".to_string(),
            "schema-registry".to_string(),
        ),
        (
            "SCHEMA_REGISTRY_LISTENERS".to_string(),
            format!("http://0.0.0.0:{REGISTRY_PORT}"),
        ),
        (
            "SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS".to_string(),
            format!("PLAINTEXT://{kafka_internal}"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_name_and_tag() {
        assert_eq!(
            split_reference("apache/kafka:4.1.0"),
            ("apache/kafka".into(), "4.1.0".into())
        );
        assert_eq!(
            split_reference("localhost:5000/kafka"),
            ("localhost:5000/kafka".into(), "latest".into())
        );
        assert_eq!(
            split_reference("localhost:5000/kafka:1"),
            ("localhost:5000/kafka".into(), "1".into())
        );
    }

    #[test]
    fn kafka_advertises_the_host_address_outside_and_the_name_inside() {
        let env = kafka_env("kafka", "127.0.0.1:40000");
        let advertised = env
            .iter()
            .find(|(k, _)| k == "KAFKA_ADVERTISED_LISTENERS")
            .map(|(_, v)| v.as_str());
        assert_eq!(
            advertised,
            Some("INTERNAL://kafka:19092,EXTERNAL://127.0.0.1:40000")
        );
    }
}
