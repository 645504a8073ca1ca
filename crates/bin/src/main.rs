//! The `kbridge` CLI: parse arguments, load configuration, call a library
//! function, map errors to exit codes. Each subcommand lives in its own
//! module under `commands/`.

mod commands;
mod global;
mod logging;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "kbridge",
    version,
    about = "Move typed records between Kafka topics, exactly once."
)]
struct Cli {
    #[command(flatten)]
    global: global::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show or validate the effective configuration
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Run the embedded Confluent-compatible Schema Registry
    #[command(subcommand)]
    Registry(commands::registry::RegistryCommand),
    /// Inspect and change schemas in a Schema Registry; check compatibility
    Schema(commands::schema::SchemaArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Config(command) => commands::config::run(&cli.global, command),
        Command::Registry(command) => commands::registry::run(&cli.global, command),
        Command::Schema(args) => commands::schema::run(&cli.global, args),
    };
    global::exit(result)
}
