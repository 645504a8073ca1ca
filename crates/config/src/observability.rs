//! `[metrics]` and `[logging]`.

use crate::serde_util::{duration, string_enum};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// `[metrics]`: Prometheus scrape endpoint (with health checks) and OTLP push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve `/metrics` and the health endpoints.
    pub enabled: bool,
    /// Address of the HTTP listener (`ip:port`).
    pub listen: SocketAddr,
    /// OTLP/HTTP endpoint to push metrics to (`http://collector:4318`); unset: no push.
    pub otlp_endpoint: Option<String>,
    /// How often metrics are pushed to `otlp_endpoint`.
    #[serde(with = "duration")]
    pub otlp_interval: Duration,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            listen: SocketAddr::from(([0, 0, 0, 0], 9464)),
            otlp_endpoint: None,
            otlp_interval: Duration::from_secs(60),
        }
    }
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// A level (`info`) or a `tracing` filter
    /// (`info,kbridge_source=debug,rdkafka=warn`).
    pub level: String,
    /// `pretty` (human-readable lines) or `json` (one object per line).
    pub format: LogFormat,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info".to_string(),
            format: LogFormat::default(),
        }
    }
}

string_enum! {
    /// `logging.format`.
    pub enum LogFormat {
        /// Human-readable lines.
        Pretty = "pretty",
        /// One JSON object per line.
        Json = "json",
    }
    default = Pretty;
}
