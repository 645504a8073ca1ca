//! `cargo xtask bench`: the kbridge pipeline end to end (release build,
//! `kbridge run`) on a local tansu broker with the embedded schema
//! registry, beside the baselines of `../shared/bench` (the raw rdkafka
//! copy and the Python confluent-kafka + fastavro pipeline) in the same
//! run, on the same data, with the same client settings.
//!
//! Every timed run gets a fresh broker (tansu's memory store only grows,
//! and its per-batch metadata makes an old broker slower), loaded with the
//! data set (`gen.py`: health telemetry, Confluent framing, schema id 1,
//! ~2% negative values) a number of times over, untimed. A timed window
//! runs from the first consumed record to the last commit (exactly-once:
//! the committed offsets cover every input record; at-least-once: every
//! output is acknowledged), as in the baselines' `RESULTS.md`, and must
//! last `--min-window` seconds: a shorter run is redone with more records.
//! kbridge runs are audited: the output holds every expected record
//! exactly as often as it was loaded (by the `seq` field), nothing else,
//! and the group's committed offsets cover the input.
//!
//! Results: `target/bench/<stamp>/results.jsonl` (one JSON object per
//! run), `report.md` (runs and ratios), `machine.json` (machine, versions,
//! client settings), the combined pipeline file and logs of every run.

mod cpu;
pub mod data;
pub mod kafka;
pub mod pipeline;
pub mod prom;
mod report;

use crate::process::{self, ChildGuard};
use crate::registry::{self, Store};
use crate::util::{cargo, display, free_port, run, target_dir, wait_until, workspace_root};
use crate::{probe, tansu};
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use cpu::CpuWindow;
use data::Frames;
use kafka::Expectation;
use pipeline::PipelineRun;
use serde_json::{Map, Value as Json, json};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Input topic of every run.
const INPUT: &str = "health";
/// The registry subject of the input values; its first schema gets id 1,
/// the id `gen.py` frames the values with.
const INPUT_SUBJECT: &str = "health-value";
/// How often a running pipeline's /metrics is read.
const SCRAPE: Duration = Duration::from_millis(50);

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Records in the generated data set; each mode loads it several times
    /// over (see --scale)
    #[arg(long, default_value_t = 1_000_000)]
    pub records: usize,
    /// Partitions of the input and output topics
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// How many times to run every mode
    #[arg(long, default_value_t = 1)]
    pub repeats: u64,
    /// Modes to run, comma-separated (default: all but the soak)
    #[arg(long, value_enum, value_delimiter = ',')]
    pub modes: Vec<Mode>,
    /// Input records per commit (at-least-once) or transaction; the
    /// `*-bigtxn` modes use ten times this
    #[arg(long, default_value_t = 10_000)]
    pub commit_every: u64,
    /// Shortest timed window in seconds; a shorter run is redone with more records
    #[arg(long, default_value_t = 10.0)]
    pub min_window: f64,
    /// Multiply every mode's record count
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// The baselines folder (gen.py, py_pipeline.py, rawcopy/)
    #[arg(long, default_value = "../shared/bench")]
    pub baselines: PathBuf,
    /// Run the soak instead: one pipeline for this long (e.g. 10m) fed at
    /// --soak-rate, RSS sampled every 10 s
    #[arg(long, value_parser = humantime::parse_duration)]
    pub soak: Option<Duration>,
    /// Records per second fed to the soak run
    #[arg(long, default_value_t = 20_000)]
    pub soak_rate: u64,
    /// Delivery guarantee of the soak run
    #[arg(long, value_enum, default_value_t = Guarantee::Eos)]
    pub soak_guarantee: Guarantee,
    /// Output folder (default target/bench/<stamp>)
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip reading the outputs back (faster; correctness not checked)
    #[arg(long)]
    pub no_audit: bool,
    /// Use target/release/kbridge as it is (no cargo build)
    #[arg(long)]
    pub no_build: bool,
    /// Run this kbridge binary (e.g. a build with frame pointers for --perf)
    #[arg(long, conflicts_with = "no_build")]
    pub kbridge_bin: Option<PathBuf>,
    /// Profile each kbridge run's window with `perf record` (cpu-clock,
    /// call graphs); writes <mode>-r<rep>.perf.txt next to the results
    #[arg(long)]
    pub perf: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Guarantee {
    Alo,
    Eos,
}

impl Guarantee {
    fn config(self) -> &'static str {
        match self {
            Guarantee::Alo => "at_least_once",
            Guarantee::Eos => "exactly_once",
        }
    }
}

/// What runs in a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// rawcopy copy --mode alo, idempotent producer (kbridge's default)
    RawAlo,
    /// kbridge at-least-once, the benchmark transform
    KbridgeAlo,
    /// rawcopy copy --mode eos, --commit-every records per transaction
    RawEos,
    /// kbridge exactly-once, the benchmark transform, --commit-every per transaction
    KbridgeEos,
    /// rawcopy copy --mode eos, 10 × --commit-every per transaction
    RawEosBigtxn,
    /// kbridge exactly-once, 10 × --commit-every per transaction
    KbridgeEosBigtxn,
    /// kbridge at-least-once without transforms (decode → encode)
    KbridgeAloNone,
    /// kbridge at-least-once with five simple transforms
    KbridgeAloFive,
    /// py_pipeline.py --mode alo
    PyAlo,
    /// py_pipeline.py --mode eos
    PyEos,
}

/// Run order: each kbridge mode right after its reference, so that drift
/// of the machine's speed hits both sides of a ratio alike.
const ALL: [Mode; 10] = [
    Mode::RawAlo,
    Mode::KbridgeAlo,
    Mode::RawEos,
    Mode::KbridgeEos,
    Mode::RawEosBigtxn,
    Mode::KbridgeEosBigtxn,
    Mode::KbridgeAloNone,
    Mode::KbridgeAloFive,
    Mode::PyAlo,
    Mode::PyEos,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Raw,
    Kbridge,
    Python,
}

/// Which transforms file of `examples/bench/` a kbridge mode appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transforms {
    Bench,
    None,
    Five,
}

impl Transforms {
    fn file(self) -> Option<&'static str> {
        match self {
            Transforms::Bench => Some("transforms-bench.toml"),
            Transforms::None => None,
            Transforms::Five => Some("transforms-five.toml"),
        }
    }

    /// Whether records with a negative value are dropped.
    fn filters(self) -> bool {
        self != Transforms::None
    }
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::RawAlo => "raw_alo",
            Mode::KbridgeAlo => "kbridge_alo",
            Mode::RawEos => "raw_eos",
            Mode::KbridgeEos => "kbridge_eos",
            Mode::RawEosBigtxn => "raw_eos_bigtxn",
            Mode::KbridgeEosBigtxn => "kbridge_eos_bigtxn",
            Mode::KbridgeAloNone => "kbridge_alo_none",
            Mode::KbridgeAloFive => "kbridge_alo_five",
            Mode::PyAlo => "py_alo",
            Mode::PyEos => "py_eos",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Mode::RawAlo | Mode::RawEos | Mode::RawEosBigtxn => Kind::Raw,
            Mode::PyAlo | Mode::PyEos => Kind::Python,
            _ => Kind::Kbridge,
        }
    }

    fn guarantee(self) -> Guarantee {
        match self {
            Mode::RawAlo
            | Mode::KbridgeAlo
            | Mode::KbridgeAloNone
            | Mode::KbridgeAloFive
            | Mode::PyAlo => Guarantee::Alo,
            _ => Guarantee::Eos,
        }
    }

    fn big_txn(self) -> bool {
        matches!(self, Mode::RawEosBigtxn | Mode::KbridgeEosBigtxn)
    }

    fn transforms(self) -> Transforms {
        match self {
            Mode::KbridgeAloNone => Transforms::None,
            Mode::KbridgeAloFive => Transforms::Five,
            _ => Transforms::Bench,
        }
    }

    /// Copies of the data set loaded for a run (before --scale): enough
    /// for a 10 s window at the rates seen on a 2-core machine.
    fn times(self) -> f64 {
        match self {
            Mode::RawAlo => 10.0,
            Mode::RawEos | Mode::RawEosBigtxn => 6.0,
            Mode::KbridgeAlo | Mode::KbridgeAloNone | Mode::KbridgeAloFive => 5.0,
            Mode::KbridgeEos | Mode::KbridgeEosBigtxn => 4.0,
            Mode::PyAlo | Mode::PyEos => 1.0,
        }
    }
}

/// Paths and processes shared by the runs of one bench.
struct Bench {
    args: BenchArgs,
    out: PathBuf,
    kbridge: PathBuf,
    tansu: PathBuf,
    registry_url: String,
    frames: Frames,
    /// `seq` of each record of the data set has a negative value.
    negative: Vec<bool>,
    baselines: Option<Baselines>,
    results: Vec<Map<String, Json>>,
    agent: ureq::Agent,
}

struct Baselines {
    dir: PathBuf,
    rawcopy: PathBuf,
}

/// A fresh tansu broker for one run; stopped when dropped.
struct Broker {
    _guard: ChildGuard,
    pid: u32,
    bootstrap: String,
}

impl Broker {
    fn start(bin: &Path, log: &Path) -> Result<Broker> {
        let bootstrap = format!("127.0.0.1:{}", free_port()?);
        let mut cmd = Command::new(bin);
        cmd.args(tansu::broker_args(&bootstrap, &bootstrap));
        let child = process::spawn_logged(&mut cmd, log)?;
        let pid = child.id();
        let mut guard = ChildGuard::new("tansu", child);
        wait_until("tansu broker", Duration::from_secs(30), || {
            guard
                .check_running()
                .with_context(|| format!("see {}", log.display()))?;
            Ok(probe::kafka_api_versions(&bootstrap).is_ok())
        })?;
        Ok(Broker {
            _guard: guard,
            pid,
            bootstrap,
        })
    }
}

pub fn run_bench(args: BenchArgs) -> Result<()> {
    let stamp = stamp();
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("bench").join(&stamp));
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    eprintln!("bench: results in {}", out.display());

    let kbridge = if let Some(bin) = &args.kbridge_bin {
        bin.clone()
    } else if args.no_build {
        target_dir().join("release").join("kbridge")
    } else {
        build_release_kbridge()?
    };
    let tansu = tansu::binary()?;
    let baselines = find_baselines(&args.baselines)?;
    let frames = load_data(&args, baselines.as_ref().map(|b| b.dir.as_path()))?;
    let negative = frames
        .iter()
        .map(|(_, v)| data::head(v).is_some_and(|h| h.value < 0.0))
        .collect::<Vec<_>>();
    for (i, (_, v)) in frames.iter().enumerate() {
        if data::head(v).map(|h| h.seq) != Some(i as i64) {
            bail!("record {i} of the data set does not carry seq {i}; regenerate it");
        }
    }

    // one registry for the whole bench: schemas are not broker state
    let reg_port = free_port()?;
    let reg_listen = format!("127.0.0.1:{reg_port}");
    let reg_log = out.join("registry.log");
    let mut reg_cmd = registry::serve_command(&kbridge, &reg_listen, Store::Memory, "");
    let mut reg_guard = ChildGuard::new(
        "kbridge registry serve",
        process::spawn_logged(&mut reg_cmd, &reg_log)?,
    );
    let registry_url = format!("http://{reg_listen}");
    wait_until("schema registry", Duration::from_secs(30), || {
        reg_guard
            .check_running()
            .with_context(|| format!("see {}", reg_log.display()))?;
        Ok(registry::answers(&registry_url))
    })?;
    let agent = prom::agent();
    let schema = std::fs::read_to_string(workspace_root().join("examples/health.avsc"))?;
    let id = register(&agent, &registry_url, INPUT_SUBJECT, &schema)?;
    if id != 1 {
        bail!("the registry gave the input schema id {id}; the data is framed with id 1");
    }

    let mut b = Bench {
        args,
        out,
        kbridge,
        tansu,
        registry_url,
        frames,
        negative,
        baselines,
        results: Vec::new(),
        agent,
    };
    let machine = b.machine_info()?;
    std::fs::write(
        b.out.join("machine.json"),
        serde_json::to_string_pretty(&machine)?,
    )?;
    let busy = cpu::machine_busy(Duration::from_secs(3));
    eprintln!(
        "bench: machine {busy:.0}% busy over 3 s (of {}), load average {:?}",
        cpu::ncpu() * 100,
        cpu::loadavg()
    );
    if busy > 15.0 {
        eprintln!("bench: WARNING: something else is using the CPU; figures will be low");
    }

    if let Some(d) = b.args.soak {
        b.soak(d)?;
    } else {
        let modes: Vec<Mode> = if b.args.modes.is_empty() {
            ALL.to_vec()
        } else {
            ALL.iter()
                .copied()
                .filter(|m| b.args.modes.contains(m))
                .collect()
        };
        let mut times: Vec<f64> = modes.iter().map(|m| m.times() * b.args.scale).collect();
        for rep in 1..=b.args.repeats {
            for (i, &mode) in modes.iter().enumerate() {
                if mode.kind() != Kind::Kbridge && b.baselines.is_none() {
                    continue;
                }
                let copies = (times[i].ceil() as u64).max(1);
                let r = b.timed(mode, rep, copies)?;
                let secs = r.get("secs").and_then(Json::as_f64).unwrap_or(0.0);
                if secs < b.args.min_window {
                    // too short to trust: redo with enough records, keep
                    // the larger count for later repeats
                    let grow = (b.args.min_window * 1.25 / secs.max(0.1)).max(1.5);
                    times[i] = (copies as f64 * grow).ceil();
                    let mut short = r;
                    short.insert(
                        "discarded".into(),
                        json!(format!("window {secs:.1} s < {} s", b.args.min_window)),
                    );
                    b.record(short)?;
                    eprintln!(
                        "bench: {} window {secs:.1} s is short; again with {} copies",
                        mode.label(),
                        times[i]
                    );
                    let r = b.timed(mode, rep, times[i] as u64)?;
                    b.record(r)?;
                } else {
                    b.record(r)?;
                }
            }
        }
    }
    b.write_report()?;
    Ok(())
}

impl Bench {
    fn record(&mut self, r: Map<String, Json>) -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.out.join("results.jsonl"))?;
        writeln!(f, "{}", Json::Object(r.clone()))?;
        self.results.push(r);
        Ok(())
    }

    fn write_report(&self) -> Result<()> {
        let header = format!(
            "# kbridge bench {}\n\n{}\n\nClient settings, versions and the machine: `machine.json`. \
             Pipeline files: `<mode>-r<rep>.toml`. Ratios compare runs of the same repeat; the \
             machine's speed drifts by tens of percent between minutes (see ../shared/bench/RESULTS.md §3).\n",
            self.out
                .file_name()
                .map(|s| s.to_string_lossy())
                .unwrap_or_default(),
            self.describe(),
        );
        let md = report::markdown(&header, &self.results, self.args.repeats);
        std::fs::write(self.out.join("report.md"), &md)?;
        println!("{md}");
        eprintln!("bench: {}", self.out.join("report.md").display());
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "Data set: {} health-telemetry records ({:.0} B key+value on average), {} partitions, \
             {} records per commit/transaction ({} for *_bigtxn), minimum window {} s. Baselines: {}.",
            self.frames.len(),
            self.frames.bytes() as f64 / self.frames.len().max(1) as f64,
            self.args.partitions,
            self.args.commit_every,
            self.args.commit_every * 10,
            self.args.min_window,
            match &self.baselines {
                Some(b) => b.dir.display().to_string(),
                None => "absent (kbridge modes only)".into(),
            }
        )
    }

    /// One timed run of `mode` with `copies` copies of the data set.
    fn timed(&self, mode: Mode, rep: u64, copies: u64) -> Result<Map<String, Json>> {
        let label = mode.label();
        eprintln!(
            "bench: {label} rep {rep}: fresh broker, loading {copies} × {} records",
            self.frames.len()
        );
        let broker = Broker::start(
            &self.tansu,
            &self.out.join(format!("tansu-{label}-r{rep}.log")),
        )?;
        let output = format!("health-out-{}", label.replace('_', "-"));
        self.create_topic(&broker, INPUT, self.args.partitions)?;
        self.create_topic(&broker, &output, self.args.partitions)?;
        if mode.kind() == Kind::Kbridge {
            self.create_topic(&broker, &format!("{INPUT}.dlq"), 1)?;
        }
        let (loaded, load_time) = kafka::load(&broker.bootstrap, INPUT, &self.frames, copies)?;
        eprintln!(
            "bench: {label} rep {rep}: loaded {loaded} records in {:.1} s",
            load_time.as_secs_f64()
        );
        let probe = self.cpu_probe();
        let load = cpu::loadavg();
        let commit_every = self.args.commit_every * if mode.big_txn() { 10 } else { 1 };
        let mut r = match mode.kind() {
            Kind::Kbridge => {
                self.run_kbridge(mode, rep, &broker, &output, loaded, copies, commit_every)?
            }
            Kind::Raw | Kind::Python => {
                self.run_baseline(mode, rep, &broker, &output, loaded, commit_every)?
            }
        };
        let mut head = Map::new();
        head.insert("label".into(), json!(label));
        head.insert("rep".into(), json!(rep));
        head.insert("loadavg_1m".into(), json!(load[0]));
        head.insert("loadavg_5m".into(), json!(load[1]));
        head.insert("cpu_probe".into(), probe.map_or(Json::Null, |p| json!(p)));
        head.insert("commit_every".into(), json!(commit_every));
        head.insert("copies".into(), json!(copies));
        head.append(&mut r);
        eprintln!(
            "bench: {label} rep {rep}: {} records in {:.1} s = {:.0} rec/s{}",
            head.get("records").and_then(Json::as_u64).unwrap_or(0),
            head.get("secs").and_then(Json::as_f64).unwrap_or(0.0),
            head.get("rps").and_then(Json::as_f64).unwrap_or(0.0),
            match head.get("correct").and_then(Json::as_bool) {
                Some(true) => ", output correct",
                Some(false) => ", OUTPUT NOT CORRECT",
                None => "",
            }
        );
        drop(broker);
        Ok(head)
    }

    /// The pipeline file of a kbridge mode: examples/bench/pipeline.toml
    /// plus the mode's transforms, written next to the results.
    fn pipeline_file(&self, mode: Mode, rep: u64) -> Result<PathBuf> {
        let dir = workspace_root().join("examples/bench");
        let mut text = std::fs::read_to_string(dir.join("pipeline.toml"))?;
        if let Some(f) = mode.transforms().file() {
            text.push('\n');
            text.push_str(&std::fs::read_to_string(dir.join(f))?);
        }
        let path = self.out.join(format!("{}-r{rep}.toml", mode.label()));
        std::fs::write(&path, text)?;
        Ok(path)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_kbridge(
        &self,
        mode: Mode,
        rep: u64,
        broker: &Broker,
        output: &str,
        loaded: u64,
        copies: u64,
        commit_every: u64,
    ) -> Result<Map<String, Json>> {
        let label = mode.label();
        let config = self.pipeline_file(mode, rep)?;
        let group = format!("kbridge-bench-{label}-r{rep}");
        let sets = vec![
            format!("kafka.brokers={}", broker.bootstrap),
            format!("schema_registry.url={}", self.registry_url),
            format!("source.topics={INPUT}"),
            format!("sink.topic={output}"),
            format!("sink.delivery_guarantee={}", mode.guarantee().config()),
            format!("sink.transaction_max_records={commit_every}"),
            format!("consumer.group_id={group}"),
        ];
        let log = self.out.join(format!("{label}-r{rep}.log"));
        let mut p = PipelineRun::spawn(
            &self.kbridge,
            &config,
            &sets,
            free_port()?,
            &format!("{label}-r{rep}"),
            &log,
        )?;
        let perf = self
            .args
            .perf
            .then(|| self.out.join(format!("{label}-r{rep}.perf.data")));
        let w = self.watch(
            &mut p,
            mode.guarantee(),
            output,
            &|| loaded,
            broker.pid,
            perf.as_deref(),
            None,
        )?;
        let summary = p.stop(Duration::from_secs(60))?;
        let committed = kafka::committed_total(&broker.bootstrap, &group, INPUT)?;
        let expect = self.expectation(mode.transforms(), copies);
        let audit = if self.args.no_audit {
            None
        } else {
            eprintln!("bench: {label} rep {rep}: auditing {output}");
            Some(kafka::audit(
                &broker.bootstrap,
                output,
                &expect,
                Duration::from_secs(3),
            )?)
        };
        let mut r = w.result(loaded, self.frames.bytes() * copies);
        let s = |k: &str| summary.get(k).cloned().unwrap_or(Json::Null);
        let summary_ok = s("records_in").as_u64() == Some(loaded)
            && s("records_out").as_u64() == Some(expect.total())
            && s("aborts").as_u64().unwrap_or(0) == 0;
        let committed_ok = committed == loaded as i64;
        let audit_ok = audit.as_ref().is_none_or(kafka::Audit::ok);
        r.insert(
            "correct".into(),
            json!(summary_ok && committed_ok && audit_ok),
        );
        let mut notes = Vec::new();
        if !summary_ok {
            notes.push(format!(
                "summary: {} in, {} out, {} aborts (expected {loaded} in, {} out)",
                s("records_in"),
                s("records_out"),
                s("aborts"),
                expect.total()
            ));
        }
        if !committed_ok {
            notes.push(format!(
                "committed offsets {committed} ≠ {loaded} input records"
            ));
        }
        if let Some(a) = &audit
            && !a.ok()
        {
            notes.push(format!(
                "audit: {} records (expected {}), {} seq missing, {} seq extra, {} undecodable, {} lower-case units",
                a.records, a.expected, a.missing, a.extra, a.undecodable, a.lower_case_units
            ));
        }
        if let Some(a) = &audit {
            r.insert("audit".into(), a.to_json());
        }
        r.insert("committed_offsets".into(), json!(committed));
        r.insert("summary".into(), summary);
        r.insert("notes".into(), json!(notes.join("; ")));
        r.insert("pipeline_file".into(), json!(config.display().to_string()));
        Ok(r)
    }

    /// Follows a running pipeline through its /metrics: the window opens
    /// at the first consumed record and closes when `target` input records
    /// are done (exactly-once: covered by committed offsets; at-least-once:
    /// their outputs acknowledged, or filtered, or dead-lettered).
    #[allow(clippy::too_many_arguments)]
    fn watch(
        &self,
        p: &mut PipelineRun,
        guarantee: Guarantee,
        output: &str,
        target: &dyn Fn() -> u64,
        broker_pid: u32,
        perf: Option<&Path>,
        mut sample: Option<&mut Sampler<'_>>,
    ) -> Result<Window> {
        let started = Instant::now();
        let mut w: Option<Window> = None;
        let mut prev = Instant::now();
        let mut progress = (0u64, Instant::now());
        loop {
            std::thread::sleep(SCRAPE);
            p.check_running()?;
            let s = match p.scrape(&self.agent) {
                Ok(s) => s,
                Err(e) => {
                    if started.elapsed() > Duration::from_secs(60) {
                        return Err(e.context("the pipeline's /metrics does not answer"));
                    }
                    prev = Instant::now();
                    continue;
                }
            };
            let now = Instant::now();
            let consumed = s.count("kbridge_records_in_total", &[("topic", INPUT)]);
            if w.is_none() && consumed > 0 {
                let thread = pipeline::LOOP_THREAD;
                w = Some(Window {
                    // the first record arrived between the two scrapes
                    t0: prev + (now - prev) / 2,
                    cpu: CpuWindow::start(
                        Some(p.pid),
                        cpu::thread_named(p.pid, thread),
                        Some(broker_pid),
                    ),
                    rss0: cpu::rss_bytes(p.pid),
                    end: None,
                    cpu_stats: Map::new(),
                    rss1: None,
                    perf: perf.map(|f| Profiler::start(p.pid, f)).transpose()?,
                });
            }
            let done = match guarantee {
                Guarantee::Eos => s.count("kbridge_consumer_committed_offset", &[("topic", INPUT)]),
                Guarantee::Alo => {
                    s.count("kbridge_records_out_total", &[("topic", output)])
                        + s.count("kbridge_records_filtered_total", &[("topic", INPUT)])
                        + s.count("kbridge_records_dead_lettered_total", &[("topic", INPUT)])
                }
            };
            if let (Some(w), Some(f)) = (&w, sample.as_mut()) {
                f(w, &s);
            }
            if done > progress.0 {
                progress = (done, now);
            } else if progress.1.elapsed() > Duration::from_secs(120) {
                bail!(
                    "no progress for 2 minutes at {done} of {} records; see {}",
                    target(),
                    p.log_path().display()
                );
            }
            if let Some(w) = &mut w
                && done >= target()
            {
                let (_, stats) = w.cpu.stop();
                w.end = Some(prev + (now - prev) / 2);
                w.cpu_stats = stats;
                w.rss1 = cpu::rss_bytes(p.pid);
                if let Some(prof) = w.perf.take() {
                    prof.finish()?;
                }
                break;
            }
            if w.is_none() && started.elapsed() > Duration::from_secs(120) {
                bail!(
                    "no record consumed within 2 minutes; see {}",
                    p.log_path().display()
                );
            }
            prev = now;
        }
        w.context("the pipeline finished without a window")
    }

    /// How often each seq must appear in the output of a kbridge mode.
    fn expectation(&self, t: Transforms, copies: u64) -> Expectation {
        let n = u32::try_from(copies).unwrap_or(u32::MAX);
        Expectation {
            per_seq: self
                .negative
                .iter()
                .map(|&neg| if neg && t.filters() { 0 } else { n })
                .collect(),
            upper_unit: t == Transforms::Bench,
        }
    }

    fn run_baseline(
        &self,
        mode: Mode,
        rep: u64,
        broker: &Broker,
        output: &str,
        loaded: u64,
        commit_every: u64,
    ) -> Result<Map<String, Json>> {
        let b = self.baselines.as_ref().context("no baselines")?;
        let label = mode.label();
        let mut cmd = match mode.kind() {
            Kind::Raw => {
                let mut c = Command::new(&b.rawcopy);
                c.args([
                    "copy",
                    "--mode",
                    if mode.guarantee() == Guarantee::Eos {
                        "eos"
                    } else {
                        "alo"
                    },
                ]);
                if mode.guarantee() == Guarantee::Alo {
                    // kbridge's producer is idempotent by default
                    c.args(["--pconf", "enable.idempotence=true"]);
                }
                c
            }
            _ => {
                let mut c = Command::new(python());
                c.arg(b.dir.join("py_pipeline.py")).args([
                    "--mode",
                    if mode.guarantee() == Guarantee::Eos {
                        "eos"
                    } else {
                        "alo"
                    },
                ]);
                c
            }
        };
        cmd.args([
            "--bootstrap",
            &broker.bootstrap,
            "--input",
            INPUT,
            "--output",
            output,
        ])
        .args(["--expected", &loaded.to_string()])
        .args(["--commit-every", &commit_every.to_string()])
        .args(["--broker-pid", &broker.pid.to_string()]);
        if mode.kind() == Kind::Raw {
            cmd.args(["--name", label]);
        }
        let log = self.out.join(format!("{label}-r{rep}.log"));
        let out = cmd
            .stderr(std::fs::File::create(&log)?)
            .output()
            .with_context(|| format!("run {}", display(&cmd)))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "{} failed ({}):\n{}",
                display(&cmd),
                out.status,
                pipeline::log_tail(&log, 20)
            );
        }
        let line = stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("RESULT "))
            .with_context(|| format!("{} printed no RESULT line", display(&cmd)))?;
        let mut r: Map<String, Json> = serde_json::from_str(line)?;
        r.insert("command".into(), json!(display(&cmd)));
        r.insert("notes".into(), json!(""));
        Ok(r)
    }

    fn create_topic(&self, broker: &Broker, name: &str, partitions: i32) -> Result<()> {
        run(Command::new(&self.kbridge)
            .args(["--set", &format!("kafka.brokers={}", broker.bootstrap)])
            .args(["--set", "logging.level=warn"])
            .args([
                "topics",
                "create",
                name,
                "--partitions",
                &partitions.to_string(),
            ])
            .stdout(std::process::Stdio::null()))
    }

    /// The baselines' single-core speed probe (M loops/s of a fixed Python
    /// loop), taken just before a run.
    fn cpu_probe(&self) -> Option<f64> {
        let b = self.baselines.as_ref()?;
        crate::util::output_ok(
            Command::new(python())
                .arg(b.dir.join("benchlib.py"))
                .arg("cpu-probe")
                .current_dir(&b.dir),
        )?
        .parse()
        .ok()
    }

    fn machine_info(&self) -> Result<Json> {
        let cmd_out = |c: &mut Command| crate::util::output_ok(c).unwrap_or_default();
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_default();
        let config =
            std::fs::read_to_string(workspace_root().join("examples/bench/pipeline.toml"))?;
        Ok(json!({
            "date": cmd_out(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])),
            "nproc": cpu::ncpu(),
            "cpu": cpu_model,
            "loadavg_before": cpu::loadavg(),
            "kbridge_commit": cmd_out(Command::new("git").args(["-C", &workspace_root().display().to_string(), "rev-parse", "--short", "HEAD"])),
            "kbridge_tree_dirty": !cmd_out(Command::new("git").args(["-C", &workspace_root().display().to_string(), "status", "--porcelain", "--", "crates"])).is_empty(),
            "rustc": cmd_out(Command::new("rustc").arg("--version")),
            "tansu": format!("{} ({})", cmd_out(Command::new(&self.tansu).arg("--version")), self.tansu.display()),
            "python": cmd_out(Command::new(python()).arg("--version")),
            "records": self.frames.len(),
            "record_bytes": self.frames.bytes(),
            "partitions": self.args.partitions,
            "commit_every": self.args.commit_every,
            "baselines": self.baselines.as_ref().map(|b| b.dir.display().to_string()),
            "settings": {
                "kbridge": {
                    "pipeline_file": "examples/bench/pipeline.toml (+ examples/bench/transforms-*.toml)",
                    "text": config,
                    "note": "idempotent producer in both guarantees; transactions end by record count (sink.transaction_max_records)",
                },
                "rawcopy": {
                    "producer": "linger.ms=5 batch.size=1000000 compression.type=none acks=all queue.buffering.max.messages=1000000 queue.buffering.max.kbytes=1048576; raw_alo adds enable.idempotence=true",
                    "consumer": "fetch.queue.backoff.ms=10 max.partition.fetch.bytes=4194304 fetch.max.bytes=67108864 queued.max.messages.kbytes=262144 session.timeout.ms=6000 heartbeat.interval.ms=1000 max.poll.interval.ms=10000",
                    "commits": "alo: offsets stored after acknowledgement, async commit every --commit-every records; eos: send_offsets_to_transaction + commit every --commit-every records",
                },
                "py_pipeline": {
                    "producer": "linger.ms=5 batch.size=1000000 compression.type=none acks=all queue.buffering.max.messages=1000000",
                    "consumer": "librdkafka defaults (fetch.queue.backoff.ms 1000: never drained fast enough to matter), consume(500)",
                },
            },
        }))
    }

    /// A 10-minute-style run: records fed at a fixed rate for `d`, RSS of
    /// the pipeline sampled every 10 s.
    fn soak(&mut self, d: Duration) -> Result<()> {
        let guarantee = self.args.soak_guarantee;
        let mode = match guarantee {
            Guarantee::Alo => Mode::KbridgeAlo,
            Guarantee::Eos => Mode::KbridgeEos,
        };
        let label = format!("soak_{}", mode.label());
        eprintln!(
            "bench: soak: {} for {}, {} records/s",
            mode.label(),
            humantime::format_duration(d),
            self.args.soak_rate
        );
        let broker = Broker::start(&self.tansu, &self.out.join("tansu-soak.log"))?;
        let output = "health-out-soak";
        self.create_topic(&broker, INPUT, self.args.partitions)?;
        self.create_topic(&broker, output, self.args.partitions)?;
        self.create_topic(&broker, &format!("{INPUT}.dlq"), 1)?;
        let config = self.pipeline_file(mode, 1)?;
        let group = format!("kbridge-bench-{label}");
        let sets = vec![
            format!("kafka.brokers={}", broker.bootstrap),
            format!("schema_registry.url={}", self.registry_url),
            format!("source.topics={INPUT}"),
            format!("sink.topic={output}"),
            format!("sink.delivery_guarantee={}", guarantee.config()),
            format!("sink.transaction_max_records={}", self.args.commit_every),
            // at a steady rate transactions end by time, as in production
            "sink.transaction_max_duration=100ms".to_owned(),
            format!("consumer.group_id={group}"),
        ];
        let mut p = PipelineRun::spawn(
            &self.kbridge,
            &config,
            &sets,
            free_port()?,
            &label,
            &self.out.join(format!("{label}.log")),
        )?;
        let rss_at_spawn = cpu::rss_bytes(p.pid);

        // the feeder: the data set over and over at the given rate
        let (bootstrap, rate) = (broker.bootstrap.clone(), self.args.soak_rate);
        let frames = std::mem::replace(&mut self.frames, Frames::parse(Vec::new())?);
        // records fed in all, once the feeder is done (until then: MAX)
        let fed = Arc::new(AtomicU64::new(u64::MAX));
        let fed_out = Arc::clone(&fed);
        let feeder = std::thread::spawn(move || -> Result<(u64, Frames)> {
            let p = kafka::producer(&bootstrap)?;
            let t0 = Instant::now();
            let mut n = 0u64;
            while t0.elapsed() < d {
                let due = (t0.elapsed().as_secs_f64() * rate as f64) as u64;
                while n < due {
                    let (k, v) = frames.get((n % frames.len() as u64) as usize);
                    kafka::send(&p, INPUT, Some(k), v)?;
                    n += 1;
                }
                p.poll(Duration::from_millis(5));
            }
            kafka::drain(&p, Duration::from_secs(120))?;
            fed_out.store(n, Ordering::Release);
            Ok((n, frames))
        });

        // follow the pipeline until it has done everything the feeder
        // sent, sampling RSS every 10 s
        let mut samples: Vec<Json> = Vec::new();
        let mut next_sample = Instant::now();
        let pid = p.pid;
        let mut sampler = |w: &Window, s: &prom::Scrape| {
            if Instant::now() >= next_sample {
                next_sample += Duration::from_secs(10);
                let consumed = s.count("kbridge_records_in_total", &[("topic", INPUT)]);
                if let Some(rss) = cpu::rss_bytes(pid) {
                    samples.push(json!([
                        (w.t0.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                        rss,
                        consumed
                    ]));
                }
            }
        };
        let target = || fed.load(Ordering::Acquire);
        let w = self.watch(
            &mut p,
            guarantee,
            output,
            &target,
            broker.pid,
            None,
            Some(&mut sampler),
        )?;
        let (_, frames) = feeder
            .join()
            .map_err(|_| anyhow::anyhow!("the feeder thread panicked"))??;
        self.frames = frames;
        let loaded = target();
        let summary = p.stop(Duration::from_secs(60))?;
        let committed = kafka::committed_total(&broker.bootstrap, &group, INPUT)?;
        // every record was fed `loaded / n` times, the first `loaded % n` once more
        let n = self.frames.len() as u64;
        let expect = Expectation {
            per_seq: self
                .negative
                .iter()
                .enumerate()
                .map(|(i, &neg)| {
                    if neg {
                        0
                    } else {
                        u32::try_from(loaded / n + u64::from((i as u64) < loaded % n))
                            .unwrap_or(u32::MAX)
                    }
                })
                .collect(),
            upper_unit: true,
        };
        let audit = if self.args.no_audit {
            None
        } else {
            eprintln!("bench: soak: auditing {output}");
            Some(kafka::audit(
                &broker.bootstrap,
                output,
                &expect,
                Duration::from_secs(3),
            )?)
        };
        let mut r = Map::new();
        r.insert("label".into(), json!(label));
        r.insert("rep".into(), json!(1));
        r.insert("loadavg_1m".into(), json!(cpu::loadavg()[0]));
        r.append(&mut w.result(loaded, self.frames.bytes() * loaded / n.max(1)));
        let rss: Vec<u64> = samples.iter().filter_map(|s| s[1].as_u64()).collect();
        // after a minute the buffers (fetch queue, producer queue, codec
        // caches) have reached their steady size
        let warm = samples
            .iter()
            .find(|s| s[0].as_f64().unwrap_or(0.0) >= 60.0)
            .and_then(|s| s[1].as_u64());
        let end = rss.last().copied();
        r.insert("rss_at_spawn_bytes".into(), json!(rss_at_spawn));
        r.insert("rss_after_1m_bytes".into(), json!(warm));
        r.insert("rss_max_bytes".into(), json!(rss.iter().max()));
        if let (Some(a), Some(b)) = (warm, end) {
            r.insert(
                "rss_growth_after_1m_pct".into(),
                json!(((b as f64 / a as f64 - 1.0) * 1000.0).round() / 10.0),
            );
        }
        r.insert("rss_samples".into(), json!(samples));
        r.insert("soak_seconds".into(), json!(d.as_secs()));
        r.insert("soak_rate".into(), json!(self.args.soak_rate));
        let summary_ok = summary.get("records_in").and_then(Json::as_u64) == Some(loaded)
            && summary.get("records_out").and_then(Json::as_u64) == Some(expect.total());
        let ok =
            summary_ok && committed == loaded as i64 && audit.as_ref().is_none_or(kafka::Audit::ok);
        r.insert("correct".into(), json!(ok));
        if let Some(a) = &audit {
            r.insert("audit".into(), a.to_json());
        }
        r.insert("committed_offsets".into(), json!(committed));
        r.insert("summary".into(), summary);
        let mib = |b: Option<u64>| {
            b.map_or("-".to_owned(), |b| {
                format!("{:.0} MiB", b as f64 / 1048576.0)
            })
        };
        r.insert(
            "notes".into(),
            json!(format!(
                "RSS {} at the first record, {} after 1 min, {} at the end (max {})",
                mib(w.rss0),
                mib(warm),
                mib(end),
                mib(rss.iter().max().copied())
            )),
        );
        eprintln!("bench: soak: {}", r["notes"].as_str().unwrap_or(""));
        self.record(r)?;
        drop(broker);
        Ok(())
    }
}

/// Called on every scrape once the window is open (the soak's RSS samples).
type Sampler<'a> = dyn FnMut(&Window, &prom::Scrape) + 'a;

/// A kbridge run's timed window.
struct Window {
    t0: Instant,
    cpu: CpuWindow,
    rss0: Option<u64>,
    end: Option<Instant>,
    cpu_stats: Map<String, Json>,
    rss1: Option<u64>,
    perf: Option<Profiler>,
}

/// `perf record` attached to the pipeline for the window.
struct Profiler {
    child: std::process::Child,
    data: PathBuf,
}

impl Profiler {
    fn start(pid: u32, data: &Path) -> Result<Profiler> {
        let child = Command::new("perf")
            .args(["record", "-e", "cpu-clock", "-F", "999", "-g", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("start perf record (apt-get install linux-perf)")?;
        Ok(Profiler {
            child,
            data: data.to_path_buf(),
        })
    }

    /// Stops the recording and writes the flat and the caller reports.
    fn finish(mut self) -> Result<()> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        self.child.wait()?;
        for (suffix, args) in [
            (
                "perf.txt",
                &[
                    "--no-children",
                    "--sort",
                    "dso,symbol",
                    "--percent-limit",
                    "0.3",
                    "-g",
                    "none",
                ][..],
            ),
            (
                "perf-callers.txt",
                &[
                    "--no-children",
                    "--sort",
                    "symbol",
                    "--percent-limit",
                    "2",
                    "-g",
                    "caller,0.5,callee,function,percent",
                ][..],
            ),
        ] {
            let out = Command::new("perf")
                .args(["report", "--stdio", "-i"])
                .arg(&self.data)
                .args(args)
                .output()?;
            std::fs::write(self.data.with_extension(suffix), &out.stdout)?;
        }
        Ok(())
    }
}

impl Window {
    fn result(&self, records: u64, bytes: u64) -> Map<String, Json> {
        let secs = self
            .end
            .unwrap_or_else(Instant::now)
            .duration_since(self.t0)
            .as_secs_f64();
        let mut r = Map::new();
        r.insert("name".into(), json!("kbridge"));
        r.insert("records".into(), json!(records));
        r.insert("secs".into(), json!((secs * 1000.0).round() / 1000.0));
        r.insert(
            "rps".into(),
            json!((records as f64 / secs * 10.0).round() / 10.0),
        );
        r.insert("in_bytes".into(), json!(bytes));
        r.insert(
            "mbps".into(),
            json!((bytes as f64 / secs / 1e4).round() / 100.0),
        );
        for (k, v) in &self.cpu_stats {
            r.insert(k.clone(), v.clone());
        }
        r.insert("rss_start_bytes".into(), json!(self.rss0));
        r.insert("rss_end_bytes".into(), json!(self.rss1));
        r
    }
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// `POST /subjects/<subject>/versions`; returns the schema id.
pub fn register(agent: &ureq::Agent, url: &str, subject: &str, schema: &str) -> Result<u64> {
    let body = json!({ "schema": schema }).to_string();
    let answer: Json = serde_json::from_str(
        &agent
            .post(&format!(
                "{}/subjects/{subject}/versions",
                url.trim_end_matches('/')
            ))
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .send(body.as_str())
            .with_context(|| format!("register a schema under {subject} at {url}"))?
            .body_mut()
            .read_to_string()?,
    )?;
    answer
        .get("id")
        .and_then(Json::as_u64)
        .with_context(|| format!("the registry answered {answer} to a registration"))
}

fn build_release_kbridge() -> Result<PathBuf> {
    eprintln!("bench: building the kbridge binary (release)");
    run(cargo().args([
        "build",
        "--release",
        "--package",
        "kbridge",
        "--bin",
        "kbridge",
    ]))?;
    Ok(target_dir().join("release").join("kbridge"))
}

/// The baselines folder, its rawcopy built (release, into our target dir:
/// the folder may be read-only).
fn find_baselines(dir: &Path) -> Result<Option<Baselines>> {
    let dir = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        workspace_root().join(dir)
    };
    let needed = [
        "gen.py",
        "py_pipeline.py",
        "benchlib.py",
        "rawcopy/Cargo.toml",
    ];
    if let Some(missing) = needed.iter().find(|f| !dir.join(f).is_file()) {
        eprintln!(
            "bench: no baselines at {} ({missing} missing): only the kbridge modes run, without ratios; \
             pass --baselines DIR to compare",
            dir.display()
        );
        return Ok(None);
    }
    let dir = dir.canonicalize()?;
    let target = target_dir().join("bench").join("rawcopy-target");
    eprintln!("bench: building rawcopy (release) from {}", dir.display());
    run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args([
                "build",
                "--release",
                "--quiet",
                "--locked",
                "--manifest-path",
            ])
            .arg(dir.join("rawcopy/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target),
    )?;
    Ok(Some(Baselines {
        rawcopy: target.join("release").join("rawcopy"),
        dir,
    }))
}

/// The data set: `gen.py --dump` (cached under target/bench/data).
fn load_data(args: &BenchArgs, baselines: Option<&Path>) -> Result<Frames> {
    let dir = target_dir().join("bench").join("data");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("health-{}.frames", args.records));
    if !path.is_file() {
        let Some(b) = baselines else {
            bail!(
                "no data set at {} and no gen.py to make one: pass --baselines DIR (the folder with gen.py)",
                path.display()
            );
        };
        eprintln!("bench: generating {} records with gen.py", args.records);
        let tmp = path.with_extension("tmp");
        run(Command::new(python())
            .arg(b.join("gen.py"))
            .args(["--dump"])
            .arg(&tmp)
            .args(["-n", &args.records.to_string()])
            .stdout(std::process::Stdio::null()))?;
        std::fs::rename(&tmp, &path)?;
    }
    let frames = Frames::read(&path)?;
    if frames.len() != args.records {
        bail!(
            "{} holds {} records, not {}",
            path.display(),
            frames.len(),
            args.records
        );
    }
    Ok(frames)
}

/// `YYYYmmdd-HHMMSS` (UTC) from the system clock.
fn stamp() -> String {
    crate::util::output_ok(Command::new("date").args(["-u", "+%Y%m%d-%H%M%S"]))
        .unwrap_or_else(|| format!("run-{}", std::process::id()))
}
