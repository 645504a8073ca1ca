//! `kbridge topics list|describe|create|delete|alter-config`.

use super::output;
use crate::global::GlobalArgs;
use anyhow::bail;
use clap::{Args, Subcommand};
use kbridge_admin::Cluster;
use kbridge_admin::topics::{self, CreateOutcome, Preset, TopicSpec, parse_key_value};
use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

/// `kbridge topics …`
#[derive(Debug, Args)]
pub struct TopicsArgs {
    /// Limit of each broker request
    #[arg(long, default_value = "10s", value_parser = output::duration, global = true)]
    timeout: Duration,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: TopicsCommand,
}

#[derive(Debug, Subcommand)]
enum TopicsCommand {
    /// List topics with partition counts and replication factors
    List {
        /// Include internal topics (`__consumer_offsets`, ...)
        #[arg(long)]
        all: bool,
    },
    /// Show partitions (leader, replicas, ISR) and configs (every entry
    /// the broker reports, with its source)
    Describe {
        topic: String,
        /// Only configs set on the topic (as the broker marks them; tansu
        /// marks every entry as a default)
        #[arg(long)]
        overrides_only: bool,
    },
    /// Create a topic
    Create {
        topic: String,
        /// Partition count (default 1)
        #[arg(long, short = 'p')]
        partitions: Option<i32>,
        /// Replication factor (default: the preset's, else the broker's)
        #[arg(long, short = 'r')]
        replication_factor: Option<i32>,
        /// `production` (3 replicas, min.insync.replicas=2, no unclean
        /// election, lz4, 30 days, 1 MB messages) or `dev` (1 replica,
        /// 1 day); flags override it
        #[arg(long)]
        preset: Option<String>,
        /// A topic config, repeatable: --config retention.ms=86400000
        /// (also spelled --topic-config)
        #[arg(long = "topic-config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
        /// Succeed when the topic exists already
        #[arg(long)]
        if_not_exists: bool,
    },
    /// Delete topics
    Delete {
        #[arg(required = true)]
        topics: Vec<String>,
        /// Succeed when a topic does not exist
        #[arg(long)]
        if_exists: bool,
    },
    /// Set or remove topic configs
    AlterConfig {
        topic: String,
        /// Set a config, repeatable: --config retention.ms=3600000
        /// (also spelled --topic-config)
        #[arg(long = "topic-config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
        /// Remove a topic-level config (back to the broker default), repeatable
        #[arg(long = "delete-config", value_name = "KEY")]
        delete: Vec<String>,
    },
}

fn pairs(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    Ok(raw
        .iter()
        .map(|r| parse_key_value("topic config", r))
        .collect::<Result<_, _>>()?)
}

fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Lets `topics create` and `topics alter-config` take topic configs as
/// `--config KEY=VALUE`, the spelling of Kafka's own `kafka-topics.sh`.
/// `--config`/`-c` is also the global configuration-file flag, so after
/// `topics create|alter-config` a value that holds `=` and names no existing
/// file is rewritten to `--topic-config KEY=VALUE`; every other argument
/// passes through untouched.
pub fn topic_config_flags(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let args: Vec<OsString> = args.into_iter().collect();
    let Some(at) = args
        .windows(2)
        .position(|w| w[0] == "topics" && (w[1] == "create" || w[1] == "alter-config"))
    else {
        return args;
    };
    let is_topic_config = |v: &str| v.contains('=') && !std::path::Path::new(v).exists();
    let mut out = args[..at + 2].to_vec();
    let mut rest = args[at + 2..].iter();
    while let Some(arg) = rest.next() {
        let text = arg.to_str().unwrap_or_default();
        if let Some(v) = text
            .strip_prefix("--config=")
            .filter(|v| is_topic_config(v))
        {
            out.push(format!("--topic-config={v}").into());
        } else if text == "--config" || text == "-c" {
            match rest.next() {
                Some(v) if v.to_str().is_some_and(is_topic_config) => {
                    out.push("--topic-config".into());
                    out.push(v.clone());
                }
                Some(v) => {
                    out.push(arg.clone());
                    out.push(v.clone());
                }
                None => out.push(arg.clone()),
            }
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// Runs one `topics` subcommand.
pub fn run(global: &GlobalArgs, args: TopicsArgs) -> anyhow::Result<ExitCode> {
    let config = global.setup()?;
    let cluster = Cluster::from_config(&config).with_timeout(args.timeout);
    match &args.command {
        TopicsCommand::List { all } => {
            let list: Vec<_> = topics::list_topics(&cluster)?
                .into_iter()
                .filter(|t| *all || !t.internal)
                .collect();
            if args.json {
                output::print_json(&list)?;
            } else {
                let mut t = output::table(["TOPIC", "PARTITIONS", "REPLICATION"]);
                for topic in &list {
                    t.add_row([
                        topic.name.clone(),
                        topic.partitions.to_string(),
                        topic.replication_factor.to_string(),
                    ]);
                }
                println!("{t}");
            }
        }
        TopicsCommand::Describe {
            topic,
            overrides_only,
        } => {
            let mut d = output::block_on(topics::describe_topic(&cluster, topic))??;
            if *overrides_only {
                d.configs.retain(|c| c.source == "topic" || !c.is_default);
            }
            if args.json {
                output::print_json(&d)?;
            } else {
                println!(
                    "topic {}: {} partition(s), replication factor {}",
                    d.name,
                    d.partitions.len(),
                    d.replication_factor
                );
                let mut t = output::table(["PARTITION", "LEADER", "REPLICAS", "ISR"]);
                for p in &d.partitions {
                    t.add_row([
                        p.partition.to_string(),
                        p.leader.to_string(),
                        ids(&p.replicas),
                        ids(&p.isr),
                    ]);
                }
                println!("{t}");
                if d.configs.is_empty() {
                    println!(
                        "no {}configs reported",
                        if *overrides_only { "topic-level " } else { "" }
                    );
                } else {
                    let mut t = output::table(["CONFIG", "VALUE", "SOURCE"]);
                    for c in &d.configs {
                        t.add_row([
                            c.name.clone(),
                            c.value.clone().unwrap_or_else(|| {
                                if c.sensitive {
                                    "(sensitive)".into()
                                } else {
                                    "-".into()
                                }
                            }),
                            c.source.to_string(),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
        TopicsCommand::Create {
            topic,
            partitions,
            replication_factor,
            preset,
            configs,
            if_not_exists,
        } => {
            let spec = TopicSpec {
                name: topic.clone(),
                partitions: *partitions,
                replication_factor: *replication_factor,
                preset: preset.as_deref().map(str::parse::<Preset>).transpose()?,
                configs: pairs(configs)?,
            };
            let (resolved, outcome) =
                output::block_on(topics::create_topic(&cluster, &spec, *if_not_exists))??;
            if args.json {
                output::print_json(&serde_json::json!({
                    "topic": resolved,
                    "outcome": outcome,
                }))?;
            } else {
                let rf = resolved
                    .replication_factor
                    .map_or("broker default".to_string(), |r| r.to_string());
                match outcome {
                    CreateOutcome::Created => println!(
                        "created topic {} ({} partition(s), replication factor {})",
                        resolved.name, resolved.partitions, rf
                    ),
                    CreateOutcome::AlreadyExists => {
                        println!("topic {} exists already", resolved.name)
                    }
                }
                for (k, v) in &resolved.configs {
                    println!("  {k}={v}");
                }
            }
        }
        TopicsCommand::Delete {
            topics: names,
            if_exists,
        } => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let results = output::block_on(topics::delete_topics(&cluster, &refs, *if_exists))??;
            let mut failed = 0;
            for r in &results {
                match r {
                    Ok(name) => println!("deleted topic {name}"),
                    Err(e) => {
                        failed += 1;
                        eprintln!("error: {e}");
                    }
                }
            }
            if failed > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        TopicsCommand::AlterConfig {
            topic,
            configs,
            delete,
        } => {
            let set = pairs(configs)?;
            if set.is_empty() && delete.is_empty() {
                bail!("nothing to change: give --topic-config KEY=VALUE or --delete-config KEY");
            }
            let altered =
                output::block_on(topics::alter_topic_config(&cluster, topic, &set, delete))??;
            if args.json {
                output::print_json(&altered)?;
            } else {
                println!("altered configs of topic {topic}:");
                for (k, v) in &altered.after {
                    let was = altered.before.get(k);
                    match was {
                        Some(old) if old != v => println!("  {k}={v} (was {old})"),
                        Some(_) => println!("  {k}={v}"),
                        None => println!("  {k}={v} (new)"),
                    }
                }
                for k in altered
                    .before
                    .keys()
                    .filter(|k| !altered.after.contains_key(*k))
                {
                    println!("  {k} removed");
                }
                // brokers that report every entry as a default (tansu) give
                // no "before": still say what was asked to go
                for k in delete.iter().filter(|k| !altered.before.contains_key(*k)) {
                    println!("  {k} removed");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::topic_config_flags;
    use std::ffi::OsString;

    fn rewrite(args: &[&str]) -> Vec<String> {
        topic_config_flags(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn topic_configs_may_be_spelled_like_kafka_topics_sh() {
        assert_eq!(
            rewrite(&[
                "kbridge",
                "topics",
                "create",
                "t",
                "--config",
                "retention.ms=1",
                "--config=cleanup.policy=compact"
            ]),
            [
                "kbridge",
                "topics",
                "create",
                "t",
                "--topic-config",
                "retention.ms=1",
                "--topic-config=cleanup.policy=compact"
            ]
        );
        assert_eq!(
            rewrite(&[
                "kbridge",
                "-c",
                "k.toml",
                "topics",
                "alter-config",
                "t",
                "-c",
                "a=b"
            ]),
            [
                "kbridge",
                "-c",
                "k.toml",
                "topics",
                "alter-config",
                "t",
                "--topic-config",
                "a=b"
            ]
        );
    }

    #[test]
    fn configuration_files_and_other_commands_are_untouched() {
        let file = std::env::temp_dir().join(format!("kb=topics-{}.toml", std::process::id()));
        std::fs::write(&file, "").unwrap();
        let f = file.to_str().unwrap();
        assert_eq!(
            rewrite(&["kbridge", "topics", "create", "t", "--config", f]),
            ["kbridge", "topics", "create", "t", "--config", f]
        );
        std::fs::remove_file(&file).unwrap();
        for args in [
            &["kbridge", "run", "--config", "a=b.toml"][..],
            &["kbridge", "topics", "describe", "t", "--config", "x=y"][..],
        ] {
            assert_eq!(rewrite(args), args);
        }
    }
}
