//! Local processes: detached ones that outlive xtask (`stack up`, tracked by
//! pid files) and owned ones that die with it (`it`).

use crate::util::display;
use anyhow::{Context, Result};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Start `cmd` in its own process group (a Ctrl-C in the terminal does not
/// reach it), output appended to `log`. Returns the pid; the process keeps
/// running after xtask exits.
pub fn spawn_detached(cmd: &mut Command, log: &Path) -> Result<u32> {
    let child = spawn_logged(cmd.process_group(0), log)?;
    Ok(child.id())
}

/// Start `cmd` with output appended to `log`; the caller owns the child.
pub fn spawn_logged(cmd: &mut Command, log: &Path) -> Result<Child> {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start `{}`", display(cmd)))
}

/// Whether `pid` is a live (not zombie) process whose command line contains
/// `expect` — so a recycled pid is never mistaken for ours.
pub fn alive(pid: u32, expect: &str) -> bool {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let Ok(stat) = std::fs::read_to_string(proc_dir.join("stat")) else {
        return false;
    };
    // state is the first field after the parenthesised command name
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if matches!(state, Some("Z") | Some("X") | None) {
        return false;
    }
    // `exe` is set by exec itself; `cmdline` reads empty for a moment after
    // exec, so it is only the fallback (e.g. for another user's process).
    let exe = std::fs::read_link(proc_dir.join("exe"))
        .is_ok_and(|p| p.to_string_lossy().contains(expect));
    exe || std::fs::read(proc_dir.join("cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains(expect))
}

/// SIGTERM, wait up to `grace`, then SIGKILL. `Ok(false)` when the process
/// was not running (or not ours).
pub fn terminate(pid: u32, expect: &str, grace: Duration) -> Result<bool> {
    if !alive(pid, expect) {
        return Ok(false);
    }
    signal(pid, "TERM");
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !alive(pid, expect) {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(pid, "KILL");
    Ok(true)
}

fn signal(pid: u32, sig: &str) {
    let _gone_already_is_fine = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    name: String,
    child: Child,
}

impl ChildGuard {
    pub fn new(name: impl Into<String>, child: Child) -> Self {
        Self {
            name: name.into(),
            child,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `Err` with the exit status when the process has already exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => anyhow::bail!("{} exited early: {status}", self.name),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            signal(self.child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _exited_meanwhile = self.child.kill();
            let _reaped = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detached_process_is_tracked_and_terminated() {
        let log = std::env::temp_dir().join(format!("xtask-proc-test-{}.log", std::process::id()));
        let pid = spawn_detached(Command::new("sleep").arg("30"), &log).unwrap();
        assert!(alive(pid, "sleep"));
        assert!(
            !alive(pid, "tansu"),
            "a pid running something else is not ours"
        );
        assert!(terminate(pid, "sleep", Duration::from_secs(5)).unwrap());
        // the detached child is ours until reaped; poll until the pid is gone or a zombie
        crate::util::wait_until("sleep to exit", Duration::from_secs(5), || {
            Ok(!alive(pid, "sleep"))
        })
        .unwrap();
        assert!(!terminate(pid, "sleep", Duration::from_secs(1)).unwrap());
        let _ = std::fs::remove_file(log);
    }

    #[test]
    fn guard_stops_its_child_on_drop() {
        let log = std::env::temp_dir().join(format!("xtask-guard-test-{}.log", std::process::id()));
        let child = spawn_logged(Command::new("sleep").arg("30"), &log).unwrap();
        let pid = child.id();
        let mut guard = ChildGuard::new("sleep", child);
        guard.check_running().unwrap();
        drop(guard);
        assert!(!alive(pid, "sleep"));
        let _ = std::fs::remove_file(log);
    }
}
