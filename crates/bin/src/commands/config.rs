//! `kbridge config show|validate`: the effective configuration, offline.

use crate::global::GlobalArgs;
use clap::Subcommand;
use std::process::ExitCode;

/// `kbridge config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (defaults < file < environment <
    /// --set) as TOML; secrets are shown as ***
    Show {
        /// Print JSON instead of TOML
        #[arg(long)]
        json: bool,
    },
    /// Check the configuration without connecting to anything: exit 0 when
    /// valid, 1 with every problem listed (key, message, where the value came from)
    Validate,
}

/// Runs one `config` subcommand. Invalid configuration is an error (every
/// problem printed, exit 1); starting logging also proves that
/// `logging.level` is a filter `tracing` accepts.
pub fn run(global: &GlobalArgs, command: ConfigCommand) -> anyhow::Result<ExitCode> {
    let config = global.setup()?;
    tracing::debug!(file = ?global.config, overrides = global.overrides.len(), "configuration loaded");
    match command {
        ConfigCommand::Show { json } => {
            let text = if json {
                config.to_json_string()?
            } else {
                config.to_toml_string()?
            };
            println!("{}", text.trim_end());
        }
        ConfigCommand::Validate => println!("configuration is valid"),
    }
    Ok(ExitCode::SUCCESS)
}
