//! `kbridge dlq inspect TOPIC` (errors grouped by stage and class, with
//! counts and samples) and `kbridge dlq replay TOPIC --to TOPIC` (original
//! key, value and headers without the error headers, optionally filtered).

use super::output::{self, Progress};
use crate::global::GlobalArgs;
use clap::{Args, Subcommand};
use kbridge_admin::Cluster;
use kbridge_admin::consume::{ReadOptions, StartFrom};
use kbridge_admin::dlq::{self, ReplayFilter, ReplayOptions};
use kbridge_admin::topics::{estimate_records, parse_key_value};
use std::process::ExitCode;
use std::time::Duration;

/// `kbridge dlq …`
#[derive(Debug, Args)]
pub struct DlqArgs {
    /// Limit of each broker request
    #[arg(long, default_value = "10s", value_parser = output::duration, global = true)]
    timeout: Duration,
    /// Stop reading after this long without a record, even if a partition
    /// never reported its end
    #[arg(long, default_value = "5s", value_parser = output::duration, global = true)]
    idle_timeout: Duration,
    /// Print JSON instead of text
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Count dead-letter records by stage and class, with samples
    Inspect {
        /// Dead-letter topic
        topic: String,
        /// Samples kept per group
        #[arg(long, default_value_t = 3)]
        samples: usize,
        /// Start position (earliest, latest, offset, -N, RFC 3339 time)
        #[arg(long, default_value = "earliest", allow_hyphen_values = true)]
        from: String,
    },
    /// Re-produce dead-letter records to a topic, without the error headers
    Replay {
        /// Dead-letter topic
        topic: String,
        /// Destination topic (usually the pipeline's source topic)
        #[arg(long)]
        to: String,
        /// Only records of this stage (VALUE_CONVERTER, TRANSFORMATION, ...)
        #[arg(long)]
        stage: Option<String>,
        /// Only records of this class
        #[arg(long = "class")]
        class_name: Option<String>,
        /// Only records whose error message matches this regular expression
        #[arg(long = "match", value_name = "REGEX")]
        message: Option<String>,
        /// Only records with a header matching, repeatable: --header-match tenant=^acme
        #[arg(long = "header-match", value_name = "NAME=REGEX")]
        headers: Vec<String>,
        /// Count what would be replayed; produce nothing
        #[arg(long)]
        dry_run: bool,
        /// Keep each record's timestamp (default: the replay time)
        #[arg(long)]
        keep_timestamp: bool,
        /// At most this many records per second
        #[arg(long)]
        rate: Option<f64>,
        /// Start position (earliest, latest, offset, -N, RFC 3339 time)
        #[arg(long, default_value = "earliest", allow_hyphen_values = true)]
        from: String,
    },
}

/// Runs one `dlq` subcommand.
pub fn run(global: &GlobalArgs, args: DlqArgs) -> anyhow::Result<ExitCode> {
    let config = global.setup()?;
    let cluster = Cluster::from_config(&config).with_timeout(args.timeout);
    let read = |topic: &str, from: &str| -> anyhow::Result<ReadOptions> {
        Ok(ReadOptions {
            from: Some(from.parse::<StartFrom>()?),
            idle_timeout: args.idle_timeout,
            ..ReadOptions::to_end(topic)
        })
    };
    match &args.command {
        DlqCommand::Inspect {
            topic,
            samples,
            from,
        } => {
            let estimate = estimate_records(&cluster, topic, None)?;
            let mut progress = Progress::new(Some(estimate), "records");
            let summary = dlq::inspect(&cluster, &read(topic, from)?, *samples, |n| {
                progress.update(n, n, String::new)
            })?;
            progress.finish();
            if args.json {
                output::print_json(&summary)?;
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{}: {} record(s) in {} group(s){}",
                summary.topic,
                summary.total,
                summary.groups.len(),
                if summary.without_context > 0 {
                    format!(", {} without error headers", summary.without_context)
                } else {
                    String::new()
                }
            );
            if summary.groups.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = output::table(["STAGE", "CLASS", "COUNT", "SOURCE TOPICS"]);
            for g in &summary.groups {
                t.add_row([
                    g.stage.clone(),
                    g.class_name.clone(),
                    g.count.to_string(),
                    g.source_topics
                        .iter()
                        .map(|(t, n)| format!("{t} ({n})"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ]);
            }
            println!("{t}");
            let mut s = output::table(["STAGE / CLASS", "AT", "SOURCE", "KEY", "MESSAGE"]);
            for g in &summary.groups {
                for sample in &g.samples {
                    let e = &sample.error;
                    s.add_row([
                        format!("{} / {}", g.stage, g.class_name),
                        format!("{}@{}", sample.partition, sample.offset),
                        format!(
                            "{}[{}]@{}",
                            e.topic.as_deref().unwrap_or("?"),
                            e.partition.map_or("?".into(), |p| p.to_string()),
                            e.offset.map_or("?".into(), |o| o.to_string())
                        ),
                        sample.key.clone().unwrap_or_default(),
                        e.message.clone().unwrap_or_default(),
                    ]);
                }
            }
            println!("samples:\n{s}");
        }
        DlqCommand::Replay {
            topic,
            to,
            stage,
            class_name,
            message,
            headers,
            dry_run,
            keep_timestamp,
            rate,
            from,
        } => {
            let mut filter = ReplayFilter::all();
            if let Some(s) = stage {
                filter = filter.stage(s);
            }
            if let Some(c) = class_name {
                filter = filter.class_name(c);
            }
            if let Some(m) = message {
                filter = filter.message(m)?;
            }
            for h in headers {
                let (name, re) = parse_key_value("header match", h)?;
                filter = filter.header(name, &re)?;
            }
            let options = ReplayOptions {
                to: to.clone(),
                filter,
                dry_run: *dry_run,
                keep_timestamp: *keep_timestamp,
                rate: *rate,
            };
            let estimate = estimate_records(&cluster, topic, None)?;
            let mut progress = Progress::new(Some(estimate), "records");
            let stats = dlq::replay(&cluster, &read(topic, from)?, &options, |s| {
                progress.update(s.read, s.read, || {
                    format!("{} replayed, {} skipped", s.replayed, s.skipped)
                })
            })?;
            progress.finish();
            if args.json {
                output::print_json(&serde_json::json!({
                    "from": topic,
                    "to": to,
                    "dry_run": dry_run,
                    "read": stats.read,
                    "replayed": stats.replayed,
                    "skipped": stats.skipped,
                }))?;
            } else {
                println!(
                    "{} {} of {} record(s) from {topic} to {to} ({} left out by the filter)",
                    if *dry_run { "would replay" } else { "replayed" },
                    stats.replayed,
                    stats.read,
                    stats.skipped
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
