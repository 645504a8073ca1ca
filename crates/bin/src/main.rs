//! The `kbridge` CLI: parse, load config, call a library function, map errors to exit codes.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "kbridge", version, about = "Move typed records between Kafka topics, exactly once.")]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
