//! `tracing` set-up from the `[logging]` section: a filter (`info`,
//! `info,kbridge_source=debug`) and a format (`pretty` lines or `json`
//! objects), written to stderr so stdout stays for command output. Records
//! of the `log` crate (rdkafka's) are captured too.

use anyhow::anyhow;
use kbridge_config::{LogFormat, LoggingConfig};

/// Installs the global subscriber (`kbridge_metrics::init_tracing`, which
/// the library users of the metrics crate share). Fails on an invalid
/// filter or when a subscriber is already installed.
pub fn init(config: &LoggingConfig) -> anyhow::Result<()> {
    let format = match config.format {
        LogFormat::Pretty => kbridge_metrics::LogFormat::Pretty,
        LogFormat::Json => kbridge_metrics::LogFormat::Json,
    };
    kbridge_metrics::init_tracing(format, &config.level).map_err(|e| match e {
        kbridge_metrics::MetricsError::InvalidLogFilter { source, .. } => {
            anyhow!("invalid logging.level `{}`: {source}", config.level)
        }
        other => anyhow::Error::new(other).context("cannot start logging"),
    })
}
