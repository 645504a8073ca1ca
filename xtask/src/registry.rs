//! The embedded schema registry: `kbridge registry serve`.

use crate::probe;
use crate::util::{cargo, display, output_ok, run, target_dir};
use anyhow::Result;
use clap::ValueEnum;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the embedded registry keeps schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Store {
    /// In memory: gone when the registry stops.
    Memory,
    /// In a compacted topic on the broker (`_schemas`), like Confluent's.
    Kafka,
}

impl Store {
    fn as_arg(self) -> &'static str {
        match self {
            Store::Memory => "memory",
            Store::Kafka => "kafka",
        }
    }
}

/// `target/debug/kbridge`.
pub fn kbridge_bin() -> PathBuf {
    target_dir().join("debug").join("kbridge")
}

/// `cargo build -p kbridge --bin kbridge`; returns the binary's path.
pub fn build_kbridge() -> Result<PathBuf> {
    eprintln!("xtask: building the kbridge binary");
    run(cargo().args(["build", "--package", "kbridge", "--bin", "kbridge"]))?;
    Ok(kbridge_bin())
}

/// Whether this kbridge build has the `registry serve` subcommand.
pub fn serve_available(bin: &Path) -> bool {
    bin.is_file() && output_ok(Command::new(bin).args(["registry", "serve", "--help"])).is_some()
}

/// The command line that serves the registry on `listen` (`host:port`).
pub fn serve_command(bin: &Path, listen: &str, store: Store, kafka_bootstrap: &str) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args([
        "registry",
        "serve",
        "--listen",
        listen,
        "--store",
        store.as_arg(),
    ]);
    if store == Store::Kafka {
        cmd.args(["--kafka-bootstrap", kafka_bootstrap]);
    }
    cmd
}

/// The message shown when the subcommand is missing.
pub fn missing_message(bin: &Path) -> String {
    format!(
        "{} has no `registry serve` subcommand yet; no schema registry started",
        bin.display()
    )
}

/// `Ok(true)` once `GET <url>/subjects` answers 200.
pub fn answers(url: &str) -> bool {
    probe::http_status(&format!("{}/subjects", url.trim_end_matches('/'))).is_ok_and(|c| c == 200)
}

/// For messages: how the registry is started.
pub fn describe(cmd: &Command) -> String {
    display(cmd)
}
