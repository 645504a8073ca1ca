//! Topic administration: list, describe (leaders, replicas, ISR, configs),
//! create (with [`Preset`]s that flags override), delete, alter configs.
//!
//! Configs are changed with IncrementalAlterConfigs (KIP-339, through
//! librdkafka's C API: rdkafka 0.39 wraps only the legacy AlterConfigs,
//! which replaces the whole set and which tansu does not answer). tansu
//! answers CreateTopics, DeleteTopics, Metadata, DescribeConfigs (only the
//! entries set on the topic) and IncrementalAlterConfigs, but not
//! CreatePartitions.

use crate::{AdminError, Cluster, incremental};
use rdkafka::admin::{ConfigSource, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use serde::Serialize;
use std::collections::BTreeMap;

/// A named set of topic settings; explicit flags override each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// Replication factor 3, `min.insync.replicas=2`, no unclean leader
    /// election, lz4, 30-day retention, 1 MB max message.
    Production,
    /// One replica, one-day retention.
    Dev,
}

impl Preset {
    /// Every preset, for help texts.
    pub const ALL: &'static [Preset] = &[Preset::Production, Preset::Dev];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Production => "production",
            Preset::Dev => "dev",
        }
    }

    /// The replication factor this preset sets.
    pub fn replication_factor(self) -> i32 {
        match self {
            Preset::Production => 3,
            Preset::Dev => 1,
        }
    }

    /// The topic configs this preset sets.
    pub fn configs(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Preset::Production => &[
                ("min.insync.replicas", "2"),
                ("unclean.leader.election.enable", "false"),
                ("compression.type", "lz4"),
                ("retention.ms", "2592000000"),
                ("max.message.bytes", "1048576"),
            ],
            Preset::Dev => &[("retention.ms", "86400000")],
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = AdminError;
    fn from_str(s: &str) -> Result<Self, AdminError> {
        Preset::ALL
            .iter()
            .copied()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                AdminError::invalid(
                    "preset",
                    format!("unknown preset '{s}', expected `production` or `dev`"),
                )
            })
    }
}

/// Parses `key=value` (a topic config or a header).
pub fn parse_key_value(what: &str, raw: &str) -> Result<(String, String), AdminError> {
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(AdminError::invalid(
            what,
            format!("'{raw}' is not of the form key=value"),
        )),
    }
}

/// What to create. Unset fields come from the preset, then the defaults
/// (one partition; the broker's default replication factor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: Option<i32>,
    /// Replication factor.
    pub replication_factor: Option<i32>,
    /// Settings applied before the explicit ones.
    pub preset: Option<Preset>,
    /// Topic configs (`retention.ms=...`), overriding the preset's.
    pub configs: Vec<(String, String)>,
}

/// A [`TopicSpec`] with the preset applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedTopic {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
    /// Replication factor; `None`: the broker's default.
    pub replication_factor: Option<i32>,
    /// Topic configs.
    pub configs: BTreeMap<String, String>,
}

impl TopicSpec {
    /// Applies the preset, then the explicit settings; checks the counts.
    pub fn resolve(&self) -> Result<ResolvedTopic, AdminError> {
        if self.name.trim().is_empty() {
            return Err(AdminError::invalid("topic name", "it is empty"));
        }
        let partitions = self.partitions.unwrap_or(1);
        if partitions < 1 {
            return Err(AdminError::invalid(
                "partition count",
                format!("{partitions}: a topic needs at least one partition"),
            ));
        }
        let replication_factor = self
            .replication_factor
            .or(self.preset.map(Preset::replication_factor));
        if let Some(rf) = replication_factor
            && rf < 1
        {
            return Err(AdminError::invalid(
                "replication factor",
                format!("{rf}: at least one replica is needed"),
            ));
        }
        let mut configs: BTreeMap<String, String> = self
            .preset
            .map(|p| {
                p.configs()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        for (k, v) in &self.configs {
            configs.insert(k.clone(), v.clone());
        }
        Ok(ResolvedTopic {
            name: self.name.clone(),
            partitions,
            replication_factor,
            configs,
        })
    }
}

/// One line of `topics list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicSummary {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: usize,
    /// Replicas of the first partition.
    pub replication_factor: usize,
    /// Kafka-internal (`__consumer_offsets`, `__transaction_state`, ...).
    pub internal: bool,
}

/// Leader, replicas and in-sync replicas of one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionInfo {
    /// Partition number.
    pub partition: i32,
    /// Leader broker id (-1: none).
    pub leader: i32,
    /// Replica broker ids.
    pub replicas: Vec<i32>,
    /// In-sync replica broker ids.
    pub isr: Vec<i32>,
}

/// One topic config entry as the broker describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicConfigEntry {
    /// Config name.
    pub name: String,
    /// Value (`None` for sensitive or unset values).
    pub value: Option<String>,
    /// Where the value comes from (`topic`, `broker`, `default`, ...).
    pub source: &'static str,
    /// The broker reports the default value.
    pub is_default: bool,
    /// Cannot be changed.
    pub read_only: bool,
    /// Sensitive (value withheld).
    pub sensitive: bool,
}

/// `topics describe`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicDescription {
    /// Topic name.
    pub name: String,
    /// Replicas of the first partition.
    pub replication_factor: usize,
    /// Partitions in order.
    pub partitions: Vec<PartitionInfo>,
    /// Config entries, sorted by name.
    pub configs: Vec<TopicConfigEntry>,
}

fn is_internal(name: &str) -> bool {
    name.starts_with("__")
}

/// Every topic with its partition count and replication factor, by name.
pub fn list_topics(cluster: &Cluster) -> Result<Vec<TopicSummary>, AdminError> {
    let client = cluster.metadata_client()?;
    let md = cluster.metadata(&client, None)?;
    let mut topics: Vec<TopicSummary> = md
        .topics()
        .iter()
        .filter(|t| t.error().is_none())
        .map(|t| TopicSummary {
            name: t.name().to_string(),
            partitions: t.partitions().len(),
            replication_factor: t.partitions().first().map_or(0, |p| p.replicas().len()),
            internal: is_internal(t.name()),
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(topics)
}

/// The partitions of `topic` (sorted), or [`AdminError::TopicNotFound`].
pub fn topic_partitions(cluster: &Cluster, topic: &str) -> Result<Vec<PartitionInfo>, AdminError> {
    let client = cluster.metadata_client()?;
    partitions_with(cluster, &client, topic)
}

pub(crate) fn partitions_with(
    cluster: &Cluster,
    client: &rdkafka::consumer::BaseConsumer,
    topic: &str,
) -> Result<Vec<PartitionInfo>, AdminError> {
    let md = cluster.metadata(client, Some(topic))?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return Err(AdminError::TopicNotFound {
            topic: topic.to_string(),
        });
    };
    if t.error().is_some() || t.partitions().is_empty() {
        return Err(AdminError::TopicNotFound {
            topic: topic.to_string(),
        });
    }
    let mut parts: Vec<PartitionInfo> = t
        .partitions()
        .iter()
        .map(|p| PartitionInfo {
            partition: p.id(),
            leader: p.leader(),
            replicas: p.replicas().to_vec(),
            isr: p.isr().to_vec(),
        })
        .collect();
    parts.sort_by_key(|p| p.partition);
    Ok(parts)
}

/// Records retained in `topic` (all partitions, or `only` these) by the
/// watermarks: the sum of high − low. An estimate for progress bars:
/// brokers that under-report the high watermark (tansu) give less.
pub fn estimate_records(
    cluster: &Cluster,
    topic: &str,
    only: Option<&[i32]>,
) -> Result<u64, AdminError> {
    use rdkafka::consumer::Consumer;
    let client = cluster.metadata_client()?;
    let mut total = 0u64;
    for p in partitions_with(cluster, &client, topic)? {
        if only.is_some_and(|o| !o.contains(&p.partition)) {
            continue;
        }
        let (low, high) = client
            .fetch_watermarks(topic, p.partition, cluster.timeout())
            .map_err(|source| AdminError::FetchWatermarks {
                topic: topic.to_string(),
                partition: p.partition,
                source,
            })?;
        total += u64::try_from(high - low).unwrap_or(0);
    }
    Ok(total)
}

fn source_name(source: &ConfigSource) -> &'static str {
    match source {
        ConfigSource::Unknown => "unknown",
        ConfigSource::DynamicTopic => "topic",
        ConfigSource::DynamicBroker => "broker",
        ConfigSource::DynamicDefaultBroker => "default-broker",
        ConfigSource::StaticBroker => "static-broker",
        ConfigSource::Default => "default",
    }
}

fn admin_reason(e: &KafkaError) -> String {
    match e {
        KafkaError::AdminOp(RDKafkaErrorCode::UnsupportedFeature) => {
            "the broker does not support this request".to_string()
        }
        other => other.to_string(),
    }
}

/// The topic's config entries as the broker reports them, sorted by name.
pub async fn describe_configs(
    cluster: &Cluster,
    topic: &str,
) -> Result<Vec<TopicConfigEntry>, AdminError> {
    let admin = cluster.admin_client()?;
    let fail = |reason: String| AdminError::DescribeConfigs {
        topic: topic.to_string(),
        reason,
    };
    let results = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &cluster.admin_options())
        .await
        .map_err(|e| fail(admin_reason(&e)))?;
    let resource = match results.into_iter().next() {
        Some(Ok(r)) => r,
        Some(Err(code)) => return Err(fail(code.to_string())),
        None => return Err(fail("the broker returned no result".to_string())),
    };
    let mut entries: Vec<TopicConfigEntry> = resource
        .entries
        .into_iter()
        .map(|e| TopicConfigEntry {
            value: if e.is_sensitive { None } else { e.value },
            source: source_name(&e.source),
            is_default: e.is_default,
            read_only: e.is_read_only,
            sensitive: e.is_sensitive,
            name: e.name,
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Partitions (leader, replicas, ISR) and configs of `topic`.
pub async fn describe_topic(
    cluster: &Cluster,
    topic: &str,
) -> Result<TopicDescription, AdminError> {
    let partitions = topic_partitions(cluster, topic)?;
    let configs = describe_configs(cluster, topic).await?;
    Ok(TopicDescription {
        name: topic.to_string(),
        replication_factor: partitions.first().map_or(0, |p| p.replicas.len()),
        partitions,
        configs,
    })
}

/// What [`create_topic`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CreateOutcome {
    /// The topic was created.
    Created,
    /// It existed already (and `if_not_exists` was set).
    AlreadyExists,
}

/// Creates a topic. The replication factor is checked against the number
/// of brokers first (some brokers accept more replicas than they have).
pub async fn create_topic(
    cluster: &Cluster,
    spec: &TopicSpec,
    if_not_exists: bool,
) -> Result<(ResolvedTopic, CreateOutcome), AdminError> {
    let resolved = spec.resolve()?;
    let fail = |reason: String| AdminError::CreateTopic {
        topic: resolved.name.clone(),
        reason,
    };
    let client = cluster.metadata_client()?;
    let md = cluster.metadata(&client, None)?;
    if let Some(rf) = resolved.replication_factor {
        let brokers = md.brokers().len();
        if usize::try_from(rf).unwrap_or(usize::MAX) > brokers {
            return Err(fail(format!(
                "replication factor {rf} is more than the {brokers} broker(s) in the cluster; \
                 use --replication-factor {brokers} (or --preset dev)"
            )));
        }
    }
    let admin = cluster.admin_client()?;
    let mut topic = NewTopic::new(
        &resolved.name,
        resolved.partitions,
        TopicReplication::Fixed(resolved.replication_factor.unwrap_or(-1)),
    );
    for (k, v) in &resolved.configs {
        topic = topic.set(k, v);
    }
    let results = admin
        .create_topics([&topic], &cluster.admin_options())
        .await
        .map_err(|e| fail(admin_reason(&e)))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok((resolved, CreateOutcome::Created)),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) if if_not_exists => {
            Ok((resolved, CreateOutcome::AlreadyExists))
        }
        Some(Err((_, code))) => Err(fail(code.to_string())),
        None => Err(fail("the broker returned no result".to_string())),
    }
}

/// Deletes topics; each topic gets its own result (a missing topic is an
/// error unless `if_exists`).
pub async fn delete_topics(
    cluster: &Cluster,
    topics: &[&str],
    if_exists: bool,
) -> Result<Vec<Result<String, AdminError>>, AdminError> {
    let admin = cluster.admin_client()?;
    let results = admin
        .delete_topics(topics, &cluster.admin_options())
        .await
        .map_err(|e| AdminError::DeleteTopic {
            topic: topics.join(","),
            reason: admin_reason(&e),
        })?;
    Ok(results
        .into_iter()
        .filter_map(|r| match r {
            Ok(name) => Some(Ok(name)),
            Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) if if_exists => None,
            Err((name, RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                Some(Err(AdminError::TopicNotFound { topic: name }))
            }
            Err((name, code)) => Some(Err(AdminError::DeleteTopic {
                topic: name,
                reason: code.to_string(),
            })),
        })
        .collect())
}

/// Before and after of [`alter_topic_config`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlteredConfig {
    /// Topic-level configs before the change.
    pub before: BTreeMap<String, String>,
    /// Topic-level configs sent (the complete new set).
    pub after: BTreeMap<String, String>,
}

/// The new topic-level config set: `current` with `set` applied and
/// `delete` removed.
pub fn merge_configs(
    current: &BTreeMap<String, String>,
    set: &[(String, String)],
    delete: &[String],
) -> BTreeMap<String, String> {
    let mut next = current.clone();
    for (k, v) in set {
        next.insert(k.clone(), v.clone());
    }
    for k in delete {
        next.remove(k);
    }
    next
}

/// Sets and removes topic-level configs with one IncrementalAlterConfigs
/// request (what `kafka-configs --alter` sends): only the named keys
/// change. `before` and `after` are the topic-level entries around it.
pub async fn alter_topic_config(
    cluster: &Cluster,
    topic: &str,
    set: &[(String, String)],
    delete: &[String],
) -> Result<AlteredConfig, AdminError> {
    topic_partitions(cluster, topic)?;
    let before: BTreeMap<String, String> = describe_configs(cluster, topic)
        .await?
        .into_iter()
        .filter(|e| e.source == "topic")
        .filter_map(|e| e.value.map(|v| (e.name, v)))
        .collect();
    let after = merge_configs(&before, set, delete);
    let admin = cluster.admin_client()?;
    let ops: Vec<incremental::Op<'_>> = set
        .iter()
        .map(|(k, v)| incremental::Op::Set(k, v))
        .chain(delete.iter().map(|k| incremental::Op::Delete(k)))
        .collect();
    incremental::alter_topic(&admin, topic, &ops, cluster.timeout()).map_err(|reason| {
        AdminError::AlterConfigs {
            topic: topic.to_string(),
            reason,
        }
    })?;
    Ok(AlteredConfig { before, after })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(preset: Option<Preset>) -> TopicSpec {
        TopicSpec {
            name: "orders".into(),
            preset,
            ..TopicSpec::default()
        }
    }

    #[test]
    fn production_preset_sets_every_documented_value() {
        let r = spec(Some(Preset::Production)).resolve().unwrap();
        assert_eq!(r.replication_factor, Some(3));
        assert_eq!(r.partitions, 1);
        let c = |k: &str| r.configs.get(k).map(String::as_str);
        assert_eq!(c("min.insync.replicas"), Some("2"));
        assert_eq!(c("unclean.leader.election.enable"), Some("false"));
        assert_eq!(c("compression.type"), Some("lz4"));
        assert_eq!(c("retention.ms"), Some("2592000000")); // 30 days
        assert_eq!(c("max.message.bytes"), Some("1048576"));
        assert_eq!(r.configs.len(), 5);
    }

    #[test]
    fn flags_override_the_preset() {
        let mut s = spec(Some(Preset::Production));
        s.replication_factor = Some(1);
        s.partitions = Some(6);
        s.configs = vec![
            ("retention.ms".into(), "1000".into()),
            ("cleanup.policy".into(), "compact".into()),
        ];
        let r = s.resolve().unwrap();
        assert_eq!(r.replication_factor, Some(1));
        assert_eq!(r.partitions, 6);
        assert_eq!(r.configs["retention.ms"], "1000");
        assert_eq!(r.configs["cleanup.policy"], "compact");
        assert_eq!(r.configs["compression.type"], "lz4");
    }

    #[test]
    fn dev_preset_and_no_preset() {
        let r = spec(Some(Preset::Dev)).resolve().unwrap();
        assert_eq!(r.replication_factor, Some(1));
        assert_eq!(r.configs["retention.ms"], "86400000");
        let r = spec(None).resolve().unwrap();
        assert_eq!(r.replication_factor, None);
        assert!(r.configs.is_empty());
    }

    #[test]
    fn bad_counts_and_names_are_rejected() {
        let mut s = spec(None);
        s.partitions = Some(0);
        assert_eq!(
            s.resolve().unwrap_err().to_string(),
            "invalid partition count: 0: a topic needs at least one partition"
        );
        let mut s = spec(None);
        s.replication_factor = Some(0);
        assert!(s.resolve().is_err());
        assert!("staging".parse::<Preset>().is_err());
        assert_eq!("Production".parse::<Preset>().unwrap(), Preset::Production);
    }

    #[test]
    fn key_values_and_merges() {
        assert_eq!(
            parse_key_value("config", "retention.ms=5=6").unwrap(),
            ("retention.ms".to_string(), "5=6".to_string())
        );
        assert!(parse_key_value("config", "retention.ms").is_err());
        assert!(parse_key_value("config", "=1").is_err());
        let current = BTreeMap::from([
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
        ]);
        let next = merge_configs(
            &current,
            &[("b".into(), "3".into()), ("c".into(), "4".into())],
            &["a".into()],
        );
        assert_eq!(
            next,
            BTreeMap::from([
                ("b".to_string(), "3".to_string()),
                ("c".to_string(), "4".to_string())
            ])
        );
    }
}
