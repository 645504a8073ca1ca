//! `kbridge lag --group G [--topic T]`: committed offset, log start and end,
//! and lag per partition with the total; `--watch` refreshes; `--json`.

use super::output;
use crate::global::GlobalArgs;
use clap::Args;
use kbridge_admin::Cluster;
use kbridge_admin::lag::{GroupLag, group_lag};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// `kbridge lag`
#[derive(Debug, Args)]
pub struct LagArgs {
    /// Consumer group
    #[arg(long, short = 'g')]
    group: String,
    /// Only this topic (default: every topic the group has committed offsets on)
    #[arg(long, short = 't')]
    topic: Option<String>,
    /// Refresh until interrupted
    #[arg(long, short = 'w')]
    watch: bool,
    /// Time between refreshes with --watch
    #[arg(long, default_value = "2s", value_parser = output::duration)]
    interval: Duration,
    /// With --watch: stop after this many refreshes
    #[arg(long, value_name = "N")]
    refreshes: Option<u64>,
    /// Limit of each broker request
    #[arg(long, default_value = "10s", value_parser = output::duration)]
    timeout: Duration,
    /// Print JSON (one object per refresh with --watch)
    #[arg(long)]
    json: bool,
}

fn committed(c: Option<i64>) -> String {
    c.map_or_else(|| "-".to_string(), |c| c.to_string())
}

fn render(lag: &GroupLag, args: &LagArgs) -> anyhow::Result<()> {
    if args.json {
        if args.watch {
            println!("{}", serde_json::to_string(lag)?);
        } else {
            output::print_json(lag)?;
        }
        return Ok(());
    }
    let mut t = output::table([
        "TOPIC",
        "PARTITION",
        "COMMITTED",
        "LOG START",
        "LOG END",
        "LAG",
    ]);
    for p in &lag.partitions {
        t.add_row([
            p.topic.clone(),
            p.partition.to_string(),
            committed(p.committed),
            p.log_start.to_string(),
            p.log_end.to_string(),
            p.lag.to_string(),
        ]);
    }
    println!("{t}");
    println!(
        "group {} ({}, {} member(s)): total lag {} over {} partition(s)",
        lag.group,
        lag.state.as_deref().unwrap_or("state unknown"),
        lag.members,
        lag.total_lag,
        lag.partitions.len()
    );
    if lag.committed_past_end > 0 {
        eprintln!(
            "warning: {} partition(s) have a committed offset beyond the log end the broker \
             reports: its high watermark is stale, so their lag shows as 0",
            lag.committed_past_end
        );
    }
    Ok(())
}

/// Prints the group's lag once, or repeatedly with `--watch`.
pub fn run(global: &GlobalArgs, args: LagArgs) -> anyhow::Result<ExitCode> {
    let config = global.setup()?;
    let cluster = Cluster::from_config(&config).with_timeout(args.timeout);
    if !args.watch {
        let lag = group_lag(&cluster, &args.group, args.topic.as_deref())?;
        render(&lag, &args)?;
        return Ok(ExitCode::SUCCESS);
    }
    let stop = output::interrupt_flag();
    let clear = std::io::stdout().is_terminal() && !args.json;
    let mut done = 0u64;
    loop {
        let started = Instant::now();
        let lag = group_lag(&cluster, &args.group, args.topic.as_deref())?;
        if clear {
            print!("\x1b[2J\x1b[H");
        } else if !args.json {
            println!(
                "# {}",
                output::timestamp(Some(chrono::Utc::now().timestamp_millis()))
            );
        }
        render(&lag, &args)?;
        done += 1;
        if args.refreshes.is_some_and(|n| done >= n) {
            break;
        }
        let next = started + args.interval;
        while Instant::now() < next {
            if stop.load(Ordering::SeqCst) {
                return Ok(ExitCode::SUCCESS);
            }
            std::thread::sleep(
                Duration::from_millis(50).min(next.saturating_duration_since(Instant::now())),
            );
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}
