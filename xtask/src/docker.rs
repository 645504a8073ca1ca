//! The few Docker CLI calls xtask needs outside testcontainers: is there a
//! daemon, is an image here, can it be pulled, build one, long-lived
//! containers for `stack up`.

use crate::util::{display, output_ok};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a pull may take before we fall back to the local images.
const PULL_TIMEOUT: Duration = Duration::from_secs(600);

fn docker() -> Command {
    let mut cmd = Command::new("docker");
    cmd.stdin(Stdio::null());
    cmd
}

/// Server version when a Docker daemon answers, `None` otherwise (no CLI,
/// no daemon, no permission). `XTASK_NO_DOCKER=1` pretends there is none.
pub fn daemon_version() -> Option<String> {
    if std::env::var("XTASK_NO_DOCKER").is_ok_and(|v| !v.is_empty() && v != "0") {
        return None;
    }
    output_ok(docker().args(["version", "--format", "{{.Server.Version}}"]))
        .filter(|v| !v.is_empty())
}

/// Whether `reference` (`name:tag`) is in the local image store.
pub fn image_present(reference: &str) -> bool {
    output_ok(docker().args(["image", "inspect", "--format", "{{.Id}}", reference])).is_some()
}

/// Present locally, or pulled now. `false` when the pull fails or takes
/// longer than ten minutes; the reason is printed.
pub fn image_available(reference: &str) -> bool {
    if image_present(reference) {
        return true;
    }
    eprintln!("xtask: pulling {reference}");
    let child = docker()
        .args(["pull", "--quiet", reference])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            eprintln!("xtask: cannot run docker pull: {e}");
            return false;
        }
    };
    let deadline = Instant::now() + PULL_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return true,
            Ok(Some(_)) => {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _partial = std::io::Read::read_to_string(&mut stderr, &mut err);
                }
                eprintln!("xtask: cannot pull {reference}: {}", err.trim());
                return false;
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Ok(None) | Err(_) => {
                let _already_gone = child.kill();
                let _reaped = child.wait();
                eprintln!("xtask: pulling {reference} took too long; giving up");
                return false;
            }
        }
    }
}

/// `docker build -t reference context` with the classic builder (a
/// `FROM scratch` image needs no BuildKit, and no buildx plugin is assumed).
pub fn build(context: &Path, reference: &str) -> Result<()> {
    let mut cmd = docker();
    cmd.env("DOCKER_BUILDKIT", "0")
        .args(["build", "--quiet", "-t", reference])
        .arg(context);
    let out = cmd
        .output()
        .with_context(|| format!("cannot run `{}`", display(&cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            display(&cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Run a detached container; `args` go between `run -d` and the image.
pub fn run_detached(args: &[String], image: &str, cmd_args: &[String]) -> Result<String> {
    let mut cmd = docker();
    cmd.args(["run", "-d"]).args(args).arg(image).args(cmd_args);
    let out = cmd
        .output()
        .with_context(|| format!("cannot run `{}`", display(&cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed: {}",
            display(&cmd),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether the named container exists and runs.
pub fn container_running(name: &str) -> bool {
    output_ok(docker().args(["inspect", "--format", "{{.State.Running}}", name]))
        .is_some_and(|s| s == "true")
}

/// Remove a container (running or not); `Ok(false)` when there was none.
pub fn remove_container(name: &str) -> Result<bool> {
    if output_ok(docker().args(["inspect", "--format", "{{.Id}}", name])).is_none() {
        return Ok(false);
    }
    let mut cmd = docker();
    cmd.args(["rm", "-f", "-v", name]).stdout(Stdio::null());
    let status = cmd.status()?;
    if !status.success() {
        bail!("`{}` failed: {status}", display(&cmd));
    }
    Ok(true)
}

/// Remove every container carrying `label` (`key=value`), e.g. one that
/// was created but failed to start. Best effort; returns how many went.
pub fn remove_labelled(label: &str) -> usize {
    let ids = output_ok(docker().args(["ps", "-aq", "--filter", &format!("label={label}")]))
        .unwrap_or_default();
    ids.split_whitespace()
        .filter(|id| remove_container(id).unwrap_or(false))
        .count()
}

/// Create a user-defined bridge network unless it exists.
pub fn ensure_network(name: &str) -> Result<()> {
    if output_ok(docker().args(["network", "inspect", "--format", "{{.Id}}", name])).is_some() {
        return Ok(());
    }
    let mut cmd = docker();
    cmd.args(["network", "create", name]).stdout(Stdio::null());
    let status = cmd.status()?;
    if !status.success() {
        bail!("`{}` failed: {status}", display(&cmd));
    }
    Ok(())
}

/// Remove a network if it exists.
pub fn remove_network(name: &str) {
    if output_ok(docker().args(["network", "inspect", "--format", "{{.Id}}", name])).is_some() {
        let _best_effort = output_ok(docker().args(["network", "rm", name]));
    }
}

/// Last `lines` lines of a container's log (for error messages).
pub fn logs_tail(name: &str, lines: usize) -> String {
    docker()
        .args(["logs", "--tail", &lines.to_string(), name])
        .output()
        .map(|o| {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stderr));
            text
        })
        .unwrap_or_default()
}
