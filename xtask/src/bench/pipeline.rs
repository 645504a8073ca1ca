//! `kbridge run` as a child process: started with a configuration file and
//! `--set` overrides, watched through its `/metrics`, stopped gracefully
//! with SIGTERM, its `--json` summary read back.

use super::prom::Scrape;
use anyhow::{Context, Result, bail};
use serde_json::Value as Json;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Name prefix of the pipeline's loop thread (`kbridge-pipeline`, as
/// `/proc/<pid>/task/*/comm` shows it).
pub const LOOP_THREAD: &str = "kbridge-pipelin";

/// A running `kbridge run`; killed when dropped without [`Self::stop`].
#[derive(Debug)]
pub struct PipelineRun {
    child: Option<Child>,
    pub pid: u32,
    pub metrics_url: String,
    stdout: PathBuf,
    log: PathBuf,
}

impl PipelineRun {
    /// `kbridge --config CONFIG --set … run --json --instance INSTANCE`,
    /// metrics on `127.0.0.1:metrics_port`, the summary (stdout) to
    /// `<log>.summary.json` and the logs (stderr) to `log`.
    pub fn spawn(
        bin: &Path,
        config: &Path,
        sets: &[String],
        metrics_port: u16,
        instance: &str,
        log: &Path,
    ) -> Result<PipelineRun> {
        let stdout = log.with_extension("summary.json");
        let mut cmd = Command::new(bin);
        cmd.arg("--config").arg(config);
        for s in sets {
            cmd.arg("--set").arg(s);
        }
        cmd.arg("--set")
            .arg(format!("metrics.listen=127.0.0.1:{metrics_port}"))
            .args(["run", "--json", "--instance", instance])
            // the configuration file and --set decide; keep a stray
            // KBRIDGE_CONFIG of the caller's shell out
            .env_remove("KBRIDGE_CONFIG")
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).with_context(|| format!("create {}", stdout.display()))?)
            .stderr(File::create(log).with_context(|| format!("create {}", log.display()))?);
        let child = cmd
            .spawn()
            .with_context(|| format!("start {}", crate::util::display(&cmd)))?;
        Ok(PipelineRun {
            pid: child.id(),
            child: Some(child),
            metrics_url: format!("http://127.0.0.1:{metrics_port}/metrics"),
            stdout,
            log: log.to_path_buf(),
        })
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// `Err` with the end of the log when the process has exited.
    pub fn check_running(&mut self) -> Result<()> {
        if let Some(child) = &mut self.child
            && let Some(status) = child.try_wait()?
        {
            self.child = None;
            bail!(
                "kbridge run exited early ({status}); end of {}:\n{}",
                self.log.display(),
                log_tail(&self.log, 25)
            );
        }
        Ok(())
    }

    pub fn scrape(&self, agent: &ureq::Agent) -> Result<Scrape> {
        Scrape::fetch(agent, &self.metrics_url)
    }

    /// SIGTERM, then waits up to `timeout` for a clean exit and returns
    /// the `--json` summary.
    pub fn stop(mut self, timeout: Duration) -> Result<Json> {
        let Some(mut child) = self.child.take() else {
            bail!("kbridge run is not running");
        };
        signal(child.id(), "TERM");
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = child.try_wait()? {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "kbridge run did not stop within {timeout:?} of SIGTERM; end of {}:\n{}",
                    self.log.display(),
                    log_tail(&self.log, 25)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if !status.success() {
            bail!(
                "kbridge run exited with {status}; end of {}:\n{}",
                self.log.display(),
                log_tail(&self.log, 25)
            );
        }
        let text = std::fs::read_to_string(&self.stdout)
            .with_context(|| format!("read {}", self.stdout.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("the summary of kbridge run is not JSON: {text}"))
    }
}

impl Drop for PipelineRun {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let _gone_is_fine = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last `n` lines of a log file.
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
