//! Helpers shared by the `ops_*` tests: run the `kbridge` binary against
//! the test broker, create topics, produce and read records with plain
//! rdkafka (the tests check the binary, not themselves).

#![allow(dead_code)] // each test file uses a subset

use kbridge_integration_tests::{kafka_bootstrap, kbridge_bin};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// One `kbridge` run.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// stdout parsed as JSON lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
            .collect()
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "kbridge failed: {self:#?}");
        self
    }

    #[track_caller]
    pub fn assert_fails_with(&self, needle: &str) -> &Self {
        assert_eq!(self.code, Some(1), "expected exit 1: {self:#?}");
        assert!(
            self.stderr.contains(needle) || self.stdout.contains(needle),
            "expected {needle:?} in the output: {self:#?}"
        );
        self
    }
}

/// Runs `kbridge ARGS` with the test broker, an optional registry URL and
/// stdin, and short consumer-group timeouts (tansu joins take ~25 s with
/// the defaults).
pub fn kbridge(args: &[&str], registry: Option<&str>, stdin: Option<&str>) -> Run {
    kbridge_env(args, registry, stdin, &[])
}

/// [`kbridge`] with extra environment variables.
pub fn kbridge_env(
    args: &[&str],
    registry: Option<&str>,
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = Command::new(kbridge_bin());
    cmd.args(args)
        .env("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap())
        .env_remove("KAFKA_BROKERS")
        .env_remove("KBRIDGE_CONFIG")
        .env("KBRIDGE_CONSUMER__SESSION_TIMEOUT", "6s")
        .env("KBRIDGE_CONSUMER__HEARTBEAT_INTERVAL", "1s")
        .env("KBRIDGE_LOGGING__LEVEL", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match registry {
        Some(url) => cmd.env("SCHEMA_REGISTRY_URL", url),
        None => cmd.env_remove("SCHEMA_REGISTRY_URL"),
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .expect("run kbridge (build it first: cargo build -p kbridge)");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        let input = input.to_string();
        // write from a thread: a large input must not block on a full pipe
        std::thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for kbridge");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

fn client() -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", kafka_bootstrap());
    c
}

/// Creates a topic with `partitions` partitions (replication factor 1).
pub async fn create_topic(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = client().create().expect("admin client");
    let results = admin
        .create_topics(
            [&NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .expect("create topics");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
    }
}

/// A record to produce or as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rec {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Rec {
    pub fn new(partition: i32, key: &str, value: &[u8]) -> Self {
        Rec {
            partition,
            offset: -1,
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.to_vec()),
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers
            .push((k.to_string(), Some(v.as_bytes().to_vec())));
        self
    }
}

/// Produces records (to their partitions) and waits for every ack.
pub fn produce(topic: &str, records: &[Rec]) {
    let producer: BaseProducer = client().create().expect("producer");
    for r in records {
        let mut headers = OwnedHeaders::new();
        for (k, v) in &r.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic)
            .partition(r.partition)
            .headers(headers);
        if let Some(k) = &r.key {
            rec = rec.key(k);
        }
        if let Some(v) = &r.value {
            rec = rec.payload(v);
        }
        producer.send(rec).map_err(|(e, _)| e).expect("send");
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// Reads every partition of `topic` from the start until `count` records
/// arrived (counting, never trusting the high watermark), or panics after
/// 30 s. Records come back sorted by partition and offset.
pub fn read_records(topic: &str, partitions: i32, count: usize) -> Vec<Rec> {
    let consumer: BaseConsumer = client()
        .set("group.id", "ops-test-reader")
        .set("enable.auto.commit", "false")
        .set("fetch.queue.backoff.ms", "10")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("tpl");
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while out.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} records arrived in {topic}",
            out.len()
        );
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push(Rec {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                headers: m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
    }
    out.sort_by_key(|r| (r.partition, r.offset));
    out
}

/// Commits these offsets for `group` (without joining it).
pub fn commit(group: &str, topic: &str, offsets: &[(i32, i64)]) {
    let consumer: BaseConsumer = client()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for (p, o) in offsets {
        tpl.add_partition_offset(topic, *p, Offset::Offset(*o))
            .expect("tpl");
    }
    consumer
        .commit(&tpl, rdkafka::consumer::CommitMode::Sync)
        .expect("commit");
}

/// A TCP port nothing listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// [`kbridge`] on a blocking thread, so an in-process registry keeps serving.
pub async fn kbridge_async(args: &[&str], registry: Option<&str>, stdin: Option<&str>) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let registry = registry.map(str::to_string);
    let stdin = stdin.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        kbridge(&a, registry.as_deref(), stdin.as_deref())
    })
    .await
    .expect("kbridge thread")
}

/// An embedded registry on a random port.
pub async fn registry() -> kbridge_registry_server::RunningServer {
    kbridge_registry_server::spawn("127.0.0.1:0", &kbridge_registry_server::StoreConfig::Memory)
        .await
        .expect("start the embedded registry")
}
