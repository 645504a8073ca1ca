//! `kbridge check`: can the configured pipeline run from here? One line per
//! check with ✓/✗ and a fix hint; exit 1 when any check fails; `--json`.

use super::output::{self, Mark};
use crate::global::GlobalArgs;
use clap::Args;
use kbridge_admin::Cluster;
use kbridge_admin::check::{CheckOptions, CheckStatus, run_checks};
use std::process::ExitCode;
use std::time::Duration;

/// `kbridge check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Limit of each broker request (metadata, transactions)
    #[arg(long, default_value = "10s", value_parser = output::duration)]
    timeout: Duration,
    /// How long the consumer-group join may take
    #[arg(long, default_value = "30s", value_parser = output::duration)]
    join_timeout: Duration,
    /// Skip the consumer-group join
    #[arg(long)]
    no_group_join: bool,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

/// Runs the checks and prints them.
pub fn run(global: &GlobalArgs, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let config = global.setup()?;
    let cluster = Cluster::from_config(&config).with_timeout(args.timeout);
    // A registry client that cannot even be built (unreadable TLS files)
    // is reported as the registry check's failure.
    let (registry, registry_problem) = match super::schema::client(&config.schema_registry, &[]) {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(crate::global::error_chain(&e))),
    };
    let options = CheckOptions {
        join_group: !args.no_group_join,
        join_timeout: args.join_timeout,
    };
    let mut report = output::block_on(run_checks(&config, &cluster, registry.as_ref(), &options))?;
    if let Some(problem) = registry_problem {
        for c in &mut report.checks {
            if c.name == "schema registry" && c.status == CheckStatus::Failed {
                c.detail = problem.clone();
            }
        }
    }
    if args.json {
        output::print_json(&report)?;
    } else {
        for c in &report.checks {
            let m = match c.status {
                CheckStatus::Ok => Mark::Ok,
                CheckStatus::Failed => Mark::Failed,
                CheckStatus::Skipped => Mark::Skipped,
            };
            println!("{} {}: {}", output::mark(m), c.name, c.detail);
            if let Some(hint) = &c.hint {
                println!("    hint: {hint}");
            }
        }
        let failed = report
            .checks
            .iter()
            .filter(|c| c.status == CheckStatus::Failed)
            .count();
        if failed > 0 {
            println!("{failed} check(s) failed");
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
