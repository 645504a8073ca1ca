//! `cargo xtask ci`: the sequence CI runs, runnable locally as one command.
//! Every step runs (unless `--fail-fast`), each ends with one summary line,
//! and the run ends with a table and a non-zero exit on any failure.

use crate::it::{self, ItArgs};
use crate::util::{cargo, display, fmt_duration, output_ok, status};
use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Step {
    /// `cargo fmt --all -- --check`
    Fmt,
    /// `cargo clippy --workspace --all-targets -- -D warnings`
    Clippy,
    /// Unit and per-crate tests (nextest when installed), no broker needed.
    Test,
    /// `cargo test --workspace --doc`
    Doc,
    /// `cargo xtask it`
    It,
}

impl Step {
    const ALL: [Step; 5] = [Step::Fmt, Step::Clippy, Step::Test, Step::Doc, Step::It];

    fn name(self) -> &'static str {
        match self {
            Step::Fmt => "fmt",
            Step::Clippy => "clippy",
            Step::Test => "unit tests",
            Step::Doc => "doc tests",
            Step::It => "integration",
        }
    }
}

#[derive(Debug, Args)]
pub struct CiArgs {
    /// Stop at the first failing step.
    #[arg(long)]
    pub fail_fast: bool,
    /// Skip a step (repeatable).
    #[arg(long, value_enum)]
    pub skip: Vec<Step>,
    /// Use `cargo test` even when cargo-nextest is installed.
    #[arg(long)]
    pub no_nextest: bool,
}

fn nextest_installed() -> bool {
    output_ok(cargo().args(["nextest", "--version"])).is_some()
}

/// The command a step runs (`None` for `it`, which runs in-process).
fn command(step: Step, nextest: bool) -> Option<Command> {
    let mut cmd = cargo();
    match step {
        Step::Fmt => cmd.args(["fmt", "--all", "--", "--check"]),
        Step::Clippy => cmd.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        Step::Test if nextest => cmd.args([
            "nextest",
            "run",
            "--workspace",
            "--exclude",
            "kbridge-integration-tests",
            "--no-tests=warn",
        ]),
        Step::Test => cmd.args([
            "test",
            "--workspace",
            "--exclude",
            "kbridge-integration-tests",
            "--lib",
            "--bins",
            "--tests",
        ]),
        Step::Doc => cmd.args(["test", "--workspace", "--doc"]),
        Step::It => return None,
    };
    Some(cmd)
}

#[derive(Debug)]
struct Outcome {
    step: Step,
    what: String,
    result: Option<Result<()>>, // None: skipped
    took: Duration,
}

pub fn run(args: &CiArgs) -> Result<()> {
    let nextest = !args.no_nextest && nextest_installed();
    let started = Instant::now();
    let mut outcomes = Vec::new();
    let mut failed_already = false;

    for step in Step::ALL {
        let cmd = command(step, nextest);
        let what = cmd
            .as_ref()
            .map(display)
            .unwrap_or_else(|| "cargo xtask it".to_string());
        if args.skip.contains(&step) || (args.fail_fast && failed_already) {
            outcomes.push(Outcome {
                step,
                what,
                result: None,
                took: Duration::ZERO,
            });
            continue;
        }
        println!("\n==> ci: {} — {what}", step.name());
        let t = Instant::now();
        let result = match cmd {
            Some(mut cmd) => status(&mut cmd).and_then(|s| {
                if s.success() {
                    Ok(())
                } else {
                    bail!("exited with {s}")
                }
            }),
            None => it::run(&ItArgs::default()),
        };
        let took = t.elapsed();
        match &result {
            Ok(()) => println!("<== ci: {} passed in {}", step.name(), fmt_duration(took)),
            Err(e) => {
                failed_already = true;
                println!(
                    "<== ci: {} FAILED in {}: {e:#}",
                    step.name(),
                    fmt_duration(took)
                );
            }
        }
        outcomes.push(Outcome {
            step,
            what,
            result: Some(result),
            took,
        });
    }

    let passed = outcomes
        .iter()
        .filter(|o| matches!(o.result, Some(Ok(()))))
        .count();
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o.result, Some(Err(_))))
        .count();
    let skipped = outcomes.len() - passed - failed;

    println!("\nci summary");
    for o in &outcomes {
        let verdict = match &o.result {
            Some(Ok(())) => "passed",
            Some(Err(_)) => "FAILED",
            None => "skipped",
        };
        println!(
            "  {verdict:<8} {:<12} {:>8}   {}",
            o.step.name(),
            fmt_duration(o.took),
            o.what
        );
    }
    let verdict = if failed == 0 { "PASSED" } else { "FAILED" };
    println!(
        "ci: {verdict} — {passed} passed, {failed} failed, {skipped} skipped in {}",
        fmt_duration(started.elapsed())
    );
    if failed > 0 {
        let names: Vec<_> = outcomes
            .iter()
            .filter(|o| matches!(o.result, Some(Err(_))))
            .map(|o| o.step.name())
            .collect();
        bail!("ci failed: {}", names.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_tests_never_include_the_integration_crate() {
        for nextest in [true, false] {
            let cmd = command(Step::Test, nextest).unwrap();
            let line = display(&cmd);
            assert!(
                line.contains("--exclude kbridge-integration-tests"),
                "{line}"
            );
        }
    }

    #[test]
    fn clippy_denies_warnings_on_every_target() {
        let line = display(&command(Step::Clippy, false).unwrap());
        assert!(
            line.ends_with("clippy --workspace --all-targets -- -D warnings"),
            "{line}"
        );
    }
}
