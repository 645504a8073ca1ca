//! The `kbridge` CLI: parse arguments, load configuration, call a library
//! function, map errors to exit codes. Each subcommand lives in its own
//! module under `commands/`.

mod commands;
mod global;
mod logging;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc instead of the system allocator: the pipeline allocates and
/// frees small buffers for every record (decoded strings, maps, headers),
/// and glibc's malloc took about a tenth of its loop thread's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Run the pipeline of the configuration (source → transforms → sink, DLQ)
    Run(commands::run::RunArgs),
    /// Run the configured transforms on sample records and compare with expected ones (no Kafka)
    Test(commands::test::TestArgs),
    /// Show or validate the effective configuration
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Run the embedded Confluent-compatible Schema Registry
    #[command(subcommand)]
    Registry(commands::registry::RegistryCommand),
    /// Inspect and change schemas in a Schema Registry; check compatibility
    Schema(commands::schema::SchemaArgs),
    /// Check that the configured pipeline can run: brokers, topics, group, registry, transactions
    Check(commands::check::CheckArgs),
    /// Show a consumer group's committed offsets and lag
    Lag(commands::lag::LagArgs),
    /// List, describe, create, delete topics and change their configs
    Topics(commands::topics::TopicsArgs),
    /// Produce JSON lines to a topic as Avro, JSON or text
    Produce(commands::produce::ProduceArgs),
    /// Print a topic's records as JSON lines or a table
    Consume(commands::consume::ConsumeArgs),
    /// Inspect and replay dead-letter topics
    Dlq(commands::dlq::DlqArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(commands::topics::topic_config_flags(std::env::args_os()));
    let result = match cli.command {
        Command::Run(args) => commands::run::run(&cli.global, args),
        Command::Test(args) => commands::test::run(&cli.global, args),
        Command::Config(command) => commands::config::run(&cli.global, command),
        Command::Registry(command) => commands::registry::run(&cli.global, command),
        Command::Schema(args) => commands::schema::run(&cli.global, args),
        Command::Check(args) => commands::check::run(&cli.global, args),
        Command::Lag(args) => commands::lag::run(&cli.global, args),
        Command::Topics(args) => commands::topics::run(&cli.global, args),
        Command::Produce(args) => commands::produce::run(&cli.global, args),
        Command::Consume(args) => commands::consume::run(&cli.global, args),
        Command::Dlq(args) => commands::dlq::run(&cli.global, args),
    };
    global::exit(result)
}

#[cfg(test)]
mod tests {
    /// clap's own consistency checks (duplicate flags between a command's
    /// options and the global ones panic only at run time otherwise).
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
