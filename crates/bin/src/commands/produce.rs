//! `kbridge produce TOPIC`: JSON lines from stdin (or `--file`) to Avro
//! under a registry subject, JSON, or text; keys, headers, a rate limit and
//! a progress bar for long inputs. Errors name the line and field path.

use super::output::{self, Progress};
use crate::global::GlobalArgs;
use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use kbridge_admin::Cluster;
use kbridge_admin::produce::{
    KeySource, LineEncoder, OutgoingRecord, RecordProducer, ValueEncoding, avro_value_encoding,
};
use kbridge_admin::topics::{parse_key_value, topic_partitions};
use kbridge_codec::Path as FieldPath;
use kbridge_config::Format;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::{Duration, Instant};

/// Value format of `produce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ValueFormat {
    /// Confluent-framed Avro under a registry subject
    Avro,
    /// The JSON document, compact
    Json,
    /// The line as text
    String,
}

/// `kbridge produce`
#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Destination topic
    topic: String,
    /// Read JSON lines from this file instead of stdin
    #[arg(long, short = 'f')]
    file: Option<PathBuf>,
    /// Value format (default: avro with --schema or --subject, else the
    /// configured codec.value format)
    #[arg(long, value_enum)]
    format: Option<ValueFormat>,
    /// Avro schema file to register under the subject (default: the
    /// subject's latest version)
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Registry subject (default: TOPIC-value)
    #[arg(long)]
    subject: Option<String>,
    /// Take each record's key from this field (`id`, `customer.id`)
    #[arg(long, conflicts_with = "key")]
    key_field: Option<String>,
    /// The same key for every record
    #[arg(long)]
    key: Option<String>,
    /// A header for every record, repeatable: --header source=cli
    #[arg(long = "header", value_name = "KEY=VALUE")]
    headers: Vec<String>,
    /// Write every record to this partition (default: by key)
    #[arg(long)]
    partition: Option<i32>,
    /// At most this many records per second
    #[arg(long)]
    rate: Option<f64>,
    /// Registry URL, overriding schema_registry.url
    #[arg(long = "registry-url", value_name = "URL")]
    registry_url: Vec<String>,
    /// Limit of each broker request; the final flush waits up to
    /// producer.delivery_timeout
    #[arg(long, default_value = "10s", value_parser = output::duration)]
    timeout: Duration,
}

fn value_format(args: &ProduceArgs, configured: Format) -> ValueFormat {
    if let Some(f) = args.format {
        return f;
    }
    if args.schema.is_some() || args.subject.is_some() || configured.is_avro() {
        return ValueFormat::Avro;
    }
    match configured {
        Format::Json | Format::JsonSchemaConfluent => ValueFormat::Json,
        _ => ValueFormat::String,
    }
}

/// Input lines read on their own thread, so that a Ctrl-C is seen while
/// the input (a terminal, a pipe) is silent.
fn read_lines(input: Box<dyn Read + Send>) -> Receiver<std::io::Result<String>> {
    let (tx, rx) = sync_channel(4096);
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(1 << 16, input);
        loop {
            let mut line = String::new();
            let item = match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => Ok(line),
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// Produces every input line; exit 1 at the first invalid line (after
/// flushing the records before it), 130 on Ctrl-C/SIGTERM (after flushing
/// the records sent so far).
pub fn run(global: &GlobalArgs, args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let config = global.setup()?;
    let cluster = Cluster::from_config(&config).with_timeout(args.timeout);
    // a missing topic is an error here, not an auto-created topic
    topic_partitions(&cluster, &args.topic)?;

    let format = value_format(&args, config.codec.value.output());
    let value = match format {
        ValueFormat::Json => ValueEncoding::Json,
        ValueFormat::String => ValueEncoding::String,
        ValueFormat::Avro => {
            let registry = super::schema::client(&config.schema_registry, &args.registry_url)?;
            let subject = args
                .subject
                .clone()
                .unwrap_or_else(|| format!("{}-value", args.topic));
            let text = args
                .schema
                .as_ref()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .with_context(|| format!("read schema file {}", p.display()))
                })
                .transpose()?;
            output::block_on(avro_value_encoding(&registry, &subject, text.as_deref()))??
        }
    };
    let key = match (&args.key_field, &args.key) {
        (Some(f), _) => KeySource::Field(
            FieldPath::parse(f).map_err(|e| anyhow::anyhow!("invalid --key-field `{f}`: {e}"))?,
        ),
        (None, Some(k)) => KeySource::Fixed(k.clone()),
        (None, None) => KeySource::None,
    };
    let headers: Vec<(String, String)> = args
        .headers
        .iter()
        .map(|h| parse_key_value("header", h))
        .collect::<Result<_, _>>()?;
    let header_refs: Vec<(&str, Option<&[u8]>)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_bytes())))
        .collect();
    let encoder = LineEncoder::new(value, key);

    let (input, size): (Box<dyn Read + Send>, Option<u64>) = match &args.file {
        Some(p) => {
            let f = std::fs::File::open(p).with_context(|| format!("open {}", p.display()))?;
            let size = f.metadata().ok().map(|m| m.len());
            (Box::new(f), size)
        }
        None => (Box::new(std::io::stdin()), None),
    };
    let lines = read_lines(input);
    let interrupted = output::interrupt_flag();
    let mut producer = RecordProducer::new(&cluster, &args.topic, args.rate)?;
    let mut progress = Progress::new(size, if size.is_some() { "bytes" } else { "records" });
    let started = Instant::now();
    let mut line_no = 0u64;
    let mut bytes_read = 0u64;
    let mut failure = None;
    let mut stopped = false;
    loop {
        // Ctrl-C / SIGTERM: stop reading, deliver what was sent, say so
        if interrupted.load(Ordering::Relaxed) {
            stopped = true;
            break;
        }
        let line = match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => {
                failure =
                    Some(anyhow::Error::new(e).context(format!("read input line {}", line_no + 1)));
                break;
            }
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let n = line.len();
        line_no += 1;
        bytes_read += n as u64;
        if line.trim().is_empty() {
            continue;
        }
        let encoded = match encoder.encode(line_no, &line) {
            Ok(e) => e,
            Err(e) => {
                failure = Some(e.into());
                break;
            }
        };
        if let Err(e) = producer.send(OutgoingRecord {
            key: encoded.key.as_deref(),
            value: Some(&encoded.value),
            headers: &header_refs,
            partition: args.partition,
            timestamp_ms: None,
        }) {
            failure = Some(e.into());
            break;
        }
        let sent = producer.stats().sent;
        progress.update(if size.is_some() { bytes_read } else { sent }, sent, || {
            format!("{sent} records")
        });
    }
    progress.finish();
    // after an interrupt the user is waiting: deliver for at most 10 s
    let flush_for = if stopped {
        config
            .producer
            .delivery_timeout
            .min(Duration::from_secs(10))
    } else {
        config.producer.delivery_timeout
    };
    let flushed = producer.flush(flush_for);
    let stats = producer.stats();
    if let Some(e) = failure {
        eprintln!(
            "{} record(s) before the failing line were produced to {}",
            stats.delivered, args.topic
        );
        return Err(e);
    }
    let stats = flushed?;
    if stopped {
        eprintln!(
            "interrupted after input line {line_no}: {} record(s) produced to {}",
            stats.delivered, args.topic
        );
        return Ok(ExitCode::from(130));
    }
    let secs = started.elapsed().as_secs_f64();
    let schema = match encoder.value_encoding() {
        ValueEncoding::Avro { subject, id, .. } => {
            format!(" (avro, subject {subject}, schema id {id})")
        }
        ValueEncoding::Json => " (json)".to_string(),
        ValueEncoding::String => " (text)".to_string(),
    };
    eprintln!(
        "produced {} record(s) to {}{} in {:.2}s ({:.0} records/s)",
        stats.delivered,
        args.topic,
        schema,
        secs,
        stats.delivered as f64 / secs.max(1e-6)
    );
    if stats.delivered != stats.sent {
        bail!(
            "{} of {} record(s) were not acknowledged",
            stats.sent - stats.delivered,
            stats.sent
        );
    }
    Ok(ExitCode::SUCCESS)
}
