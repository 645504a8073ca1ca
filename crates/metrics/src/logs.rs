//! Process-wide `tracing` setup: one call from `main`.
//!
//! Logs go to **stderr** so that commands writing data to stdout (`consume`,
//! `--json` output) stay pipeable. Events carry their structured fields
//! (`topic`, `partition`, `offset`, `stage`, `class`, `subject`,
//! `schema_id`); in JSON they are top-level keys next to `message`.

use std::fmt;
use std::io::IsTerminal as _;
use std::str::FromStr;

use tracing_subscriber::EnvFilter;

use crate::MetricsError;

/// How log lines look (`logging.format` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogFormat {
    /// One human-readable line per event, coloured on a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, fields flattened, for log shippers.
    Json,
}

impl LogFormat {
    /// `pretty` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogFormat {
    type Err = MetricsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(MetricsError::UnknownLogFormat {
                value: s.to_owned(),
            }),
        }
    }
}

/// Installs the global subscriber: `filter` uses `RUST_LOG` syntax
/// (`info`, `kbridge_pipeline=debug,rdkafka=warn`). Fails if the filter does
/// not parse or a subscriber is already installed.
pub fn init_tracing(format: LogFormat, filter: &str) -> Result<(), MetricsError> {
    let env_filter =
        EnvFilter::builder()
            .parse(filter)
            .map_err(|source| MetricsError::InvalidLogFilter {
                filter: filter.to_owned(),
                source,
            })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
    result.map_err(MetricsError::InitTracing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_case_insensitively() {
        assert_eq!("JSON".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!("pretty".parse::<LogFormat>().unwrap(), LogFormat::Pretty);
        assert_eq!(
            "yaml".parse::<LogFormat>().unwrap_err().to_string(),
            "unknown log format \"yaml\", expected pretty or json"
        );
    }

    #[test]
    fn a_bad_filter_is_reported_with_the_directive() {
        let err = init_tracing(LogFormat::Pretty, "kbridge=loud").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid log filter \"kbridge=loud\""),
            "{err}"
        );
    }
}
