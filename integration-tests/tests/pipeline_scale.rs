//! Scale-out: exactly-once `kbridge run` replicas in one consumer group
//! (each with its own `--instance`, so their transactional ids differ) over
//! a 4-partition input that keeps growing while they run. Two start; a
//! third joins mid-stream and takes partitions; then one of the first two
//! leaves and the other two take over its partitions. Once the committed
//! offsets reach the input's end offsets the remaining two get SIGTERM
//! (exit 0), and the output, read through the marker-aware auditor (tansu
//! shows aborted records to read_committed consumers), holds every input
//! key exactly once.
//!
//! The leave is a SIGTERM (graceful: the replica commits what is durable,
//! leaves the group and must exit 0), sent while it streams after the
//! rebalance that the join caused.
//!
//! Not tested here: a replica killed mid-stream, which tansu 0.6 cannot
//! carry. Killed for good, it leaves an open transaction that
//! tansu never times out, and while a transaction holding offsets for the
//! group is open, tansu's OffsetFetch returns the group's offsets from
//! before it began for every partition (no UNSTABLE_OFFSET_COMMIT), so the
//! replicas that take over restart from stale offsets and the output
//! repeats records. A SIGKILL followed by a restart under the same
//! `--instance` (which fences the dead run) passes most runs, but fails
//! about one run in four on a second tansu defect: concurrent
//! transactional offset commits of different producers for one group
//! sometimes lose one (the owner's last committed offset of a partition
//! never shows in OffsetFetch). That defect can also hit this test.

mod pipeline_common;

use kbridge_integration_tests::{kafka_bootstrap, unique};
use pipeline_common::{
    audit, committed, create_topics, free_port, http_get, produce, records_in, sigterm,
    spawn_kbridge_run_logged, unhex,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 4;
const BATCH: i64 = 200;
const BATCH_EVERY: Duration = Duration::from_millis(250);

fn key(i: i64) -> String {
    format!("k{i}")
}

fn partition_of(i: i64) -> i32 {
    (i % i64::from(PARTITIONS)) as i32
}

/// Record `i` of batch-produced records `0..n`: partition `i % 4`, offset
/// `i / 4`, so the end offsets follow from the count.
fn end_offsets_of(n: i64) -> BTreeMap<i32, i64> {
    (0..PARTITIONS)
        .map(|p| (p, (0..n).filter(|i| partition_of(*i) == p).count() as i64))
        .collect()
}

fn produce_range(topic: &str, from: i64, to: i64) {
    produce(
        topic,
        (from..to).map(|i| (partition_of(i), key(i), format!("value-{i}").into_bytes())),
    );
}

/// One replica: its process, metrics port and log files.
struct Replica {
    name: &'static str,
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Replica {
    fn start(name: &'static str, dir: &Path, config: &str, instance: &str) -> Replica {
        let port = free_port();
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, config.replace("@PORT@", &port.to_string())).unwrap();
        let log = dir.join(name);
        let child = spawn_kbridge_run_logged(&file, &["--instance", instance], &log);
        Replica {
            name,
            child,
            port,
            log,
        }
    }

    fn records_in(&self, topic: &str) -> f64 {
        records_in(self.port, topic).unwrap_or(0.0)
    }

    /// Fails the test if the process is gone.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            let read = |ext: &str| {
                std::fs::read_to_string(self.log.with_extension(ext)).unwrap_or_default()
            };
            panic!(
                "replica {} exited early ({status})\nstdout: {}\nstderr: {}",
                self.name,
                read("out"),
                read("err")
            );
        }
    }

    /// SIGTERM, then the exit code must be 0 with a shutdown summary; the
    /// summary's last line.
    fn stop(mut self) -> String {
        sigterm(&self.child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "replica {} still runs 60 s after SIGTERM",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let read =
            |ext: &str| std::fs::read_to_string(self.log.with_extension(ext)).unwrap_or_default();
        let (stdout, stderr) = (read("out"), read("err"));
        assert_eq!(
            status.code(),
            Some(0),
            "replica {} after SIGTERM\nstdout: {stdout}\nstderr: {stderr}",
            self.name
        );
        assert!(
            stdout.contains("ended by shutdown"),
            "replica {}: {stdout}",
            self.name
        );
        stdout.lines().last().unwrap_or_default().to_owned()
    }
}

impl Drop for Replica {
    /// A failed test leaves no process behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `cond` every 100 ms while every replica keeps running; fails
/// after `limit` naming `what`.
fn wait_for(
    what: &str,
    limit: Duration,
    replicas: &mut [&mut Replica],
    mut cond: impl FnMut(&[&mut Replica]) -> bool,
) {
    let deadline = Instant::now() + limit;
    while !cond(replicas) {
        for r in replicas.iter_mut() {
            r.assert_running();
        }
        if Instant::now() > deadline {
            // what each replica believes it read and committed
            let state: Vec<String> = replicas
                .iter()
                .map(|r| {
                    let text = http_get(r.port, "/metrics").unwrap_or_default();
                    let lines: Vec<&str> = text
                        .lines()
                        .filter(|l| {
                            l.starts_with("kbridge_consumer_committed_offset")
                                || l.starts_with("kbridge_records_in_total")
                                || l.starts_with("kbridge_transactions")
                        })
                        .collect();
                    format!(
                        "replica {} (logs {}):\n{}",
                        r.name,
                        r.log.display(),
                        lines.join("\n")
                    )
                })
                .collect();
            panic!("{what}: not within {limit:?}\n{}", state.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn exactly_once_output_stays_exact_when_a_replica_joins_and_another_leaves_mid_stream() {
    let started = Instant::now();
    let log = |what: &str| println!("  {:>5.1?}  {what}", started.elapsed());
    let input = unique("scale-in");
    let output = unique("scale-out");
    let group = unique("scale-g");
    let prefix = unique("scale-tx");
    let dir = std::env::temp_dir().join(unique("scale"));
    std::fs::create_dir_all(&dir).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(create_topics(&[(&input, PARTITIONS), (&output, 2)]));
    let config = format!(
        r#"
shutdown_timeout = "20s"
[kafka]
brokers = ["{bootstrap}"]
[consumer]
group_id = "{group}"
session_timeout = "6s"
heartbeat_interval = "1s"
[source]
topics = ["{input}"]
[codec.key]
format = "bytes"
[codec.value]
format = "bytes"
[sink]
topic = "{output}"
delivery_guarantee = "exactly_once"
transactional_id_prefix = "{prefix}"
[metrics]
enabled = true
listen = "127.0.0.1:@PORT@"
"#,
        bootstrap = kafka_bootstrap()
    );

    // some input before anyone runs, then a steady stream in batches
    produce_range(&input, 0, 4 * BATCH);
    let produced = Arc::new(AtomicI64::new(4 * BATCH));
    let stop_producing = Arc::new(AtomicBool::new(false));
    let producer = {
        let (input, produced, stop) = (input.clone(), produced.clone(), stop_producing.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let from = produced.load(Ordering::SeqCst);
                produce_range(&input, from, from + BATCH);
                produced.store(from + BATCH, Ordering::SeqCst);
                std::thread::sleep(BATCH_EVERY);
            }
        })
    };

    let mut a = Replica::start("a", &dir, &config, &unique("scale-a"));
    let mut b = Replica::start("b", &dir, &config, &unique("scale-b"));
    log("a and b started");
    wait_for(
        "a and b both read records",
        Duration::from_secs(60),
        &mut [&mut a, &mut b],
        |r| r[0].records_in(&input) > 0.0 && r[1].records_in(&input) > 0.0,
    );
    log(&format!(
        "a and b read: a {} in, b {} in; committed {:?}",
        a.records_in(&input),
        b.records_in(&input),
        committed(&group, &input, PARTITIONS)
    ));

    let mut c = Replica::start("c", &dir, &config, &unique("scale-c"));
    log("c started");
    wait_for(
        "c gets partitions and reads",
        Duration::from_secs(60),
        &mut [&mut a, &mut b, &mut c],
        |r| r[2].records_in(&input) > 0.0,
    );
    log(&format!(
        "c reads: a {} in, b {} in, c {} in",
        a.records_in(&input),
        b.records_in(&input),
        c.records_in(&input)
    ));

    // a leaves while it streams after the rebalance (mid-transaction, most
    // likely: transactions here span a few hundred records)
    let a_before = a.records_in(&input);
    wait_for(
        "a reads again after c joined",
        Duration::from_secs(60),
        &mut [&mut a, &mut b, &mut c],
        |r| r[0].records_in(&input) >= a_before + 100.0,
    );
    let a_in = a.records_in(&input);
    // the replicas that run on
    let mut rest = vec![b, c];
    let a_summary = a.stop();
    log(&format!("a stopped by SIGTERM ({a_in} in): {a_summary}"));
    let total_in = |r: &[&mut Replica]| r.iter().map(|r| r.records_in(&input)).sum::<f64>();
    let at_leave = total_in(&rest.iter_mut().collect::<Vec<_>>());
    wait_for(
        "the others take over a's partitions and go on",
        Duration::from_secs(60),
        &mut rest.iter_mut().collect::<Vec<_>>(),
        |r| total_in(r) > at_leave + (8 * BATCH) as f64,
    );
    stop_producing.store(true, Ordering::SeqCst);
    producer.join().expect("producer thread");
    let n = produced.load(Ordering::SeqCst);
    let ends = end_offsets_of(n);
    log(&format!(
        "input complete: {n} records, end offsets {ends:?}"
    ));

    wait_for(
        "committed offsets reach the input's end offsets",
        Duration::from_secs(60),
        &mut rest.iter_mut().collect::<Vec<_>>(),
        |_| committed(&group, &input, PARTITIONS) == ends,
    );
    let counts: Vec<String> = rest
        .iter()
        .map(|r| format!("{} {} in", r.name, r.records_in(&input)))
        .collect();
    log(&format!("all committed: {}", counts.join(", ")));
    for r in rest {
        let name = r.name;
        let summary = r.stop();
        log(&format!("{name} stopped by SIGTERM: {summary}"));
    }

    assert_eq!(committed(&group, &input, PARTITIONS), ends);
    let (records, summary) = audit(&output);
    log(&format!("audit: {summary}"));
    let written: Vec<String> = records.iter().map(|r| unhex(&r["key"])).collect();
    let written_set: BTreeSet<String> = written.iter().cloned().collect();
    let all: BTreeSet<String> = (0..n).map(key).collect();
    let lost: Vec<&String> = all.difference(&written_set).take(10).collect();
    assert!(
        lost.is_empty(),
        "lost {} records, e.g. {lost:?}",
        all.len() - all.intersection(&written_set).count()
    );
    assert_eq!(written_set, all, "nothing but input keys in the output");
    let mut seen = BTreeSet::new();
    let repeated: Vec<&String> = written
        .iter()
        .filter(|k| !seen.insert(*k))
        .take(10)
        .collect();
    assert!(
        repeated.is_empty(),
        "{} duplicates in the committed output, e.g. {repeated:?}",
        written.len() - written_set.len()
    );
    assert_eq!(written.len() as i64, n);
    let _ = std::fs::remove_dir_all(&dir);
}
