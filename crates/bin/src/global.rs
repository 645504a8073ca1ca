//! Options every subcommand accepts (`--config`, `--set`) and the one way
//! subcommands load the effective configuration.

use clap::Args;
use kbridge_config::{Config, ConfigError, EnvVars, LoadOptions};
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

/// `--config FILE` and `--set key=value`, accepted before or after any subcommand.
#[derive(Clone, Default, Args)]
pub struct GlobalArgs {
    /// Configuration file: TOML (.toml), YAML (.yaml, .yml) or JSON (.json), by extension
    #[arg(
        long,
        short = 'c',
        global = true,
        value_name = "FILE",
        env = "KBRIDGE_CONFIG"
    )]
    pub config: Option<PathBuf>,

    /// Override one configuration key, after the file and the environment
    /// (repeatable): --set kafka.brokers=a:9092,b:9092
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

impl fmt::Debug for GlobalArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `--set` values may be secrets (`--set kafka.sasl.password=…`): keys only.
        let keys: Vec<&str> = self
            .overrides
            .iter()
            .map(|o| o.split_once('=').map_or(o.as_str(), |(k, _)| k))
            .collect();
        f.debug_struct("GlobalArgs")
            .field("config", &self.config)
            .field("overrides", &keys)
            .finish()
    }
}

impl GlobalArgs {
    /// What to load: the file, the process environment, the overrides.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            file: self.config.clone(),
            overrides: self.overrides.clone(),
            env: EnvVars::Process,
        }
    }

    /// The effective configuration (defaults < file < environment < `--set`),
    /// or every problem found.
    pub fn load_config(&self) -> Result<Config, ConfigError> {
        Config::load(self.load_options())
    }

    /// Loads the configuration and starts logging from its `[logging]`
    /// section: the first call of every subcommand that talks to Kafka.
    pub fn setup(&self) -> anyhow::Result<Config> {
        let config = self.load_config()?;
        crate::logging::init(&config.logging)?;
        Ok(config)
    }
}

/// Maps a subcommand's result to the process exit code: errors are printed
/// to stderr with their causes and exit with 1.
pub fn exit(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes, `: `-separated, each said once
/// ([`kbridge_metrics::events::ErrorChain`], which the logs use too).
pub fn error_chain(error: &anyhow::Error) -> String {
    kbridge_metrics::events::ErrorChain(error.as_ref()).to_string()
}

#[cfg(test)]
mod tests {
    use super::error_chain;

    /// Like the library errors: the cause in the message and as `source()`.
    #[derive(Debug)]
    struct Wrapping {
        source: std::io::Error,
    }

    impl std::fmt::Display for Wrapping {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "fetch metadata for topic t: {}", self.source)
        }
    }

    impl std::error::Error for Wrapping {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::other("handshake failed");
        let e = anyhow::Error::new(Wrapping { source: io }).context("create kafka source");
        assert_eq!(
            error_chain(&e),
            "create kafka source: fetch metadata for topic t: handshake failed"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_chain(&plain), "outer: inner");
    }
}
