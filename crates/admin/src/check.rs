//! `kbridge check`: can this configuration run here? One [`CheckResult`]
//! per question, each with a fix hint when it fails.
//!
//! In order: broker connectivity (metadata within the timeout), the cluster
//! id and brokers, each configured topic (source topics or pattern, sink
//! topic, dead-letter topic) and its partition count, a consumer-group join
//! (on a probe group next to the configured one, so running pipelines are
//! not rebalanced), the schema registry and the subjects the codecs write,
//! and — with exactly-once — `init_transactions` under the configured
//! transactional-id prefix (with an id of its own, so no running instance
//! is fenced). Checks that need an unreachable broker are skipped.

use crate::{AdminError, Cluster};
use kbridge_config::{Config, DeliveryGuarantee, FormatConfig, SchemaVersion, SubjectNameStrategy};
use kbridge_registry::{RegistryClient, VersionSelector};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::metadata::Metadata;
use rdkafka::producer::{BaseProducer, Producer};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// Passed.
    Ok,
    /// Failed (the report fails).
    Failed,
    /// Not applicable, or not possible after an earlier failure.
    Skipped,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// What was checked (`broker connectivity`, `source topic 'orders'`).
    pub name: String,
    /// The outcome.
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// How to fix it (failures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Every check, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// No check failed.
    pub ok: bool,
    /// The checks.
    pub checks: Vec<CheckResult>,
}

/// What to check besides the defaults.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Join a consumer group.
    pub join_group: bool,
    /// How long the group join may take.
    pub join_timeout: Duration,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            join_group: true,
            join_timeout: Duration::from_secs(30),
        }
    }
}

fn ok(name: impl Into<String>, detail: impl Into<String>) -> CheckResult {
    CheckResult {
        name: name.into(),
        status: CheckStatus::Ok,
        detail: detail.into(),
        hint: None,
    }
}

fn failed(
    name: impl Into<String>,
    detail: impl Into<String>,
    hint: impl Into<String>,
) -> CheckResult {
    CheckResult {
        name: name.into(),
        status: CheckStatus::Failed,
        detail: detail.into(),
        hint: Some(hint.into()),
    }
}

fn skipped(name: impl Into<String>, detail: impl Into<String>) -> CheckResult {
    CheckResult {
        name: name.into(),
        status: CheckStatus::Skipped,
        detail: detail.into(),
        hint: None,
    }
}

/// The full chain of an error, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        cur = s.source();
    }
    out
}

/// The subject a codec side writes under, if it uses the registry and the
/// name can be known without a record.
fn output_subject(fc: &FormatConfig, side: &str, sink_topic: &str) -> Result<String, String> {
    if let Some(s) = &fc.subject {
        return Ok(s.clone());
    }
    let record_name = || -> Result<String, String> {
        let file = fc.schema_file.as_ref().ok_or_else(|| {
            "the subject depends on the record name; set codec.*.schema_file or codec.*.subject"
                .to_string()
        })?;
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("read {}: {e}", file.display()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("parse {}: {e}", file.display()))?;
        let name = json["name"].as_str().unwrap_or_default();
        match json["namespace"].as_str() {
            _ if name.contains('.') => Ok(name.to_string()),
            Some(ns) if !ns.is_empty() => Ok(format!("{ns}.{name}")),
            _ if !name.is_empty() => Ok(name.to_string()),
            _ => Err(format!("{} has no record name", file.display())),
        }
    };
    match fc.subject_name_strategy {
        SubjectNameStrategy::Topic => Ok(format!("{sink_topic}-{side}")),
        SubjectNameStrategy::Record => record_name(),
        SubjectNameStrategy::TopicRecord => Ok(format!("{sink_topic}-{}", record_name()?)),
    }
}

/// Runs every check. `registry` is the client built from
/// `[schema_registry]`; registry checks run when a codec uses the registry.
pub async fn run_checks(
    config: &Config,
    cluster: &Cluster,
    registry: Option<&RegistryClient>,
    options: &CheckOptions,
) -> CheckReport {
    let mut checks = Vec::new();
    let brokers = cluster.brokers().to_string();

    // ---- broker connectivity, cluster
    let c = cluster.clone();
    let started = Instant::now();
    let probe =
        tokio::task::spawn_blocking(move || -> Result<(Metadata, Option<String>), AdminError> {
            let client = c.metadata_client()?;
            let md = c.metadata(&client, None)?;
            let id = client.client().fetch_cluster_id(c.timeout());
            Ok((md, id))
        })
        .await;
    let metadata = match probe {
        Ok(Ok((md, id))) => {
            checks.push(ok(
                "broker connectivity",
                format!(
                    "metadata from {brokers} in {} ms",
                    started.elapsed().as_millis()
                ),
            ));
            let list: Vec<String> = md
                .brokers()
                .iter()
                .map(|b| format!("{} at {}:{}", b.id(), b.host(), b.port()))
                .collect();
            checks.push(ok(
                "cluster",
                format!(
                    "id {}, {} broker(s): {}",
                    id.as_deref().unwrap_or("(not reported)"),
                    list.len(),
                    list.join(", ")
                ),
            ));
            Some(md)
        }
        Ok(Err(e)) => {
            checks.push(failed(
                "broker connectivity",
                format!(
                    "no answer within {:?}: {}",
                    cluster.timeout(),
                    chain(&e)
                ),
                format!(
                    "is a broker running at {brokers}? check kafka.brokers (KAFKA_BOOTSTRAP_SERVERS), \
                     that this host can reach it (firewall, DNS, the broker's advertised listeners), \
                     and that kafka.security_protocol matches the listener"
                ),
            ));
            None
        }
        Err(join) => {
            checks.push(failed(
                "broker connectivity",
                format!("the check panicked: {join}"),
                "report this as a bug",
            ));
            None
        }
    };

    // ---- topics
    let source = &config.source;
    let mut source_topics: Vec<String> = source.topics.clone();
    let unreachable = "skipped: the broker is unreachable";
    match &metadata {
        None => checks.push(skipped("topics", unreachable)),
        Some(md) => {
            let find = |name: &str| {
                md.topics()
                    .iter()
                    .find(|t| t.name() == name && t.error().is_none() && !t.partitions().is_empty())
                    .map(|t| t.partitions().len())
            };
            let topic_check = |kind: &str, name: &str, what_to_fix: &str| {
                let label = format!("{kind} topic '{name}'");
                match find(name) {
                    Some(n) => ok(label, format!("exists, {n} partition(s)")),
                    None => failed(
                        label,
                        "does not exist",
                        format!(
                            "create it (kbridge topics create {name} --partitions N) or fix {what_to_fix}"
                        ),
                    ),
                }
            };
            if let Some(re) = &source.topic_regex {
                match regex::Regex::new(&format!("^(?:{re})$")) {
                    Ok(compiled) => {
                        let matched: Vec<String> = md
                            .topics()
                            .iter()
                            .filter(|t| t.error().is_none() && compiled.is_match(t.name()))
                            .map(|t| t.name().to_string())
                            .collect();
                        let label = format!("source topics matching '{re}'");
                        if matched.is_empty() {
                            checks.push(failed(
                                label,
                                "no topic matches",
                                "create a matching topic or fix source.topic_regex",
                            ));
                        } else {
                            checks.push(ok(
                                label,
                                format!("{} topic(s): {}", matched.len(), matched.join(", ")),
                            ));
                        }
                        source_topics = matched;
                    }
                    Err(e) => checks.push(failed(
                        "source topic pattern",
                        format!("invalid regular expression: {e}"),
                        "fix source.topic_regex",
                    )),
                }
            } else if source.topics.is_empty() {
                checks.push(skipped("source topics", "none configured (source.topics)"));
            } else {
                for t in &source.topics {
                    checks.push(topic_check("source", t, "source.topics"));
                }
            }
            match &config.sink.topic {
                None => checks.push(skipped(
                    "sink topic",
                    "sink.topic is unset (transforms route records)",
                )),
                Some(pattern) if pattern.contains("{topic}") => {
                    for s in &source_topics {
                        checks.push(topic_check(
                            "sink",
                            &config.sink.topic_for(s).unwrap_or_default(),
                            "sink.topic",
                        ));
                    }
                }
                Some(t) => checks.push(topic_check("sink", t, "sink.topic")),
            }
            if config.dead_letter.enabled {
                let mut seen = Vec::new();
                for s in &source_topics {
                    let t = config.dead_letter.topic_for(s);
                    if !seen.contains(&t) {
                        checks.push(topic_check("dead-letter", &t, "dead_letter.topic"));
                        seen.push(t);
                    }
                }
            } else {
                checks.push(skipped("dead-letter topic", "dead_letter.enabled is false"));
            }
        }
    }

    // ---- consumer group join
    let group = config.consumer.group_id.clone();
    if !options.join_group {
        checks.push(skipped("consumer group", "not requested"));
    } else if metadata.is_none() {
        checks.push(skipped("consumer group", unreachable));
    } else if let Some(topic) = source_topics
        .iter()
        .find(|t| {
            metadata.as_ref().is_some_and(|md| {
                md.topics()
                    .iter()
                    .any(|x| x.name() == t.as_str() && !x.partitions().is_empty())
            })
        })
        .cloned()
    {
        let probe_group = format!("{group}-kbridge-check");
        let c = cluster.clone();
        let timeout = options.join_timeout;
        let pg = probe_group.clone();
        let started = Instant::now();
        let joined =
            tokio::task::spawn_blocking(move || join_group(&c, &pg, &topic, timeout)).await;
        let label = format!("consumer group '{probe_group}'");
        checks.push(match joined {
            Ok(Ok(n)) => ok(
                label,
                format!(
                    "joined and got {n} partition(s) in {} ms (probe group next to '{group}')",
                    started.elapsed().as_millis()
                ),
            ),
            Ok(Err(reason)) => failed(
                label,
                reason,
                format!(
                    "the principal needs READ on group '{group}*' and the topics; \
                     the broker's group coordinator must be available"
                ),
            ),
            Err(join) => failed(
                label,
                format!("the check panicked: {join}"),
                "report this as a bug",
            ),
        });
    } else {
        checks.push(skipped(
            "consumer group",
            "no existing source topic to subscribe to",
        ));
    }

    // ---- schema registry and subjects
    let sides = [("key", &config.codec.key), ("value", &config.codec.value)];
    let uses_registry = sides
        .iter()
        .any(|(_, fc)| fc.format.uses_registry() || fc.output().uses_registry());
    match (uses_registry, registry) {
        (false, _) => checks.push(skipped("schema registry", "no codec uses the registry")),
        (true, None) => checks.push(failed(
            "schema registry",
            "no registry client",
            "set schema_registry.url",
        )),
        (true, Some(client)) => {
            let urls = client.urls().join(", ");
            match client.check_reachable().await {
                Err(e) => checks.push(failed(
                    "schema registry",
                    format!("{urls}: {}", chain(&e)),
                    "check schema_registry.url (SCHEMA_REGISTRY_URL), its credentials and TLS settings",
                )),
                Ok(()) => {
                    checks.push(ok("schema registry", format!("reachable at {urls}")));
                    let sink_topics: Vec<String> = match &config.sink.topic {
                        Some(t) if t.contains("{topic}") => source_topics
                            .iter()
                            .filter_map(|s| config.sink.topic_for(s))
                            .collect(),
                        Some(t) => vec![t.clone()],
                        None => Vec::new(),
                    };
                    for (side, fc) in sides {
                        if !fc.output().uses_registry() {
                            continue;
                        }
                        if sink_topics.is_empty() && fc.subject.is_none() {
                            checks.push(skipped(
                                format!("{side} subject"),
                                "depends on the routed topic (sink.topic unset)",
                            ));
                        }
                        let mut subjects: Vec<Result<String, String>> = sink_topics
                            .iter()
                            .map(|t| output_subject(fc, side, t))
                            .collect();
                        if fc.subject.is_some() {
                            subjects.truncate(1);
                            if subjects.is_empty() {
                                subjects.push(output_subject(fc, side, ""));
                            }
                        }
                        for subject in subjects {
                            checks.push(subject_check(client, side, fc, subject).await);
                        }
                    }
                }
            }
        }
    }

    // ---- transactions
    if config.sink.delivery_guarantee != DeliveryGuarantee::ExactlyOnce {
        checks.push(skipped(
            "transactional id",
            "sink.delivery_guarantee is at_least_once",
        ));
    } else if metadata.is_none() {
        checks.push(skipped("transactional id", unreachable));
    } else {
        let prefix = config.sink.transactional_id_prefix.clone();
        let id = format!("{prefix}-kbridge-check-{}", std::process::id());
        let c = cluster.clone();
        let tid = id.clone();
        // librdkafka refuses a transactional producer whose delivery timeout
        // exceeds the transaction timeout; the sink caps it the same way.
        let message_timeout = config
            .producer
            .delivery_timeout
            .min(config.producer.transaction_timeout)
            .as_millis()
            .to_string();
        let result = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let producer: BaseProducer = c
                .producer_config(&[
                    ("transactional.id", tid.as_str()),
                    ("message.timeout.ms", message_timeout.as_str()),
                ])
                .create()
                .map_err(|e| e.to_string())?;
            producer
                .init_transactions(c.timeout())
                .map_err(|e| e.to_string())
        })
        .await;
        let label = format!("transactional id prefix '{prefix}'");
        checks.push(match result {
            Ok(Ok(())) => ok(label, format!("init_transactions succeeded as '{id}'")),
            Ok(Err(e)) => failed(
                label,
                format!("init_transactions as '{id}': {e}"),
                format!(
                    "the principal needs WRITE and DESCRIBE on TransactionalId prefix '{prefix}' \
                     (and IDEMPOTENT_WRITE on the cluster); the brokers need transactions enabled \
                     (transaction.state.log.replication.factor <= broker count)"
                ),
            ),
            Err(join) => failed(
                label,
                format!("the check panicked: {join}"),
                "report this as a bug",
            ),
        });
    }

    CheckReport {
        ok: checks.iter().all(|c| c.status != CheckStatus::Failed),
        checks,
    }
}

async fn subject_check(
    client: &RegistryClient,
    side: &str,
    fc: &FormatConfig,
    subject: Result<String, String>,
) -> CheckResult {
    let subject = match subject {
        Ok(s) => s,
        Err(reason) => {
            return failed(format!("{side} subject"), reason, "set codec.*.subject");
        }
    };
    let label = format!("{side} subject '{subject}'");
    let selector = match fc.version {
        Some(SchemaVersion::Number(n)) => VersionSelector::Number(n),
        _ => VersionSelector::Latest,
    };
    match client.version(&subject, selector, false).await {
        Ok(v) => ok(label, format!("version {} (schema id {})", v.version, v.id)),
        Err(e) if e.is_not_found() && fc.auto_register && fc.version.is_none() => ok(
            label,
            "not registered yet; the first write registers it (auto_register)",
        ),
        Err(e) if e.is_not_found() => failed(
            label,
            format!("version {selector} not found"),
            format!(
                "register it (kbridge schema register {subject} FILE.avsc) or enable codec.{side}.auto_register"
            ),
        ),
        Err(e) => failed(
            label,
            chain(&e),
            "check the registry's logs and permissions",
        ),
    }
}

/// Subscribes a probe consumer and waits for an assignment.
fn join_group(
    cluster: &Cluster,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> Result<usize, String> {
    let consumer: BaseConsumer = cluster
        .consumer_config(
            Some(group),
            &[
                ("session.timeout.ms", "6000"),
                ("heartbeat.interval.ms", "1000"),
                ("enable.auto.commit", "false"),
            ],
        )
        .create()
        .map_err(|e| e.to_string())?;
    consumer.subscribe(&[topic]).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    while Instant::now() < deadline {
        if let Some(Err(e)) = consumer.poll(Duration::from_millis(200)) {
            last_error = Some(e.to_string());
        }
        if let Ok(a) = consumer.assignment()
            && a.count() > 0
        {
            let n = a.count();
            consumer.unsubscribe();
            return Ok(n);
        }
    }
    consumer.unsubscribe();
    Err(match last_error {
        Some(e) => format!("no partitions assigned within {timeout:?}; last error: {e}"),
        None => format!("no partitions assigned within {timeout:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_strategy() {
        let mut fc = FormatConfig::default();
        assert_eq!(
            output_subject(&fc, "value", "orders").unwrap(),
            "orders-value"
        );
        fc.subject = Some("pinned".into());
        assert_eq!(output_subject(&fc, "value", "orders").unwrap(), "pinned");
        fc.subject = None;
        fc.subject_name_strategy = SubjectNameStrategy::Record;
        assert!(
            output_subject(&fc, "value", "orders")
                .unwrap_err()
                .contains("schema_file")
        );
        let dir = std::env::temp_dir().join(format!("kbridge-admin-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("order.avsc");
        std::fs::write(
            &file,
            r#"{"type":"record","name":"Order","namespace":"acme","fields":[]}"#,
        )
        .unwrap();
        fc.schema_file = Some(file);
        assert_eq!(
            output_subject(&fc, "value", "orders").unwrap(),
            "acme.Order"
        );
        fc.subject_name_strategy = SubjectNameStrategy::TopicRecord;
        assert_eq!(
            output_subject(&fc, "value", "orders").unwrap(),
            "orders-acme.Order"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_report_fails_when_any_check_fails() {
        let report = |v: Vec<CheckResult>| CheckReport {
            ok: v.iter().all(|c| c.status != CheckStatus::Failed),
            checks: v,
        };
        assert!(report(vec![ok("a", ""), skipped("b", "")]).ok);
        assert!(!report(vec![ok("a", ""), failed("b", "", "h")]).ok);
        let json = serde_json::to_value(failed("b", "d", "h")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name": "b", "status": "failed", "detail": "d", "hint": "h"})
        );
    }
}
