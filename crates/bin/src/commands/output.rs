//! Shared rendering for the operator commands: tables (comfy-table), JSON,
//! ✓/✗ marks, progress bars (indicatif, drawn on stderr only when it is a
//! terminal), Ctrl-C as a flag, and the async runtime for library calls.

use anyhow::Context;
use comfy_table::{ContentArrangement, Table, presets};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A table with a header row; box drawing on a terminal, plain ASCII when
/// piped.
pub fn table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut t = Table::new();
    if std::io::stdout().is_terminal() {
        t.load_style(presets::UTF8_FULL_CONDENSED);
    } else {
        t.load_style(presets::ASCII_MARKDOWN);
    }
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(header);
    t
}

/// Pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `✓` green, `✗` red, `-` dim (colours only on a terminal, never with NO_COLOR).
pub fn mark(status: Mark) -> String {
    // `Style` styles only when stdout is a terminal and NO_COLOR is unset.
    let (symbol, style) = match status {
        Mark::Ok => ("✓", console::Style::new().green()),
        Mark::Failed => ("✗", console::Style::new().red().bold()),
        Mark::Skipped => ("-", console::Style::new().dim()),
    };
    style.apply_to(symbol).to_string()
}

/// What [`mark`] draws.
#[derive(Debug, Clone, Copy)]
pub enum Mark {
    /// Passed.
    Ok,
    /// Failed.
    Failed,
    /// Skipped.
    Skipped,
}

/// Runs an async library call on a fresh current-thread runtime.
pub fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?
        .block_on(future))
}

/// A progress bar on stderr that appears only when the operation turns
/// out to be long (more than `min_records` records or one second) and
/// stderr is a terminal. `total` gives a bar with ETA; without it a
/// counter with the rate.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    shown: bool,
    started: Instant,
    min_records: u64,
    enabled: bool,
}

impl Progress {
    /// `unit` names what is counted (`records`, `bytes`).
    pub fn new(total: Option<u64>, unit: &str) -> Self {
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::hidden()),
            None => ProgressBar::hidden(),
        };
        let template = match (total, unit) {
            (Some(_), "bytes") => {
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} ETA {eta}"
            }
            (Some(_), _) => {
                "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} {per_sec} ETA {eta} {msg}"
            }
            (None, _) => "{spinner} [{elapsed_precise}] {human_pos} records {per_sec} {msg}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Progress {
            bar,
            shown: false,
            started: Instant::now(),
            min_records: 1000,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// Sets the position (records or bytes) and the message (counts).
    pub fn update(&mut self, position: u64, records: u64, message: impl FnOnce() -> String) {
        if !self.enabled {
            return;
        }
        if !self.shown
            && (records >= self.min_records || self.started.elapsed() >= Duration::from_secs(1))
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(200));
            self.shown = true;
        }
        if let Some(len) = self.bar.length()
            && position > len
        {
            // the estimate was low (a broker's stale high watermark)
            self.bar.set_length(position);
        }
        self.bar.set_position(position);
        if self.shown {
            self.bar.set_message(message());
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// A flag set by Ctrl-C (SIGINT) or SIGTERM, for loops that must stop in
/// order (commit offsets, flush) rather than die.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(mut term) = signal(SignalKind::terminate()) else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
        });
        set.store(true, Ordering::SeqCst);
    });
    flag
}

/// Parses humantime durations (`500ms`, `2s`, `1m`) for clap.
pub fn duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw).map_err(|e| format!("invalid duration `{raw}`: {e}"))
}

/// Time for humans: RFC 3339 UTC with milliseconds.
pub fn timestamp(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
