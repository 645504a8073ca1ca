//! `cargo xtask` — the project's developer tasks in one binary (rust-analyzer's
//! shape): a cargo alias, typed subcommands, the CI sequence runnable locally.
//!
//! - `stack up|down|status`: a long-lived local broker and schema registry
//!   (Docker containers when a daemon answers, else local processes).
//! - `it`: the integration tests against services started for the run.
//! - `ci`: fmt, clippy, unit tests, doc tests, integration tests.
//! - `demo`: the main job end to end on the local stack, with a summary.
//! - `bench`: the pipeline end to end beside the baselines of `../shared/bench`.
//!
//! xtask depends on none of the kbridge crates: it drives them through cargo
//! and the `kbridge` binary.

mod bench;
mod ci;
mod demo;
mod docker;
mod images;
mod it;
mod probe;
mod process;
mod registry;
mod stack;
mod tansu;
mod util;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "kbridge developer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Local single-node broker + schema registry for development.
    #[command(subcommand)]
    Stack(stack::StackCommand),
    /// Run the integration tests against a broker and registry started for the run.
    It(it::ItArgs),
    /// The CI sequence: fmt, clippy, unit tests, doc tests, integration tests.
    Ci(ci::CiArgs),
    /// The main job end to end: local stack, schema, a sample stream, the
    /// exactly-once pipeline with transforms, a summary.
    Demo(demo::DemoArgs),
    /// Throughput of `kbridge run` (release) beside the raw-copy and Python baselines.
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Task::Stack(cmd) => stack::run(cmd),
        Task::It(args) => it::run(&args),
        Task::Ci(args) => ci::run(&args),
        Task::Demo(args) => demo::run(args),
        Task::Bench(args) => bench::run_bench(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_after_the_separator_go_to_cargo_test_verbatim() {
        let cli =
            Cli::try_parse_from(["xtask", "it", "--", "stack_roundtrip", "--", "--nocapture"])
                .unwrap();
        let Task::It(args) = cli.command else {
            panic!("parsed as {:?}", cli.command)
        };
        assert_eq!(
            args.cargo_test_args,
            ["stack_roundtrip", "--", "--nocapture"]
        );
    }

    #[test]
    fn ci_steps_can_be_skipped_by_name() {
        let cli = Cli::try_parse_from(["xtask", "ci", "--skip", "it", "--skip", "fmt"]).unwrap();
        let Task::Ci(args) = cli.command else {
            panic!("parsed as {:?}", cli.command)
        };
        assert_eq!(args.skip, [ci::Step::It, ci::Step::Fmt]);
    }
}
