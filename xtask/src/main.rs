//! `cargo xtask` — the project's developer tasks in one binary (rust-analyzer's shape).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "xtask")]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
