//! The `kbridge` CLI: parse arguments, load configuration, call a library
//! function, map errors to exit codes. Each subcommand lives in its own
//! module under `commands/`.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "kbridge",
    version,
    about = "Move typed records between Kafka topics, exactly once."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {}
}
