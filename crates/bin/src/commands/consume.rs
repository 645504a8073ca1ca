//! `kbridge consume TOPIC`: decoded records as JSON lines (default) or a
//! table, with partition, offset, timestamp, key and headers. Follows the
//! topic by default; `--no-follow` stops at the end (partition EOF events
//! plus an idle timeout, never the high watermark alone).

use super::output;
use crate::global::GlobalArgs;
use clap::{Args, ValueEnum};
use kbridge_admin::consume::{
    DataFormat, ReadEvent, ReadOptions, RecordDecoder, StartFrom, TopicReader,
};
use kbridge_admin::{Cluster, RegistryResolver};
use kbridge_codec::SchemaResolver;
use serde_json::Value as Json;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    /// One JSON object per record
    Json,
    /// A table (printed whenever the topic goes quiet, and at the end)
    Table,
}

/// `kbridge consume`
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    /// Topic to read
    topic: String,
    /// Start: earliest, latest, committed, an offset (42), -N (N before
    /// the end), an RFC 3339 time or @epoch-ms. Default: the group's
    /// commits with --group, else earliest
    #[arg(long, allow_hyphen_values = true)]
    from: Option<String>,
    /// Stop after this many records
    #[arg(long, short = 'n')]
    count: Option<u64>,
    /// Commit read positions under this group (without it nothing is
    /// committed and partitions are assigned directly)
    #[arg(long, short = 'g')]
    group: Option<String>,
    /// Only this partition (repeatable)
    #[arg(long = "partition", short = 'p')]
    partitions: Vec<i32>,
    /// Stop at the end of the topic instead of waiting for new records
    #[arg(long, alias = "until-end")]
    no_follow: bool,
    /// With --no-follow: stop after this long without a record even if a
    /// partition never reported its end
    #[arg(long, default_value = "5s", value_parser = output::duration)]
    idle_timeout: Duration,
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value = "json")]
    output: Output,
    /// How to read keys: auto, avro, json, string, bytes
    #[arg(long, default_value = "auto")]
    key_format: String,
    /// How to read values: auto, avro, json, string, bytes
    #[arg(long, default_value = "auto")]
    value_format: String,
    /// Registry URL, overriding schema_registry.url
    #[arg(long = "registry-url", value_name = "URL")]
    registry_url: Vec<String>,
    /// Limit of each broker request
    #[arg(long, default_value = "10s", value_parser = output::duration)]
    timeout: Duration,
}

fn cell(v: &Json, max: usize) -> String {
    let text = match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    };
    if text.chars().count() > max {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn print_table(rows: &mut Vec<Json>) {
    if rows.is_empty() {
        return;
    }
    let mut t = output::table([
        "PARTITION",
        "OFFSET",
        "TIMESTAMP",
        "KEY",
        "VALUE",
        "HEADERS",
    ]);
    for r in rows.drain(..) {
        let headers = r["headers"]
            .as_array()
            .map(|hs| {
                hs.iter()
                    .map(|h| format!("{}={}", cell(&h[0], 40), cell(&h[1], 40)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        t.add_row([
            r["partition"].to_string(),
            r["offset"].to_string(),
            cell(&r["timestamp"], 30),
            cell(&r["key"], 40),
            cell(&r["value"], 120),
            headers,
        ]);
    }
    println!("{t}");
}

/// Reads and prints records until the count, the end (`--no-follow`) or Ctrl-C.
pub fn run(global: &GlobalArgs, args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let config = global.setup()?;
    let cluster = Cluster::from_config(&config).with_timeout(args.timeout);
    let key_format: DataFormat = args.key_format.parse()?;
    let value_format: DataFormat = args.value_format.parse()?;
    let resolver: Option<Arc<dyn SchemaResolver>> = match super::schema::client(
        &config.schema_registry,
        &args.registry_url,
    ) {
        Ok(client) => Some(Arc::new(RegistryResolver::new(client)?)),
        Err(e) if key_format != DataFormat::Avro && value_format != DataFormat::Avro => {
            tracing::warn!(error = %crate::global::error_chain(&e), "no schema registry: Avro records are shown as base64");
            None
        }
        Err(e) => return Err(e),
    };
    let decoder = RecordDecoder::new(key_format, value_format, resolver)?;
    let from = args
        .from
        .as_deref()
        .map(str::parse::<StartFrom>)
        .transpose()?;
    let options = ReadOptions {
        topic: args.topic.clone(),
        partitions: (!args.partitions.is_empty()).then(|| args.partitions.clone()),
        from,
        group: args.group.clone(),
        follow: !args.no_follow,
        idle_timeout: args.idle_timeout,
        join_timeout: Duration::from_secs(60),
        librdkafka: Vec::new(),
    };
    let mut reader = TopicReader::open(&cluster, &options)?;
    let stop = output::interrupt_flag();
    let mut rows = Vec::new();
    let mut seen = 0u64;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = (|| -> anyhow::Result<()> {
        while !stop.load(Ordering::SeqCst) && args.count.is_none_or(|n| seen < n) {
            match reader.poll(Duration::from_millis(200))? {
                ReadEvent::Record(r) => {
                    seen += 1;
                    let j = decoder.to_json(&r);
                    match args.output {
                        Output::Json => writeln!(out, "{j}")?,
                        Output::Table => rows.push(j),
                    }
                }
                ReadEvent::Idle => {
                    out.flush()?;
                    print_table(&mut rows);
                }
                ReadEvent::End => break,
            }
        }
        out.flush()?;
        print_table(&mut rows);
        Ok(())
    })();
    let closed = reader.close();
    result?;
    closed?;
    tracing::debug!(records = seen, "consume finished");
    Ok(ExitCode::SUCCESS)
}
