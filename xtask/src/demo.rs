//! `cargo xtask demo`: the main job on a fresh machine, end to end.
//!
//! 1. the local stack (`cargo xtask stack up`: Docker when it answers, else
//!    local processes; tansu and the embedded registry need neither Docker
//!    nor images), unless `--bootstrap`/`--registry-url` name one;
//! 2. topics and the health-telemetry schema (`kbridge topics create`,
//!    `kbridge schema register`);
//! 3. a sample stream: generated readings through `kbridge produce` (Avro,
//!    ~2% sensor errors with a negative value), plus a few corrupt records
//!    and a few framed with a schema id the registry does not know;
//! 4. `kbridge run --config examples/demo.toml` (exactly-once, five
//!    transforms, dead-letter topic) with a progress display, stopped with
//!    SIGTERM once every record of the stream is committed;
//! 5. a summary: records in, out, filtered, dead-lettered by stage and
//!    class, throughput; where the metrics are; commands to look further.
//!
//! Running it again appends a new sample stream, which the pipeline's group
//! picks up from its committed offsets.

use crate::bench::kafka;
use crate::bench::pipeline::PipelineRun;
use crate::bench::prom::{self, Scrape};
use crate::registry;
use crate::stack::{self, Broker, Runtime, StackCommand, UpArgs};
use crate::util::{display, parse_env_file, port_or_free, target_dir, workspace_root};
use anyhow::{Context, Result, bail};
use clap::Args;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Valid records in the sample stream
    #[arg(long, default_value_t = 5000)]
    pub records: usize,
    /// Use this broker instead of the local stack (needs --registry-url)
    #[arg(long, requires = "registry_url")]
    pub bootstrap: Option<String>,
    /// Use this schema registry instead of the local stack's
    #[arg(long, requires = "bootstrap")]
    pub registry_url: Option<String>,
    /// Prefix of the topics (`<prefix>.health`, `.clean`, `.dlq`), the group
    /// and the transactional id
    #[arg(long, default_value = "demo")]
    pub prefix: String,
    /// The kbridge binary to run (default: build target/debug/kbridge)
    #[arg(long)]
    pub kbridge_bin: Option<PathBuf>,
    /// Print the result as one JSON object on stdout (for scripts and tests)
    #[arg(long)]
    pub json: bool,
}

/// Corrupt records: not Avro at all, or Avro cut short.
const CORRUPT: usize = 5;
/// Records framed with a schema id no registry here has.
const UNKNOWN_ID: usize = 3;
const UNKNOWN_SCHEMA_ID: u32 = 999_999;

/// What the sample stream holds.
#[derive(Debug, Default, Clone, Copy)]
struct Stream {
    valid: u64,
    negative: u64,
    corrupt: u64,
    unknown_schema: u64,
}

impl Stream {
    fn total(&self) -> u64 {
        self.valid + self.corrupt + self.unknown_schema
    }
}

pub fn run(args: DemoArgs) -> Result<()> {
    let t_all = Instant::now();
    let (bootstrap, registry_url) = endpoints(&args)?;
    let kbridge = match &args.kbridge_bin {
        Some(b) => b.clone(),
        None => registry::build_kbridge()?,
    };
    let work = target_dir().join("demo").join(&args.prefix);
    std::fs::create_dir_all(&work)?;
    let input = format!("{}.health", args.prefix);
    let output = format!("{input}.clean");
    let dlq = format!("{input}.dlq");
    let subject = format!("{input}-value");
    let kb = Kbridge {
        bin: kbridge.clone(),
        bootstrap: bootstrap.clone(),
        registry_url: registry_url.clone(),
        quiet: args.json,
    };

    step(&args, "topics and schema");
    for (topic, partitions) in [(&input, "3"), (&output, "3"), (&dlq, "1")] {
        kb.run(&[
            "topics",
            "create",
            topic,
            "--partitions",
            partitions,
            "--if-not-exists",
        ])?;
    }
    let schema = workspace_root().join("examples/health.avsc");
    let id = kb.output(&[
        "schema",
        "register",
        &subject,
        &schema.display().to_string(),
        "--registry-url",
        &registry_url,
    ])?;
    say(
        &args,
        &format!("registered examples/health.avsc under {subject}: schema id {id}"),
    );

    step(&args, "sample stream");
    let (lines, negative) = sample_lines(args.records);
    let file = work.join("readings.jsonl");
    std::fs::write(&file, lines)?;
    kb.run(&[
        "produce",
        &input,
        "--file",
        &file.display().to_string(),
        "--subject",
        &subject,
        "--key-field",
        "user_id",
        "--registry-url",
        &registry_url,
    ])?;
    let id: u32 = id.trim().parse().context("the schema id")?;
    let bad = bad_records(id);
    let p = kafka::producer(&bootstrap)?;
    for (key, value) in &bad {
        kafka::send(&p, &input, Some(key.as_bytes()), value)?;
    }
    kafka::drain(&p, Duration::from_secs(30))?;
    drop(p);
    let stream = Stream {
        valid: args.records as u64,
        negative,
        corrupt: CORRUPT as u64,
        unknown_schema: UNKNOWN_ID as u64,
    };
    say(
        &args,
        &format!(
            "{} readings ({} with the sensor-error value -1) through `kbridge produce`, \
             then {CORRUPT} corrupt records and {UNKNOWN_ID} framed with unknown schema id {UNKNOWN_SCHEMA_ID}",
            stream.valid, stream.negative
        ),
    );

    step(&args, "exactly-once pipeline (examples/demo.toml)");
    let (port, _) = port_or_free(9464)?;
    let config = workspace_root().join("examples/demo.toml");
    let sets = vec![
        format!("kafka.brokers={bootstrap}"),
        format!("schema_registry.url={registry_url}"),
        format!("source.topics={input}"),
        format!("sink.topic={output}"),
        format!("consumer.group_id={}-health", args.prefix),
        format!("sink.transactional_id_prefix={}", args.prefix),
    ];
    let log = work.join("pipeline.log");
    let mut pipeline = PipelineRun::spawn(&kbridge, &config, &sets, port, "demo", &log)?;
    say(
        &args,
        &format!(
            "kbridge run --config examples/demo.toml  (metrics: {}, log: {})",
            pipeline.metrics_url,
            log.display()
        ),
    );
    let progress = follow(&args, &mut pipeline, &input, &output, stream.total())?;
    let summary = pipeline.stop(Duration::from_secs(60))?;

    let result = json!({
        "stream": {
            "valid": stream.valid,
            "negative": stream.negative,
            "corrupt": stream.corrupt,
            "unknown_schema": stream.unknown_schema,
        },
        "summary": summary,
        "dead_lettered_by_class": progress.dead_lettered,
        "window_seconds": progress.window.as_secs_f64(),
        "records_per_second": progress.rate(),
        "metrics_url": pipeline_url(port),
        "topics": {"input": input, "output": output, "dead_letter": dlq},
    });
    if args.json {
        println!("{result}");
    } else {
        print_summary(
            &args, &summary, &progress, &stream, port, &input, &output, &dlq,
        );
        eprintln!("demo: done in {:.0} s", t_all.elapsed().as_secs_f64());
    }
    check(&summary, &stream)
}

fn pipeline_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/metrics")
}

/// The summary must add up: everything read is accounted for, and the
/// stream's records are all there (more only if an earlier run left some).
fn check(summary: &Json, stream: &Stream) -> Result<()> {
    let n = |k: &str| summary.get(k).and_then(Json::as_u64).unwrap_or(0);
    let dead: u64 = summary
        .get("dead_lettered")
        .and_then(Json::as_object)
        .map_or(0, |m| m.values().filter_map(Json::as_u64).sum());
    if n("records_in") < stream.total() {
        bail!(
            "the pipeline handled {} records, the stream has {}",
            n("records_in"),
            stream.total()
        );
    }
    if n("records_out") + n("filtered") + dead + n("skipped") != n("records_in") {
        bail!("the summary does not add up: {summary}");
    }
    Ok(())
}

/// The endpoints: the flags, else the local stack (started when down).
fn endpoints(args: &DemoArgs) -> Result<(String, String)> {
    if let (Some(b), Some(r)) = (&args.bootstrap, &args.registry_url) {
        return Ok((b.clone(), r.clone()));
    }
    step(args, "local stack");
    stack::run(StackCommand::Up(UpArgs {
        kafka_port: 9092,
        registry_port: 8081,
        runtime: Runtime::Auto,
        broker: Broker::Auto,
        registry_store: registry::Store::Memory,
        no_build: false,
    }))?;
    let file = workspace_root().join(".stack").join("endpoints.env");
    let env = parse_env_file(
        &std::fs::read_to_string(&file).with_context(|| format!("read {}", file.display()))?,
    );
    let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let bootstrap = get("KAFKA_BOOTSTRAP_SERVERS").context("the stack has no broker")?;
    let registry = get("SCHEMA_REGISTRY_URL")
        .context("the stack started no schema registry (see `cargo xtask stack status`)")?;
    Ok((bootstrap, registry))
}

/// The kbridge CLI with the demo's endpoints.
struct Kbridge {
    bin: PathBuf,
    bootstrap: String,
    registry_url: String,
    quiet: bool,
}

impl Kbridge {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["--set", &format!("kafka.brokers={}", self.bootstrap)])
            .args([
                "--set",
                &format!("schema_registry.url={}", self.registry_url),
            ])
            .args(["--set", "logging.level=warn"])
            .args(args)
            .env_remove("KBRIDGE_CONFIG")
            .stdin(Stdio::null());
        cmd
    }

    /// Shows the command (as a user would type it) and runs it.
    fn run(&self, args: &[&str]) -> Result<()> {
        let mut cmd = self.command(args);
        if !self.quiet {
            eprintln!("  $ kbridge {}", args.join(" "));
        }
        let out = cmd
            .output()
            .with_context(|| format!("run {}", display(&cmd)))?;
        if !out.status.success() {
            bail!(
                "`kbridge {}` failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Runs it and returns its stdout.
    fn output(&self, args: &[&str]) -> Result<String> {
        let mut cmd = self.command(args);
        if !self.quiet {
            eprintln!("  $ kbridge {}", args.join(" "));
        }
        let out = cmd
            .output()
            .with_context(|| format!("run {}", display(&cmd)))?;
        if !out.status.success() {
            bail!(
                "`kbridge {}` failed ({}):\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

fn step(args: &DemoArgs, what: &str) {
    if !args.json {
        eprintln!("\n== {what}");
    }
}

fn say(args: &DemoArgs, what: &str) {
    if !args.json {
        eprintln!("  {what}");
    }
}

/// What the pipeline did while it was followed.
struct Progress {
    window: Duration,
    consumed: u64,
    /// `"stage/class"` → records.
    dead_lettered: BTreeMap<String, u64>,
}

impl Progress {
    fn rate(&self) -> f64 {
        let s = self.window.as_secs_f64();
        if s > 0.0 {
            self.consumed as f64 / s
        } else {
            0.0
        }
    }
}

/// Shows progress until every record of the stream is read and committed:
/// the committed offsets equal the positions on every partition, with at
/// least `expected` records consumed, twice in a row.
fn follow(
    args: &DemoArgs,
    p: &mut PipelineRun,
    input: &str,
    output: &str,
    expected: u64,
) -> Result<Progress> {
    let agent = prom::agent();
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(expected)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "  {bar:30.cyan/blue} {pos:>6}/{len} records  {per_sec:>12}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut first: Option<Instant> = None;
    let mut settled = 0;
    let mut last = (0u64, Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(100));
        p.check_running()?;
        let s = match p.scrape(&agent) {
            Ok(s) => s,
            Err(e) if started.elapsed() < Duration::from_secs(60) => {
                let _ = e;
                continue;
            }
            Err(e) => return Err(e.context("the pipeline's /metrics does not answer")),
        };
        let consumed = s.count("kbridge_records_in_total", &[("topic", input)]);
        if consumed > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        let out = s.count("kbridge_records_out_total", &[("topic", output)]);
        let filtered = s.count("kbridge_records_filtered_total", &[("topic", input)]);
        let dead = s.count("kbridge_records_dead_lettered_total", &[("topic", input)]);
        bar.set_position(consumed.min(expected));
        bar.set_message(format!(
            "{out} out, {filtered} filtered, {dead} dead-lettered"
        ));
        let committed = s.count("kbridge_consumer_committed_offset", &[("topic", input)]);
        let position = s.count("kbridge_consumer_current_offset", &[("topic", input)]);
        if consumed >= expected && committed == position && position > 0 {
            settled += 1;
            if settled >= 2 {
                bar.finish();
                return Ok(Progress {
                    window: first.map_or(Duration::ZERO, |f| f.elapsed()),
                    consumed,
                    dead_lettered: dead_by_class(&s, input),
                });
            }
        } else {
            settled = 0;
        }
        if consumed + committed > last.0 {
            last = (consumed + committed, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(90) {
            bar.abandon();
            bail!(
                "no progress for 90 s ({consumed} of {expected} records read, committed offsets {committed}, positions {position}); see {}",
                p.log_path().display()
            );
        }
    }
}

fn dead_by_class(s: &Scrape, input: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (labels, v) in s.series("kbridge_records_dead_lettered_total") {
        let get = |k: &str| {
            labels
                .iter()
                .find(|(lk, _)| lk == k)
                .map_or("", |(_, v)| v.as_str())
        };
        if get("topic") == input && v > 0.0 {
            *out.entry(format!("{}/{}", get("stage"), get("class")))
                .or_default() += v as u64;
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn print_summary(
    args: &DemoArgs,
    summary: &Json,
    progress: &Progress,
    stream: &Stream,
    port: u16,
    input: &str,
    output: &str,
    dlq: &str,
) {
    let n = |k: &str| summary.get(k).and_then(Json::as_u64).unwrap_or(0);
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["", "records", ""]);
    t.add_row(vec![
        "in".to_owned(),
        n("records_in").to_string(),
        format!(
            "{input}: {} readings + {} bad",
            stream.valid,
            stream.corrupt + stream.unknown_schema
        ),
    ]);
    t.add_row(vec![
        "out".to_owned(),
        n("records_out").to_string(),
        output.to_owned(),
    ]);
    t.add_row(vec![
        "filtered".to_owned(),
        n("filtered").to_string(),
        "transform drop-sensor-errors (value < 0)".to_owned(),
    ]);
    if let Some(stages) = summary.get("dead_lettered").and_then(Json::as_object) {
        for (stage, count) in stages {
            let classes: Vec<String> = progress
                .dead_lettered
                .iter()
                .filter(|(k, _)| k.starts_with(&format!("{stage}/")))
                .map(|(k, v)| format!("{} × {v}", k.split_once('/').map_or(k.as_str(), |(_, c)| c)))
                .collect();
            t.add_row(vec![
                format!("dead-lettered ({stage})"),
                count.as_u64().unwrap_or(0).to_string(),
                format!("{dlq}: {}", classes.join(", ")),
            ]);
        }
    }
    t.add_row(vec![
        "throughput".to_owned(),
        format!("{:.0}/s", progress.rate()),
        format!(
            "{} records from the first read to the last commit, {:.1} s; {} transactions",
            progress.consumed,
            progress.window.as_secs_f64(),
            n("transactions")
        ),
    ]);
    println!("\n{t}");
    let bin_dir = args
        .kbridge_bin
        .as_ref()
        .and_then(|b| b.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| target_dir().join("debug"));
    let group = format!("{}-health", input.trim_end_matches(".health"));
    let commands = [
        (
            format!("kbridge consume {output} --no-follow -n 5"),
            "the clean records, decoded",
        ),
        (
            format!("kbridge dlq inspect {dlq}"),
            "dead letters by stage and class, with samples",
        ),
        (
            format!("kbridge lag --group {group}"),
            "committed offsets and lag",
        ),
        (
            format!(
                "kbridge run --config examples/demo.toml --set metrics.listen=127.0.0.1:{port}"
            ),
            "the pipeline again, until Ctrl-C",
        ),
        ("cargo xtask stack down".to_owned(), "stop the local stack"),
    ];
    let width = commands.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    println!(
        "\nMetrics: while it ran, the pipeline served {} (and /healthz, /readyz);\n\
         run it yourself to keep them up. Look further (with the stack's endpoints):\n\
         \x20 export PATH=\"{}:$PATH\"\n\
         \x20 set -a; . .stack/endpoints.env; set +a",
        pipeline_url(port),
        bin_dir.display(),
    );
    for (c, what) in commands {
        println!("  {c:<width$}   # {what}");
    }
}

/// Deterministic health readings as JSON lines for `kbridge produce`
/// (the shape of `examples/health.avsc`; about 2% carry the sensor-error
/// value -1). Returns the lines and how many are negative.
fn sample_lines(n: usize) -> (String, u64) {
    const METRICS: [(&str, &str, f64, f64); 6] = [
        ("HEART_RATE", "bpm", 40.0, 190.0),
        ("SPO2", "percent", 85.0, 100.0),
        ("BODY_TEMPERATURE", "celsius", 35.0, 40.5),
        ("STEPS", "steps", 0.0, 2500.0),
        ("BLOOD_GLUCOSE", "mg/dL", 60.0, 250.0),
        ("WEIGHT", "kg", 40.0, 150.0),
    ];
    const SOURCES: [&str; 4] = ["wearable", "phone", "clinic", "manual"];
    const MODELS: [&str; 4] = ["Pulse X2", "VitaBand 3", "CardioWatch S", "OxiClip Pro"];
    const NOTES: [&str; 3] = ["after exercise", "resting", "felt dizzy"];
    let mut rng = SplitMix(42);
    let mut out = String::with_capacity(n * 420);
    let mut negative = 0;
    for i in 0..n {
        let u = rng.below(1000);
        let (metric, unit, lo, hi) = METRICS[rng.below(METRICS.len() as u64) as usize];
        let value = if rng.unit() < 0.02 {
            negative += 1;
            -1.0
        } else {
            ((lo + (hi - lo) * rng.unit()) * 10.0).round() / 10.0
        };
        // each optional field: a coin toss, then its value
        let mut opt = |p: f64, v: &dyn Fn(&mut SplitMix) -> Json| {
            let show = rng.unit() < p;
            let value = v(&mut rng);
            if show { value } else { Json::Null }
        };
        let confidence = opt(0.7, &|r| {
            json!(((0.5 + r.unit() / 2.0) * 1000.0).round() / 1000.0)
        });
        let note = opt(0.1, &|r| json!(NOTES[r.below(3) as usize]));
        let latitude = opt(0.3, &|r| json!(((52.0 + r.unit()) * 1e5).round() / 1e5));
        let longitude = opt(0.3, &|r| json!(((13.0 + r.unit()) * 1e5).round() / 1e5));
        let battery = opt(0.8, &|r| json!(5 + r.below(96)));
        let record = json!({
            "event_id": format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", rng.next() as u32, rng.next() as u16,
                rng.next() & 0xfff, rng.next() & 0xfff, rng.next() & 0xffff_ffff_ffff),
            "user_id": format!("user-{u:06}"),
            "session_id": format!("sess-{u:06}-{:05}", i / 500),
            "metric": metric,
            "value": value,
            "unit": unit,
            "ts": 1_767_225_600_000_i64 + i as i64 * 250,
            "seq": i,
            "source": SOURCES[rng.below(4) as usize],
            "confidence": confidence,
            "note": note,
            "latitude": latitude,
            "longitude": longitude,
            "tags": {"app_version": format!("5.2.{}", u % 3), "tz": "Europe/Berlin"},
            "device": {
                "device_id": format!("dev-{:08x}", u.wrapping_mul(2_654_435_761) % (1 << 32)),
                "model": MODELS[(u % 4) as usize],
                "firmware": "2.0.1",
                "battery_pct": battery,
            },
        });
        out.push_str(&record.to_string());
        out.push('\n');
    }
    (out, negative)
}

/// The bad records of the stream: `(key, value)`.
fn bad_records(schema_id: u32) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // not Avro at all: JSON text where a Confluent frame belongs
    for i in 0..3 {
        out.push((
            format!("user-bad-{i}"),
            format!(r#"{{"user_id":"user-bad-{i}","value":"n/a"}}"#).into_bytes(),
        ));
    }
    // a valid frame with the right schema id around bytes that are not a
    // health event (cut short after a huge string length)
    for i in 0..(CORRUPT - 3) {
        let mut v = vec![0];
        v.extend_from_slice(&schema_id.to_be_bytes());
        v.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0x0f, b'x']);
        out.push((format!("user-cut-{i}"), v));
    }
    // a schema id the registry does not know
    for i in 0..UNKNOWN_ID {
        let mut v = vec![0];
        v.extend_from_slice(&UNKNOWN_SCHEMA_ID.to_be_bytes());
        v.extend_from_slice(b"\x02a\x02b");
        out.push((format!("user-unknown-{i}"), v));
    }
    out
}

/// splitmix64: a small deterministic generator.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_stream_is_deterministic_and_has_sensor_errors() {
        let (a, neg_a) = sample_lines(2000);
        let (b, neg_b) = sample_lines(2000);
        assert_eq!(a, b);
        assert_eq!(neg_a, neg_b);
        let lines: Vec<Json> = a
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2000);
        let negative = lines
            .iter()
            .filter(|l| l["value"].as_f64().unwrap() < 0.0)
            .count() as u64;
        assert_eq!(negative, neg_a);
        assert!((10..=80).contains(&negative), "about 2%: {negative}");
        assert_eq!(lines[7]["seq"], 7);
        assert!(
            lines
                .iter()
                .all(|l| l["tags"].is_object() && l["device"]["model"].is_string())
        );
    }

    #[test]
    fn bad_records_are_counted_as_declared() {
        let bad = bad_records(1);
        assert_eq!(bad.len(), CORRUPT + UNKNOWN_ID);
        let unknown = bad
            .iter()
            .filter(|(_, v)| v.get(1..5) == Some(&UNKNOWN_SCHEMA_ID.to_be_bytes()[..]))
            .count();
        assert_eq!(unknown, UNKNOWN_ID);
        assert!(bad.iter().filter(|(_, v)| v[0] != 0).count() >= 3);
    }
}
