//! `cargo xtask stack up|down|status`: a long-lived local broker and schema
//! registry for development. State lives in `.stack/` at the workspace root:
//! `endpoints.env` (read by the integration tests and handy for `source`),
//! `state.env` (what runs where), and the logs of local processes.

use crate::images::{self, KAFKA_EXTERNAL_PORT, KAFKA_INTERNAL_PORT, REGISTRY_PORT};
use crate::registry::{self, Store};
use crate::util::{parse_env_file, port_or_free, wait_until, workspace_root};
use crate::{docker, probe, process, tansu};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const NETWORK: &str = "kbridge-stack";
const KAFKA_CONTAINER: &str = "kbridge-stack-kafka";
const REGISTRY_CONTAINER: &str = "kbridge-stack-schema-registry";

#[derive(Debug, Subcommand)]
pub enum StackCommand {
    /// Start a single-node broker and a schema registry; write `.stack/endpoints.env`.
    Up(UpArgs),
    /// Stop everything `stack up` started.
    Down,
    /// Show what runs and whether it answers (exit 1 when something does not).
    Status,
}

/// Where the services run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Runtime {
    /// Docker when a daemon answers, else local processes.
    #[default]
    Auto,
    /// Containers (needs a Docker daemon).
    Docker,
    /// Local processes (tansu and `kbridge registry serve`).
    Process,
}

/// Which broker to run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Broker {
    /// Apache Kafka when its image can be pulled, else tansu.
    #[default]
    Auto,
    /// The `apache/kafka` image (Docker only).
    Kafka,
    /// The tansu broker (a `FROM scratch` image, or a local process).
    Tansu,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Host port of the broker; a random free port when this one is taken.
    #[arg(long, default_value_t = 9092)]
    pub kafka_port: u16,
    /// Host port of the schema registry; a random free port when taken.
    #[arg(long, default_value_t = 8081)]
    pub registry_port: u16,
    #[arg(long, value_enum, default_value_t = Runtime::Auto)]
    pub runtime: Runtime,
    #[arg(long, value_enum, default_value_t = Broker::Auto)]
    pub broker: Broker,
    /// Store of the embedded registry.
    #[arg(long, value_enum, default_value_t = Store::Memory)]
    pub registry_store: Store,
    /// Do not (re)build `target/debug/kbridge` for the embedded registry.
    #[arg(long)]
    pub no_build: bool,
}

pub fn run(cmd: StackCommand) -> Result<()> {
    match cmd {
        StackCommand::Up(args) => up(&args),
        StackCommand::Down => down(),
        StackCommand::Status => {
            if status()? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
    }
}

fn stack_dir() -> PathBuf {
    workspace_root().join(".stack")
}

/// What `stack up` started, as written to `.stack/state.env`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct State {
    runtime: String,
    broker: String,
    kafka_container: Option<String>,
    kafka_pid: Option<u32>,
    bootstrap: String,
    registry: String,
    registry_container: Option<String>,
    registry_pid: Option<u32>,
    registry_url: Option<String>,
    network: Option<String>,
}

impl State {
    fn render(&self) -> String {
        let mut out =
            String::from("# written by `cargo xtask stack up`; read by `stack status|down`\n");
        let mut line = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push_str(&format!("{k}={v}\n"));
            }
        };
        line("RUNTIME", Some(self.runtime.clone()));
        line("BROKER", Some(self.broker.clone()));
        line("KAFKA_CONTAINER", self.kafka_container.clone());
        line("KAFKA_PID", self.kafka_pid.map(|p| p.to_string()));
        line("KAFKA_BOOTSTRAP_SERVERS", Some(self.bootstrap.clone()));
        line("REGISTRY", Some(self.registry.clone()));
        line("REGISTRY_CONTAINER", self.registry_container.clone());
        line("REGISTRY_PID", self.registry_pid.map(|p| p.to_string()));
        line("SCHEMA_REGISTRY_URL", self.registry_url.clone());
        line("NETWORK", self.network.clone());
        out
    }

    fn parse(text: &str) -> State {
        let mut s = State::default();
        for (k, v) in parse_env_file(text) {
            match k.as_str() {
                "RUNTIME" => s.runtime = v,
                "BROKER" => s.broker = v,
                "KAFKA_CONTAINER" => s.kafka_container = Some(v),
                "KAFKA_PID" => s.kafka_pid = v.parse().ok(),
                "KAFKA_BOOTSTRAP_SERVERS" => s.bootstrap = v,
                "REGISTRY" => s.registry = v,
                "REGISTRY_CONTAINER" => s.registry_container = Some(v),
                "REGISTRY_PID" => s.registry_pid = v.parse().ok(),
                "SCHEMA_REGISTRY_URL" => s.registry_url = Some(v),
                "NETWORK" => s.network = Some(v),
                _ => {}
            }
        }
        s
    }

    fn load() -> Option<State> {
        std::fs::read_to_string(stack_dir().join("state.env"))
            .ok()
            .map(|t| State::parse(&t))
    }

    fn save(&self) -> Result<()> {
        std::fs::write(stack_dir().join("state.env"), self.render())?;
        let mut env = String::from(
            "# written by `cargo xtask stack up`; `set -a; . .stack/endpoints.env; set +a` to use it\n",
        );
        env.push_str(&format!("KAFKA_BOOTSTRAP_SERVERS={}\n", self.bootstrap));
        env.push_str(&format!("KAFKA_BROKERS={}\n", self.bootstrap));
        if let Some(url) = &self.registry_url {
            env.push_str(&format!("SCHEMA_REGISTRY_URL={url}\n"));
        }
        std::fs::write(stack_dir().join("endpoints.env"), env)?;
        Ok(())
    }
}

/// The process name `alive()` checks for a pid from a pid file.
const TANSU_MARK: &str = "tansu";
const KBRIDGE_MARK: &str = "kbridge";

fn up(args: &UpArgs) -> Result<()> {
    if let Some(state) = State::load() {
        if report(&state) {
            println!("stack: already up (`cargo xtask stack down` to stop it)");
            return Ok(());
        }
        println!("stack: the previous stack is not healthy; stopping what is left of it");
        stop(&state)?;
    }
    std::fs::create_dir_all(stack_dir())?;

    let use_docker = match args.runtime {
        Runtime::Process => false,
        Runtime::Docker => {
            docker::daemon_version().context("--runtime docker, but no Docker daemon answers")?;
            true
        }
        Runtime::Auto => docker::daemon_version().is_some(),
    };
    if !use_docker && args.broker == Broker::Kafka {
        bail!("--broker kafka needs Docker (the apache/kafka image)");
    }

    let (kafka_port, preferred) = port_or_free(args.kafka_port)?;
    if !preferred {
        println!(
            "stack: port {} is taken; broker uses {kafka_port}",
            args.kafka_port
        );
    }
    let bootstrap = format!("127.0.0.1:{kafka_port}");
    let mut state = State {
        runtime: if use_docker { "docker" } else { "process" }.into(),
        bootstrap: bootstrap.clone(),
        registry: "none".into(),
        ..State::default()
    };

    let result = start_all(args, use_docker, kafka_port, &mut state);
    // Record whatever started, even on failure, so `down` can clean it up.
    state.save()?;
    if let Err(e) = result {
        let _logged = stop(&state);
        let _ = std::fs::remove_file(stack_dir().join("state.env"));
        let _ = std::fs::remove_file(stack_dir().join("endpoints.env"));
        return Err(e);
    }
    println!();
    report(&state);
    println!(
        "\nendpoints written to {}",
        stack_dir().join("endpoints.env").display()
    );
    Ok(())
}

fn start_all(args: &UpArgs, use_docker: bool, kafka_port: u16, state: &mut State) -> Result<()> {
    let bootstrap = state.bootstrap.clone();
    let real_kafka = use_docker
        && match args.broker {
            Broker::Kafka => {
                if !docker::image_available(&images::kafka_image()) {
                    bail!(
                        "--broker kafka, but {} cannot be pulled",
                        images::kafka_image()
                    );
                }
                true
            }
            Broker::Auto => docker::image_available(&images::kafka_image()),
            Broker::Tansu => false,
        };

    if real_kafka {
        docker::ensure_network(NETWORK)?;
        state.network = Some(NETWORK.into());
        let mut run_args = vec![
            "--name".to_string(),
            KAFKA_CONTAINER.into(),
            "--hostname".into(),
            KAFKA_CONTAINER.into(),
            "--network".into(),
            NETWORK.into(),
            "--label".into(),
            "kbridge.stack=1".into(),
            "-p".into(),
            format!("127.0.0.1:{kafka_port}:{KAFKA_EXTERNAL_PORT}"),
        ];
        for (k, v) in images::kafka_env(KAFKA_CONTAINER, &bootstrap) {
            run_args.extend(["-e".to_string(), format!("{k}={v}")]);
        }
        docker::run_detached(&run_args, &images::kafka_image(), &[])?;
        state.broker = "apache-kafka".into();
        state.kafka_container = Some(KAFKA_CONTAINER.into());
        println!(
            "stack: started {} as {KAFKA_CONTAINER}",
            images::kafka_image()
        );
        wait_container_broker(KAFKA_CONTAINER, &bootstrap, Duration::from_secs(120), true)?;
    } else if use_docker {
        let (name, tag) = tansu::ensure_image()?;
        let image = format!("{name}:{tag}");
        let run_args = vec![
            "--name".to_string(),
            KAFKA_CONTAINER.into(),
            "--label".into(),
            "kbridge.stack=1".into(),
            "-p".into(),
            format!("127.0.0.1:{kafka_port}:{}", tansu::CONTAINER_PORT),
        ];
        let listen = format!("0.0.0.0:{}", tansu::CONTAINER_PORT);
        docker::run_detached(&run_args, &image, &tansu::broker_args(&listen, &bootstrap))?;
        state.broker = "tansu".into();
        state.kafka_container = Some(KAFKA_CONTAINER.into());
        println!("stack: started {image} as {KAFKA_CONTAINER}");
        wait_container_broker(KAFKA_CONTAINER, &bootstrap, Duration::from_secs(30), false)?;
    } else {
        let bin = tansu::binary()?;
        let log = stack_dir().join("kafka.log");
        let mut cmd = Command::new(&bin);
        cmd.args(tansu::broker_args(&bootstrap, &bootstrap));
        let pid = process::spawn_detached(&mut cmd, &log)?;
        state.broker = "tansu".into();
        state.kafka_pid = Some(pid);
        println!(
            "stack: started {} (pid {pid}, log {})",
            bin.display(),
            log.display()
        );
        wait_until("tansu broker", Duration::from_secs(30), || {
            if !process::alive(pid, TANSU_MARK) {
                bail!("tansu exited; see {}", log.display());
            }
            Ok(probe::kafka_api_versions(&bootstrap).is_ok())
        })?;
    }

    let (registry_port, preferred) = port_or_free(args.registry_port)?;
    if !preferred {
        println!(
            "stack: port {} is taken; schema registry uses {registry_port}",
            args.registry_port
        );
    }
    let url = format!("http://127.0.0.1:{registry_port}");
    if real_kafka && docker::image_available(&images::registry_image()) {
        let mut run_args = vec![
            "--name".to_string(),
            REGISTRY_CONTAINER.into(),
            "--network".into(),
            NETWORK.into(),
            "--label".into(),
            "kbridge.stack=1".into(),
            "-p".into(),
            format!("127.0.0.1:{registry_port}:{REGISTRY_PORT}"),
        ];
        let internal = format!("{KAFKA_CONTAINER}:{KAFKA_INTERNAL_PORT}");
        for (k, v) in images::registry_env(&internal) {
            run_args.extend(["-e".to_string(), format!("{k}={v}")]);
        }
        docker::run_detached(&run_args, &images::registry_image(), &[])?;
        state.registry = "confluent".into();
        state.registry_container = Some(REGISTRY_CONTAINER.into());
        println!(
            "stack: started {} as {REGISTRY_CONTAINER}",
            images::registry_image()
        );
        wait_until("schema registry", Duration::from_secs(120), || {
            if !docker::container_running(REGISTRY_CONTAINER) {
                bail!(
                    "{REGISTRY_CONTAINER} stopped:\n{}",
                    docker::logs_tail(REGISTRY_CONTAINER, 30)
                );
            }
            Ok(registry::answers(&url))
        })?;
        state.registry_url = Some(url);
        return Ok(());
    }

    let bin = if args.no_build {
        registry::kbridge_bin()
    } else {
        match registry::build_kbridge() {
            Ok(bin) => bin,
            Err(e) => {
                println!("stack: cannot build kbridge ({e:#}); no schema registry started");
                return Ok(());
            }
        }
    };
    if !registry::serve_available(&bin) {
        println!("stack: {}", registry::missing_message(&bin));
        return Ok(());
    }
    let log = stack_dir().join("registry.log");
    let listen = format!("127.0.0.1:{registry_port}");
    let mut cmd = registry::serve_command(&bin, &listen, args.registry_store, &bootstrap);
    let pid = process::spawn_detached(&mut cmd, &log)?;
    state.registry = "embedded".into();
    state.registry_pid = Some(pid);
    println!(
        "stack: started `{}` (pid {pid}, log {})",
        registry::describe(&cmd),
        log.display()
    );
    wait_until("schema registry", Duration::from_secs(30), || {
        if !process::alive(pid, KBRIDGE_MARK) {
            bail!("kbridge registry serve exited; see {}", log.display());
        }
        Ok(registry::answers(&url))
    })?;
    state.registry_url = Some(url);
    Ok(())
}

fn wait_container_broker(
    name: &str,
    bootstrap: &str,
    timeout: Duration,
    await_log: bool,
) -> Result<()> {
    wait_until("broker", timeout, || {
        if !docker::container_running(name) {
            bail!("{name} stopped:\n{}", docker::logs_tail(name, 30));
        }
        let logged = !await_log || docker::logs_tail(name, 2000).contains(images::KAFKA_READY_LOG);
        Ok(logged && probe::kafka_api_versions(bootstrap).is_ok())
    })
}

/// Print one line per component; `true` when every component answers.
fn report(state: &State) -> bool {
    let mut healthy = true;
    let where_ = |container: &Option<String>, pid: Option<u32>, mark: &str| -> (String, bool) {
        match (container, pid) {
            (Some(c), _) => (
                format!("container {c}"),
                docker::daemon_version().is_some() && docker::container_running(c),
            ),
            (None, Some(pid)) => (format!("pid {pid}"), process::alive(pid, mark)),
            (None, None) => ("-".to_string(), false),
        }
    };

    let (loc, running) = where_(&state.kafka_container, state.kafka_pid, TANSU_MARK);
    let answer = match probe::kafka_api_versions(&state.bootstrap) {
        Ok(n) => format!("answers (ApiVersions: {n} APIs)"),
        Err(e) => {
            healthy = false;
            format!("does not answer: {e:#}")
        }
    };
    healthy &= running;
    println!(
        "kafka     {:<13} {:<28} {:<8} {:<22} {answer}",
        state.broker,
        loc,
        if running { "running" } else { "stopped" },
        state.bootstrap
    );

    match &state.registry_url {
        Some(url) => {
            let (loc, running) =
                where_(&state.registry_container, state.registry_pid, KBRIDGE_MARK);
            let answer = match probe::http_status(&format!("{url}/subjects")) {
                Ok(200) => "answers (GET /subjects: 200)".to_string(),
                Ok(code) => {
                    healthy = false;
                    format!("answers GET /subjects with {code}")
                }
                Err(e) => {
                    healthy = false;
                    format!("does not answer: {e:#}")
                }
            };
            healthy &= running;
            println!(
                "registry  {:<13} {:<28} {:<8} {:<22} {answer}",
                state.registry,
                loc,
                if running { "running" } else { "stopped" },
                url
            );
        }
        None => println!("registry  none          (not started)"),
    }
    healthy
}

fn status() -> Result<bool> {
    match State::load() {
        None => {
            println!("stack: not up (`cargo xtask stack up` starts it)");
            Ok(false)
        }
        Some(state) => {
            println!("runtime   {}", state.runtime);
            Ok(report(&state))
        }
    }
}

fn stop(state: &State) -> Result<()> {
    let grace = Duration::from_secs(10);
    if let Some(pid) = state.registry_pid
        && process::terminate(pid, KBRIDGE_MARK, grace)?
    {
        println!("stack: stopped schema registry (pid {pid})");
    }
    if let Some(pid) = state.kafka_pid
        && process::terminate(pid, TANSU_MARK, grace)?
    {
        println!("stack: stopped broker (pid {pid})");
    }
    let containers = [&state.registry_container, &state.kafka_container];
    if containers.iter().any(|c| c.is_some()) || state.network.is_some() {
        if docker::daemon_version().is_none() {
            bail!("the stack runs in Docker, but no Docker daemon answers");
        }
        for name in containers.into_iter().flatten() {
            if docker::remove_container(name)? {
                println!("stack: removed container {name}");
            }
        }
        if let Some(net) = &state.network {
            docker::remove_network(net);
        }
    }
    Ok(())
}

fn down() -> Result<()> {
    let Some(state) = State::load() else {
        println!("stack: not up");
        return Ok(());
    };
    stop(&state)?;
    for file in ["state.env", "endpoints.env"] {
        let path = stack_dir().join(file);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    println!("stack: down");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_survives_a_round_trip_through_its_file() {
        let state = State {
            runtime: "docker".into(),
            broker: "tansu".into(),
            kafka_container: Some(KAFKA_CONTAINER.into()),
            kafka_pid: None,
            bootstrap: "127.0.0.1:9092".into(),
            registry: "embedded".into(),
            registry_container: None,
            registry_pid: Some(4242),
            registry_url: Some("http://127.0.0.1:8081".into()),
            network: None,
        };
        assert_eq!(State::parse(&state.render()), state);
    }
}
