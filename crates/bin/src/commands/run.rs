//! `kbridge run --config pipeline.toml`: the main job. Builds the
//! transforms and the pipeline from the configuration, serves `/metrics`,
//! `/healthz` and `/readyz`, runs the pipeline on a thread of its own and
//! stops it in order on SIGINT/SIGTERM (a second signal exits at once).

use super::output::{self, Progress};
use crate::global::GlobalArgs;
use anyhow::Context;
use clap::Args;
use kbridge_config::Config;
use kbridge_metrics::{Metrics, MetricsServer, OtlpOptions};
use kbridge_pipeline::{Pipeline, PipelineError, Shutdown, Summary};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `kbridge run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// This replica's name in the transactional id
    /// `<sink.transactional_id_prefix>-<instance>` (exactly-once). Give each
    /// concurrently running replica its own, and a restarted one the same
    /// again so that it fences its previous run. Default: the host name
    #[arg(long)]
    instance: Option<String>,
    /// Print the final summary as JSON on stdout
    #[arg(long)]
    json: bool,
}

fn metrics(config: &Config, instance: &str) -> anyhow::Result<Metrics> {
    if !config.metrics.enabled {
        return Ok(Metrics::disabled());
    }
    let mut b = Metrics::builder().service_instance_id(instance);
    if let Some(endpoint) = &config.metrics.otlp_endpoint {
        let mut o = OtlpOptions::new(endpoint.clone());
        o.interval = config.metrics.otlp_interval;
        b = b.otlp(o);
    }
    b.build().context("start metrics")
}

/// Requests a stop on the first SIGINT/SIGTERM; exits at once (130) on the
/// second.
async fn watch_signals(shutdown: Shutdown) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot watch SIGINT/SIGTERM");
            return;
        };
        for n in 0.. {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            if n == 0 {
                tracing::info!("signal received: stopping (send it again to exit at once)");
                shutdown.request();
            } else {
                eprintln!("second signal: exiting without waiting");
                std::process::exit(130);
            }
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_ok() {
            shutdown.request();
        }
    }
}

/// Runs the pipeline of the configuration.
pub fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = global.setup()?;
    let transforms = kbridge_transforms::build(&config.transforms)?;
    let instance = args
        .instance
        .clone()
        .unwrap_or_else(kbridge_pipeline::default_instance);
    let metrics = metrics(&config, &instance)?;
    let registry = if kbridge_pipeline::needs_registry(&config) {
        Some(super::schema::client(&config.schema_registry, &[])?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("start the async runtime")?;
    let server = if config.metrics.enabled {
        let server = runtime
            .block_on(MetricsServer::bind(config.metrics.listen, metrics.clone()))
            .context("serve /metrics")?;
        tracing::info!(address = %server.local_addr(), "metrics, health and readiness served");
        Some(server)
    } else {
        None
    };
    let shutdown = Shutdown::new();
    runtime.spawn(watch_signals(shutdown.clone()));

    // Build and run on a plain thread: building blocks on registry
    // requests, and the loop polls Kafka synchronously.
    let (progress_tx, progress_rx) = mpsc::channel();
    let pipeline_thread = {
        let (config, metrics, shutdown) = (config.clone(), metrics.clone(), shutdown.clone());
        std::thread::Builder::new()
            .name("kbridge-pipeline".to_owned())
            .spawn(move || -> Result<Summary, PipelineError> {
                let mut b = Pipeline::from_config(&config, transforms)
                    .metrics(metrics)
                    .shutdown(shutdown)
                    .instance(instance);
                if let Some(r) = registry {
                    b = b.registry(r);
                }
                let pipeline = b.build()?;
                // the receiver may be gone if the main thread stopped waiting
                let _ = progress_tx.send(pipeline.progress());
                pipeline.run()
            })
            .context("start the pipeline thread")?
    };

    let mut bar = Progress::new(None, "records");
    let mut progress = None;
    let mut stop_asked: Option<Instant> = None;
    // the pipeline's own shutdown timeout bounds its last commit; allow the
    // client calls around it some slack before giving up on the thread
    let grace = config.shutdown_timeout + Duration::from_secs(15);
    while !pipeline_thread.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
        if progress.is_none() {
            progress = progress_rx.try_recv().ok();
        }
        if let Some(p) = &progress {
            let s = p.snapshot();
            bar.update(s.records_in, s.records_in, || {
                format!(
                    "in, {} out, {} filtered, {} dead-lettered",
                    s.records_out, s.filtered, s.dead_lettered
                )
            });
        }
        if shutdown.is_requested() {
            let since = *stop_asked.get_or_insert_with(Instant::now);
            if since.elapsed() > grace {
                bar.finish();
                eprintln!(
                    "error: the pipeline did not stop within {} after the signal; exiting without its final commit",
                    humantime::format_duration(grace)
                );
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    bar.finish();
    let result = match pipeline_thread.join() {
        Ok(r) => r,
        Err(panic) => Err(PipelineError::Panicked {
            message: panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "unknown panic".to_owned()),
        }),
    };
    if let Some(server) = server
        && let Err(e) = runtime.block_on(server.shutdown())
    {
        tracing::warn!(error = %e, "metrics endpoint shutdown");
    }
    if let Err(e) = metrics.shutdown() {
        tracing::warn!(error = %e, "metrics shutdown");
    }
    match result {
        Ok(summary) => {
            if args.json {
                output::print_json(&summary)?;
            } else {
                print_summary(&summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {}", kbridge_metrics::events::ErrorChain(&e));
            Ok(ExitCode::from(e.exit_code()))
        }
    }
}

fn print_summary(s: &Summary) {
    let mut t = output::table(["", "records"]);
    t.add_row(vec!["in".to_owned(), s.records_in.to_string()]);
    t.add_row(vec!["out".to_owned(), s.records_out.to_string()]);
    t.add_row(vec!["filtered".to_owned(), s.filtered.to_string()]);
    for (stage, n) in &s.dead_lettered {
        t.add_row(vec![format!("dead-lettered ({stage})"), n.to_string()]);
    }
    if s.skipped > 0 {
        t.add_row(vec![
            "skipped (no dead-letter topic)".to_owned(),
            s.skipped.to_string(),
        ]);
    }
    if s.late > 0 {
        t.add_row(vec![
            format!("late ({} dropped)", s.late_dropped),
            s.late.to_string(),
        ]);
    }
    println!("{t}");
    println!(
        "{:.1}s, {:.0} records/s, ended by {}{}",
        s.duration.as_secs_f64(),
        s.records_per_second(),
        s.ended_by,
        if s.transactions > 0 {
            format!(", {} transactions ({} aborted)", s.transactions, s.aborts)
        } else {
            String::new()
        }
    );
}
