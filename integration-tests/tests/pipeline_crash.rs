//! Crash: `kbridge run` is killed with SIGKILL at pseudo-random points
//! while it streams, and restarted each time (same group, same instance, so
//! the exactly-once restart fences the dead run's transactional producer);
//! a last bounded run (stop offsets = the input's end offsets) finishes.
//!
//! - exactly-once: after every kill the committed output (read with the
//!   marker-aware auditor, since tansu shows aborted records to
//!   read_committed consumers) is exactly the input below the committed
//!   offsets; at the end it holds every input key once.
//! - at-least-once: after every kill everything below the committed offsets
//!   is in the output; at the end every input key is there at least once.
//!
//! In both, the committed offsets end at the input's end offsets.
//!
//! The seed of the kill delays is printed; `CRASH_SEED=<n>` replays it.
//! The second kill lands a random 0.3–2.5 s after the process start (in
//! its start-up: group join, fencing and aborting the first run's open
//! transaction); the others land a random 0.3–2.5 s after the run counted
//! its first record (the group join after a kill takes several seconds on
//! tansu, so a delay from the process start would mostly hit the join),
//! the last of them after the run counted its first record and its first
//! commit.
//! The killed runs are throttled (few records in flight, a long linger) so
//! that the kills land mid-stream on any machine; the last run is not.

mod pipeline_common;

use kbridge_integration_tests::{kafka_bootstrap, unique};
use pipeline_common::{
    audit, committed, create_topics, free_port, http_get, metric, produce, read_raw, records_in,
    spawn_kbridge_run_logged, stop_offsets_toml, unhex, wait_logged, write_config,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const N: i64 = 5000;
const PARTITIONS: i32 = 4;
const KILLS: usize = 4;
/// The run killed during its start-up rather than mid-stream.
const STARTUP_KILL: usize = 1;
/// The run killed after it committed, whatever the random delays: with
/// commits once a second and delays from 0.3 s, the other runs may all
/// be killed before their first commit.
const AFTER_COMMIT_KILL: usize = KILLS - 1;

fn key(i: i64) -> String {
    format!("k{i}")
}

fn partition_of(i: i64) -> i32 {
    (i % i64::from(PARTITIONS)) as i32
}

/// The keys of input records below `offsets` (record i is at offset
/// i / PARTITIONS of partition i % PARTITIONS).
fn keys_below(offsets: &BTreeMap<i32, i64>) -> BTreeSet<String> {
    (0..N)
        .filter(|i| {
            i / i64::from(PARTITIONS) < offsets.get(&partition_of(*i)).copied().unwrap_or(0)
        })
        .map(key)
        .collect()
}

/// splitmix64: reproducible delays from a printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)` milliseconds.
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

fn seed() -> u64 {
    std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

struct Setup {
    dir: PathBuf,
    input: String,
    output: String,
    group: String,
    guarantee: &'static str,
    prefix: String,
    ends: BTreeMap<i32, i64>,
}

impl Setup {
    /// The pipeline file (bounded by the input's end offsets); `throttled`
    /// keeps few records in flight with a long linger, `port` serves
    /// `/metrics`.
    fn config(&self, throttled: bool, port: u16) -> PathBuf {
        let (in_flight, linger) = if throttled {
            (20, "50ms")
        } else {
            (100_000, "5ms")
        };
        write_config(
            &self.dir,
            &format!(
                r#"
shutdown_timeout = "20s"
[kafka]
brokers = ["{bootstrap}"]
[consumer]
group_id = "{group}"
session_timeout = "6s"
heartbeat_interval = "1s"
[producer]
linger = "{linger}"
[source]
topics = ["{input}"]
{stop}
[codec.key]
format = "bytes"
[codec.value]
format = "bytes"
[sink]
topic = "{output}"
delivery_guarantee = "{guarantee}"
transactional_id_prefix = "{prefix}"
max_in_flight_records = {in_flight}
[metrics]
enabled = true
listen = "127.0.0.1:{port}"
"#,
                bootstrap = kafka_bootstrap(),
                group = self.group,
                input = self.input,
                output = self.output,
                guarantee = self.guarantee,
                prefix = self.prefix,
                stop = stop_offsets_toml(&self.input, &self.ends),
            ),
        )
    }

    /// The output keys: exactly-once through the auditor (committed
    /// transactions only), at-least-once as written.
    fn output_keys(&self, at_least: usize) -> Vec<String> {
        if self.guarantee == "exactly_once" {
            let (records, summary) = audit(&self.output);
            println!("  audit: {summary}");
            records.iter().map(|r| unhex(&r["key"])).collect()
        } else {
            read_raw(&self.output, at_least, Duration::from_secs(20))
                .iter()
                .map(|r| r.key_text())
                .collect()
        }
    }

    /// The output agrees with the committed offsets: exactly-once, the
    /// output is exactly the input below them, once each; at-least-once,
    /// it holds at least that.
    fn check_consistent(&self, offsets: &BTreeMap<i32, i64>, when: &str) {
        let durable = keys_below(offsets);
        let written = self.output_keys(durable.len());
        let written_set: BTreeSet<String> = written.iter().cloned().collect();
        if self.guarantee == "exactly_once" {
            assert_eq!(
                written.len(),
                written_set.len(),
                "{when}: duplicates in the committed output (committed offsets {offsets:?})"
            );
            let lost: Vec<&String> = durable.difference(&written_set).take(10).collect();
            let extra: Vec<&String> = written_set.difference(&durable).take(10).collect();
            assert!(
                lost.is_empty() && extra.is_empty(),
                "{when}: committed output ({} records) differs from the input below the \
                 committed offsets {offsets:?} ({} records): missing {lost:?}, beyond {extra:?}",
                written_set.len(),
                durable.len()
            );
        } else {
            let lost: Vec<&String> = durable.difference(&written_set).take(10).collect();
            assert!(
                lost.is_empty(),
                "{when}: records below the committed offsets {offsets:?} are missing \
                 from the output: {lost:?}"
            );
        }
    }
}

fn crash_and_restart(guarantee: &'static str) {
    let started = Instant::now();
    let seed = seed();
    println!("{guarantee}: CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let s = Setup {
        dir: std::env::temp_dir().join(unique("crash")),
        input: unique("crash-in"),
        output: unique("crash-out"),
        group: unique("crash-g"),
        guarantee,
        prefix: unique("crash-tx"),
        ends: (0..PARTITIONS)
            .map(|p| (p, N / i64::from(PARTITIONS)))
            .collect(),
    };
    std::fs::create_dir_all(&s.dir).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(create_topics(&[(&s.input, PARTITIONS), (&s.output, 2)]));
    produce(
        &s.input,
        (0..N).map(|i| (partition_of(i), key(i), format!("value-{i}").into_bytes())),
    );
    let instance = unique("crash");
    let delays: Vec<Duration> = (0..KILLS).map(|_| rng.millis(300, 2500)).collect();
    println!(
        "  kill delays (run {STARTUP_KILL} from its start, the others from their first record): {delays:?}"
    );

    let mut last = BTreeMap::new();
    for (k, delay) in delays.iter().enumerate() {
        let port = free_port();
        let log = s.dir.join(format!("run-{k}"));
        let mut child =
            spawn_kbridge_run_logged(&s.config(true, port), &["--instance", &instance], &log);
        let spawned = Instant::now();
        let deadline = spawned + Duration::from_secs(60);
        let mut first_record = || -> bool {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "run {k} exited ({status}) before its first record (logs in {})",
                    log.display()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("run {k}: no record in 60 s (logs in {})", log.display());
            }
            let Some(text) = http_get(port, "/metrics") else {
                return false;
            };
            let topic = format!("topic=\"{}\"", s.input);
            metric(&text, "kbridge_records_in_total", &[&topic]).is_some_and(|n| n > 0.0)
                && (k != AFTER_COMMIT_KILL
                    || metric(&text, "kbridge_consumer_committed_offset", &[&topic]).is_some())
        };
        if k != STARTUP_KILL {
            while !first_record() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let first = (k != STARTUP_KILL).then(|| spawned.elapsed());
        std::thread::sleep(*delay);
        let seen = records_in(port, &s.input).unwrap_or(0.0);
        assert!(
            child.try_wait().unwrap().is_none(),
            "run {k} finished before its kill: the throttle is too weak for this machine \
             (logs in {})",
            log.display()
        );
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        let offsets = committed(&s.group, &s.input, PARTITIONS);
        let total: i64 = offsets.values().sum();
        let when = match first {
            Some(first) if k == AFTER_COMMIT_KILL => {
                format!("first record and commit {first:.1?} after start, SIGKILL {delay:?} later")
            }
            Some(first) => format!("first record {first:.1?} after start, SIGKILL {delay:?} later"),
            None => format!("SIGKILL {delay:?} after start"),
        };
        println!(
            "  run {k}: {when} ({status}); {seen} records in; committed {offsets:?} (sum {total})"
        );
        assert!(
            total < N,
            "run {k}: everything was committed before the kill ({offsets:?})"
        );
        for (p, o) in &last {
            assert!(
                offsets.get(p).is_some_and(|n| n >= o),
                "run {k}: committed offsets went back: {last:?} -> {offsets:?}"
            );
        }
        s.check_consistent(&offsets, &format!("after the kill of run {k}"));
        last = offsets;
    }
    assert!(
        last.values().sum::<i64>() > 0,
        "no kill happened after a commit: {last:?}"
    );

    // the last run finishes the bounded replay
    let log = s.dir.join("run-final");
    let child = spawn_kbridge_run_logged(
        &s.config(false, free_port()),
        &["--instance", &instance],
        &log,
    );
    let (code, stdout, stderr) = wait_logged(child, &log, Duration::from_secs(60));
    assert_eq!(
        code,
        Some(0),
        "final run\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("ended by finished"), "{stdout}");
    println!("  final run: {}", stdout.lines().last().unwrap_or_default());
    let offsets = committed(&s.group, &s.input, PARTITIONS);
    assert_eq!(
        offsets, s.ends,
        "committed offsets = the input's end offsets"
    );
    let written = s.output_keys(N as usize);
    let written_set: BTreeSet<String> = written.iter().cloned().collect();
    let all: BTreeSet<String> = (0..N).map(key).collect();
    let lost: Vec<&String> = all.difference(&written_set).take(10).collect();
    assert!(
        lost.is_empty(),
        "lost {} records, e.g. {lost:?}",
        all.len() - written_set.len()
    );
    assert_eq!(written_set, all, "nothing but input keys in the output");
    if guarantee == "exactly_once" {
        assert_eq!(written.len(), N as usize, "no duplicate");
    } else {
        println!(
            "  at-least-once output: {} records for {N} keys ({} repeats)",
            written.len(),
            written.len() - N as usize
        );
    }
    println!("{guarantee}: done in {:.1?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn exactly_once_survives_sigkill_at_random_points_with_no_loss_and_no_duplicate() {
    crash_and_restart("exactly_once");
}

#[test]
fn at_least_once_survives_sigkill_at_random_points_with_no_loss() {
    crash_and_restart("at_least_once");
}
