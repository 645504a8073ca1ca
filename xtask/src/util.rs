//! Small helpers shared by the tasks: paths, commands, ports, polling.

use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Root of the workspace (parent of the `xtask` folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `<root>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        })
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// `cargo` as invoked by the user (`CARGO` when run through cargo).
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root()).stdin(Stdio::null());
    cmd
}

/// Run a command to completion with inherited output; error on non-zero exit.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = status(cmd)?;
    if !status.success() {
        bail!("`{}` failed: {status}", display(cmd));
    }
    Ok(())
}

/// Run a command to completion with inherited output and return its status.
pub fn status(cmd: &mut Command) -> Result<ExitStatus> {
    cmd.status()
        .with_context(|| format!("cannot run `{}`", display(cmd)))
}

/// Run a command quietly; `Some(stdout)` when it exits 0, `None` otherwise
/// (including when the program does not exist).
pub fn output_ok(cmd: &mut Command) -> Option<String> {
    let out = cmd.stdin(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A command line as a user would type it.
/// The program is shown by its file name (`cargo`, not the toolchain path).
pub fn display(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program());
    std::iter::once(program)
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind an ephemeral port")?;
    Ok(listener.local_addr()?.port())
}

/// `preferred` when it is free on 127.0.0.1, else a random free port.
pub fn port_or_free(preferred: u16) -> Result<(u16, bool)> {
    if preferred != 0 && TcpListener::bind(("127.0.0.1", preferred)).is_ok() {
        return Ok((preferred, true));
    }
    Ok((free_port()?, false))
}

/// Poll `check` every 200 ms until it returns `Ok(true)` or `timeout` passes.
/// `check` returning an error aborts the wait (e.g. the process died).
pub fn wait_until(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if check()? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("{what} did not become ready within {}s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Parse `KEY=VALUE` lines (comments and blanks skipped).
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Human duration for summaries: `4.2s`, `3m 07s`.
pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_skips_comments_and_trims() {
        let parsed = parse_env_file("# c\n\nA = 1\nB=x=y\nnot a pair\n");
        assert_eq!(
            parsed,
            vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
    }

    #[test]
    fn durations_read_like_a_human_wrote_them() {
        assert_eq!(fmt_duration(Duration::from_millis(4230)), "4.2s");
        assert_eq!(fmt_duration(Duration::from_secs(187)), "3m 07s");
    }

    #[test]
    fn commands_are_shown_by_program_name() {
        let mut cmd = Command::new("/root/.rustup/toolchains/x/bin/cargo");
        cmd.args(["fmt", "--all"]);
        assert_eq!(display(&cmd), "cargo fmt --all");
    }

    #[test]
    fn preferred_port_is_replaced_when_taken() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let (chosen, preferred) = port_or_free(port).unwrap();
        assert!(!preferred);
        assert_ne!(chosen, port);
    }
}
