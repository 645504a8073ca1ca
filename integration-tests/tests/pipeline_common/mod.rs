//! Helpers shared by the `pipeline_*` tests: topics, Confluent's Python
//! client on both ends (`python/pipeline_io.py`), the marker-aware EOS
//! auditor (`python/eos_audit.py`), raw reads with headers, committed
//! offsets, and running `kbridge run`.

#![allow(dead_code)] // each test file uses a subset

use kbridge_integration_tests::{kafka_bootstrap, kbridge_bin, workspace_root};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Creates topics (replication factor 1).
pub async fn create_topics(topics: &[(&str, i32)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .create()
        .expect("admin client");
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(t, p)| NewTopic::new(t, *p, TopicReplication::Fixed(1)))
        .collect();
    let results = admin
        .create_topics(
            &new,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create topics");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
    }
}

/// Runs `python3 integration-tests/python/<script> ARGS` (blocking) and
/// parses the last stdout line as JSON.
pub fn python(script: &str, args: &[&str]) -> Value {
    let path = workspace_root()
        .join("integration-tests/python")
        .join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .expect("run python3 (needs confluent-kafka[avro,schemaregistry] and kafka-python)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} {args:?} failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{script}: last line is not JSON ({e}): {stdout}"))
}

/// What the auditor says a read_committed consumer of a real Kafka broker
/// would see: the records, and the summary counts.
pub fn audit(topic: &str) -> (Vec<Value>, Value) {
    let path = workspace_root().join("integration-tests/python/eos_audit.py");
    let out = Command::new("python3")
        .arg(&path)
        .arg(kafka_bootstrap())
        .arg(topic)
        .output()
        .expect("run eos_audit.py (needs kafka-python)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "eos_audit failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("auditor JSON line"))
        .collect();
    let summary = lines.pop().expect("summary line")["summary"].clone();
    (lines, summary)
}

/// Hex (as the auditor prints keys) to text.
pub fn unhex(h: &Value) -> String {
    let s = h.as_str().unwrap_or_default();
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A record read with plain rdkafka (bytes and headers untouched).
#[derive(Debug, Clone)]
pub struct Raw {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Raw {
    pub fn key_text(&self) -> String {
        String::from_utf8_lossy(self.key.as_deref().unwrap_or_default()).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// Reads every partition of `topic` from the beginning until `want`
/// records arrived (then 1 s more, to catch extras), or `timeout`.
pub fn read_raw(topic: &str, want: usize, timeout: Duration) -> Vec<Raw> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("group.id", format!("read-raw-{topic}"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_uncommitted")
        .create()
        .expect("consumer");
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
            .expect("partition");
    }
    c.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut extra: Option<Instant> = None;
    while Instant::now() < deadline {
        if out.len() >= want {
            let until = *extra.get_or_insert_with(|| Instant::now() + Duration::from_secs(1));
            if Instant::now() > until {
                break;
            }
        }
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            out.push(Raw {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out
}

/// The group's committed offsets for the partitions of `topic`.
pub fn committed(group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = c
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets");
    got.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}

/// `{partition: offset}` from the producer's JSON.
pub fn end_offsets(produced: &Value) -> BTreeMap<i32, i64> {
    produced["end_offsets"]
        .as_object()
        .expect("end_offsets")
        .iter()
        .map(|(p, o)| (p.parse().unwrap(), o.as_i64().unwrap()))
        .collect()
}

/// `stop_offsets = { offsets = { topic = { 0 = n, ... } } }` TOML.
pub fn stop_offsets_toml(topic: &str, ends: &BTreeMap<i32, i64>) -> String {
    let parts: Vec<String> = ends.iter().map(|(p, o)| format!("{p} = {o}")).collect();
    format!(
        "stop_offsets = {{ offsets = {{ \"{topic}\" = {{ {} }} }} }}",
        parts.join(", ")
    )
}

/// Writes a pipeline file into `dir` and returns its path.
pub fn write_config(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, toml).expect("write pipeline.toml");
    path
}

/// `kbridge run --config FILE ARGS` as a child process (stdout and stderr
/// piped), with the test broker.
pub fn spawn_kbridge_run(config: &Path, args: &[&str]) -> Child {
    Command::new(kbridge_bin())
        .arg("run")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("KBRIDGE_CONFIG")
        .env_remove("KAFKA_BROKERS")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env_remove("SCHEMA_REGISTRY_URL")
        .env("KBRIDGE_LOGGING__LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kbridge (build it first: cargo build -p kbridge)")
}

/// Waits for a child with a time limit; kills it if it runs over. Its
/// stdout and stderr are read meanwhile (by threads), so a chatty child
/// never blocks on a full pipe.
pub fn wait_with_timeout(mut child: Child, timeout: Duration) -> (Option<i32>, String, String) {
    fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("wait for kbridge") {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                break child.wait().expect("wait for killed kbridge");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    (
        status.code(),
        stdout.join().expect("stdout reader"),
        stderr.join().expect("stderr reader"),
    )
}

/// Sends SIGTERM to a child process.
pub fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill -TERM");
    assert!(status.success(), "kill -TERM {}", child.id());
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `GET http://127.0.0.1:PORT/PATH` with a plain socket; the body, or
/// `None` when nothing listens yet.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
}

/// The value of one Prometheus sample line `name{labels} value` (labels
/// given as they appear, e.g. `topic="in"`), if present.
pub fn metric(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split(['{', ' ']).next() == Some(name) && labels.iter().all(|want| l.contains(want))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .next()
}

/// Produces `(partition, key, value)` records with an idempotent producer
/// (order kept per partition) and waits for every acknowledgement.
pub fn produce(topic: &str, records: impl IntoIterator<Item = (i32, String, Vec<u8>)>) {
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let p: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_bootstrap())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .expect("producer");
    for (partition, key, value) in records {
        let mut rec = BaseRecord::to(topic)
            .key(&key)
            .payload(&value)
            .partition(partition);
        loop {
            match p.send(rec) {
                Ok(()) => break,
                Err((e, back)) => {
                    assert!(
                        matches!(
                            e,
                            rdkafka::error::KafkaError::MessageProduction(
                                rdkafka::types::RDKafkaErrorCode::QueueFull
                            )
                        ),
                        "produce: {e}"
                    );
                    rec = back;
                    p.poll(Duration::from_millis(5));
                }
            }
        }
    }
    p.flush(Duration::from_secs(60)).expect("flush");
}

/// Like [`spawn_kbridge_run`], but stdout and stderr go to `<log>.out` and
/// `<log>.err` (a long or killed run never blocks on a full pipe, and the
/// logs stay for a post-mortem).
pub fn spawn_kbridge_run_logged(config: &Path, args: &[&str], log: &Path) -> Child {
    let out = std::fs::File::create(log.with_extension("out")).expect("create stdout log");
    let err = std::fs::File::create(log.with_extension("err")).expect("create stderr log");
    Command::new(kbridge_bin())
        .arg("run")
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("KBRIDGE_CONFIG")
        .env_remove("KAFKA_BROKERS")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env_remove("SCHEMA_REGISTRY_URL")
        .env("KBRIDGE_LOGGING__LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("run kbridge (build it first: cargo build -p kbridge)")
}

/// Waits for a child started by [`spawn_kbridge_run_logged`] with a time
/// limit (kills it if it runs over); its exit code and both logs.
pub fn wait_logged(
    mut child: Child,
    log: &Path,
    timeout: Duration,
) -> (Option<i32>, String, String) {
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("wait for kbridge") {
            Some(status) => break status,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                break child.wait().expect("wait for killed kbridge");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let read = |ext: &str| std::fs::read_to_string(log.with_extension(ext)).unwrap_or_default();
    (status.code(), read("out"), read("err"))
}

/// `kbridge_records_in_total{topic="TOPIC"}` scraped from the `/metrics`
/// endpoint on `port`, or `None` while nothing is served or counted yet.
pub fn records_in(port: u16, topic: &str) -> Option<f64> {
    let text = http_get(port, "/metrics")?;
    metric(
        &text,
        "kbridge_records_in_total",
        &[&format!("topic=\"{topic}\"")],
    )
}
