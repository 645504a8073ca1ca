//! `tracing` set-up from the `[logging]` section: a filter (`info`,
//! `info,kbridge_source=debug`) and a format (`pretty` lines or `json`
//! objects), written to stderr so stdout stays for command output. Records
//! of the `log` crate (rdkafka's) are captured too.

use anyhow::{Context, anyhow};
use kbridge_config::{LogFormat, LoggingConfig};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Fails on an invalid filter or when a
/// subscriber is already installed.
pub fn init(config: &LoggingConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&config.level)
        .with_context(|| format!("invalid logging.level `{}`", config.level))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match config.format {
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    installed.map_err(|e| anyhow!("cannot start logging: {e}"))
}
