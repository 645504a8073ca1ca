//! `cargo xtask it`: the black-box integration tests against a broker and a
//! schema registry started for this run only (testcontainers, or local
//! processes without Docker), or against endpoints given in the environment.

use crate::images::{self, KAFKA_EXTERNAL_PORT, KAFKA_INTERNAL_PORT, REGISTRY_PORT};
use crate::process::{self, ChildGuard};
use crate::registry::{self, Store};
use crate::stack::{Broker, Runtime};
use crate::util::{cargo, fmt_duration, free_port, status, target_dir, wait_until};
use crate::{docker, probe, tansu};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

#[derive(Debug, Default, Args)]
pub struct ItArgs {
    /// Where the broker and registry run (ignored when endpoints come from env).
    #[arg(long, value_enum, default_value_t = Runtime::Auto)]
    pub runtime: Runtime,
    /// Which broker to run (ignored when endpoints come from env).
    #[arg(long, value_enum, default_value_t = Broker::Auto)]
    pub broker: Broker,
    /// Extra arguments for `cargo test` (e.g. a test name filter, `-- --nocapture`).
    #[arg(last = true)]
    pub cargo_test_args: Vec<String>,
}

/// A running service; dropping it stops it.
#[derive(Debug)]
enum Service {
    Container(Box<Container<GenericImage>>),
    Process(ChildGuard),
}

impl Service {
    fn stop(self) {
        match self {
            Service::Container(container) => {
                let id = container.id().chars().take(12).collect::<String>();
                drop(container);
                eprintln!("xtask it: removed container {id}");
            }
            Service::Process(guard) => {
                let name = guard.name().to_string();
                drop(guard);
                eprintln!("xtask it: stopped {name}");
            }
        }
    }
}

/// Everything this run started. Field order is drop order: the registry
/// goes before the broker it may store schemas in.
#[derive(Debug, Default)]
struct Services {
    registry: Option<Service>,
    broker: Option<Service>,
}

impl Services {
    /// Stop the registry, then the broker (dropping does the same, silently).
    fn stop(self) {
        let Services { registry, broker } = self;
        registry.into_iter().chain(broker).for_each(Service::stop);
    }
}

/// The endpoints the tests get.
#[derive(Debug)]
struct Endpoints {
    bootstrap: String,
    registry_url: Option<String>,
}

pub fn run(args: &ItArgs) -> Result<()> {
    let t = Instant::now();
    let bin = registry::build_kbridge().context("building the kbridge binary for the tests")?;
    eprintln!("xtask it: kbridge built in {}", fmt_duration(t.elapsed()));

    let t = Instant::now();
    let mut services = Services::default();
    let endpoints = match start(args, &bin, &mut services) {
        Ok(endpoints) => endpoints,
        Err(e) => {
            services.stop();
            // a container that was created but failed to start has no handle
            if docker::daemon_version().is_some() {
                docker::remove_labelled(&format!("kbridge.it={}", run_label()));
            }
            return Err(e);
        }
    };
    eprintln!(
        "xtask it: services ready in {}: KAFKA_BOOTSTRAP_SERVERS={} SCHEMA_REGISTRY_URL={}",
        fmt_duration(t.elapsed()),
        endpoints.bootstrap,
        endpoints.registry_url.as_deref().unwrap_or("(none)")
    );

    let t = Instant::now();
    let mut cmd = cargo();
    cmd.args(["test", "--package", "kbridge-integration-tests"])
        .args(&args.cargo_test_args)
        .env("KAFKA_BOOTSTRAP_SERVERS", &endpoints.bootstrap)
        .env("KBRIDGE_BIN", &bin);
    match &endpoints.registry_url {
        Some(url) => cmd.env("SCHEMA_REGISTRY_URL", url),
        None => cmd.env_remove("SCHEMA_REGISTRY_URL"),
    };
    let result = status(&mut cmd);
    eprintln!("xtask it: tests ran for {}", fmt_duration(t.elapsed()));
    services.stop();
    let code = result?;
    if !code.success() {
        if it_dir().exists() {
            eprintln!("xtask it: service logs are in {}", it_dir().display());
        }
        bail!("integration tests failed ({code})");
    }
    if it_dir().exists() {
        std::fs::remove_dir_all(it_dir())
            .with_context(|| format!("cannot remove {}", it_dir().display()))?;
    }
    Ok(())
}

/// Label value of this run's containers (its pid), so cleanup never touches
/// another run's.
fn run_label() -> String {
    std::process::id().to_string()
}

fn env_endpoint(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

fn start(args: &ItArgs, bin: &std::path::Path, services: &mut Services) -> Result<Endpoints> {
    if let Some(bootstrap) = env_endpoint("KAFKA_BOOTSTRAP_SERVERS") {
        eprintln!("xtask it: using KAFKA_BOOTSTRAP_SERVERS={bootstrap} from the environment");
        let registry_url = match env_endpoint("SCHEMA_REGISTRY_URL") {
            Some(url) => Some(url),
            None => start_embedded_registry(bin, &bootstrap, services)?,
        };
        return Ok(Endpoints {
            bootstrap,
            registry_url,
        });
    }

    let use_docker = match args.runtime {
        Runtime::Process => false,
        Runtime::Docker => {
            docker::daemon_version().context("--runtime docker, but no Docker daemon answers")?;
            true
        }
        Runtime::Auto => docker::daemon_version().is_some(),
    };
    if !use_docker {
        if args.broker == Broker::Kafka {
            bail!("--broker kafka needs Docker (the apache/kafka image)");
        }
        eprintln!("xtask it: no Docker daemon; running tansu as a local process");
        let bootstrap = start_tansu_process(services)?;
        let registry_url = start_embedded_registry(bin, &bootstrap, services)?;
        return Ok(Endpoints {
            bootstrap,
            registry_url,
        });
    }

    let real_kafka = match args.broker {
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
    if !real_kafka {
        eprintln!("xtask it: using the local tansu image");
        let bootstrap = start_tansu_container(services)?;
        let registry_url = start_embedded_registry(bin, &bootstrap, services)?;
        return Ok(Endpoints {
            bootstrap,
            registry_url,
        });
    }

    let network = format!("kbridge-it-{}", std::process::id());
    let kafka_name = format!("kbridge-it-kafka-{}", std::process::id());
    let bootstrap = start_kafka_container(&network, &kafka_name, services)?;
    let registry_url = if docker::image_available(&images::registry_image()) {
        Some(start_registry_container(&network, &kafka_name, services)?)
    } else {
        start_embedded_registry(bin, &bootstrap, services)?
    };
    Ok(Endpoints {
        bootstrap,
        registry_url,
    })
}

/// Logs of this run's processes: `target/xtask-it/<pid>/`, removed after a
/// passing run.
fn it_dir() -> PathBuf {
    target_dir()
        .join("xtask-it")
        .join(std::process::id().to_string())
}

fn ensure_it_dir() -> Result<PathBuf> {
    let dir = it_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn wait_broker(
    bootstrap: &str,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<()>,
) -> Result<()> {
    wait_until("broker", timeout, || {
        alive()?;
        Ok(probe::kafka_api_versions(bootstrap).is_ok())
    })
}

fn start_tansu_process(services: &mut Services) -> Result<String> {
    let bin = tansu::binary()?;
    let port = free_port()?;
    let bootstrap = format!("127.0.0.1:{port}");
    let log = ensure_it_dir()?.join("tansu.log");
    let mut cmd = Command::new(&bin);
    cmd.args(tansu::broker_args(&bootstrap, &bootstrap));
    let mut guard = ChildGuard::new("tansu", process::spawn_logged(&mut cmd, &log)?);
    wait_broker(&bootstrap, Duration::from_secs(30), || {
        guard
            .check_running()
            .with_context(|| format!("see {}", log.display()))
    })?;
    services.broker = Some(Service::Process(guard));
    Ok(bootstrap)
}

fn start_tansu_container(services: &mut Services) -> Result<String> {
    let (name, tag) = tansu::ensure_image()?;
    // tansu advertises exactly what it is told: pick the host port first,
    // map it explicitly, and advertise 127.0.0.1:<that port>.
    let port = free_port()?;
    let bootstrap = format!("127.0.0.1:{port}");
    let listen = format!("0.0.0.0:{}", tansu::CONTAINER_PORT);
    let container = GenericImage::new(name, tag)
        .with_mapped_port(port, tansu::CONTAINER_PORT.tcp())
        .with_cmd(tansu::broker_args(&listen, &bootstrap))
        .with_label("kbridge.it", run_label())
        .start()
        .context("starting the tansu container")?;
    wait_broker(&bootstrap, Duration::from_secs(30), || {
        if container.is_running()? {
            Ok(())
        } else {
            bail!("the tansu container stopped")
        }
    })?;
    services.broker = Some(Service::Container(Box::new(container)));
    Ok(bootstrap)
}

fn start_kafka_container(network: &str, name: &str, services: &mut Services) -> Result<String> {
    let (image, tag) = images::split_reference(&images::kafka_image());
    let port = free_port()?;
    let bootstrap = format!("127.0.0.1:{port}");
    let mut request = GenericImage::new(image, tag)
        .with_wait_for(WaitFor::message_on_stdout(images::KAFKA_READY_LOG))
        .with_mapped_port(port, KAFKA_EXTERNAL_PORT.tcp())
        .with_network(network)
        .with_container_name(name)
        .with_label("kbridge.it", run_label())
        .with_startup_timeout(Duration::from_secs(180));
    for (k, v) in images::kafka_env(name, &bootstrap) {
        request = request.with_env_var(k, v);
    }
    let container = request.start().context("starting the Kafka container")?;
    wait_broker(&bootstrap, Duration::from_secs(60), || Ok(()))?;
    services.broker = Some(Service::Container(Box::new(container)));
    Ok(bootstrap)
}

fn start_registry_container(
    network: &str,
    kafka_name: &str,
    services: &mut Services,
) -> Result<String> {
    let (image, tag) = images::split_reference(&images::registry_image());
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let mut request = GenericImage::new(image, tag)
        .with_wait_for(WaitFor::message_on_stdout(images::REGISTRY_READY_LOG))
        .with_mapped_port(port, REGISTRY_PORT.tcp())
        .with_network(network)
        .with_label("kbridge.it", run_label())
        .with_startup_timeout(Duration::from_secs(180));
    for (k, v) in images::registry_env(&format!("{kafka_name}:{KAFKA_INTERNAL_PORT}")) {
        request = request.with_env_var(k, v);
    }
    let container = request
        .start()
        .context("starting the schema registry container")?;
    wait_until("schema registry", Duration::from_secs(60), || {
        Ok(registry::answers(&url))
    })?;
    services.registry = Some(Service::Container(Box::new(container)));
    Ok(url)
}

/// `kbridge registry serve` on a free port, when this build has it.
fn start_embedded_registry(
    bin: &std::path::Path,
    bootstrap: &str,
    services: &mut Services,
) -> Result<Option<String>> {
    if !registry::serve_available(bin) {
        eprintln!("xtask it: {}", registry::missing_message(bin));
        return Ok(None);
    }
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let url = format!("http://{listen}");
    let log = ensure_it_dir()?.join("registry.log");
    let mut cmd = registry::serve_command(bin, &listen, Store::Memory, bootstrap);
    let mut guard = ChildGuard::new(
        "kbridge registry serve",
        process::spawn_logged(&mut cmd, &log)?,
    );
    wait_until("schema registry", Duration::from_secs(30), || {
        guard
            .check_running()
            .with_context(|| format!("see {}", log.display()))?;
        Ok(registry::answers(&url))
    })?;
    services.registry = Some(Service::Process(guard));
    Ok(Some(url))
}
