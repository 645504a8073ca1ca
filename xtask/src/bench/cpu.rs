//! CPU, memory and load readings from `/proc`, the same accounting as the
//! baselines' `benchlib.py` and `rawcopy` (utime + stime deltas over a timed
//! window, machine busy and steal from `/proc/stat`).

use serde_json::{Map, Value as Json, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// USER_HZ: 100 on every Linux x86_64 and aarch64 build.
const CLK_TCK: f64 = 100.0;

/// utime + stime in seconds of a process (all threads) or of one thread
/// (`"<pid>/task/<tid>"`); `None` when it cannot be read.
pub fn proc_cpu_s(which: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{which}/stat")).ok()?;
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / CLK_TCK)
}

/// The thread of `pid` whose name (`comm`, 15 characters at most) starts
/// with `prefix`, as `"<pid>/task/<tid>"`.
pub fn thread_named(pid: u32, prefix: &str) -> Option<String> {
    let dir = format!("/proc/{pid}/task");
    for entry in std::fs::read_dir(&dir).ok()?.flatten() {
        let tid = entry.file_name().to_string_lossy().into_owned();
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix) {
            return Some(format!("{pid}/task/{tid}"));
        }
    }
    None
}

/// (busy, total, steal) jiffies over all CPUs; iowait counts as idle,
/// steal as busy (guest columns are already in user).
pub fn machine_cpu() -> (u64, u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 8 {
        return (0, 0, 0);
    }
    let total: u64 = v[..8].iter().sum();
    (total - v[3] - v[4], total, v[7])
}

pub fn ncpu() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Machine busy % (of 100 × cores) over `d`.
pub fn machine_busy(d: Duration) -> f64 {
    let (b0, t0, _) = machine_cpu();
    std::thread::sleep(d);
    let (b1, t1, _) = machine_cpu();
    100.0 * ncpu() as f64 * (b1.saturating_sub(b0)) as f64 / (t1.saturating_sub(t0)).max(1) as f64
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|x| x.parse().unwrap_or(0.0));
    [
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
    ]
}

/// Resident set size of a process in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let text =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU used by a client process (and one of its threads), the broker and
/// the whole machine between `start` and `stop`.
#[derive(Debug)]
pub struct CpuWindow {
    t0: Instant,
    client: Option<(String, f64)>,
    thread: Option<(String, f64)>,
    broker: Option<(String, f64)>,
    machine: (u64, u64, u64),
}

impl CpuWindow {
    /// `thread` is `"<pid>/task/<tid>"` of the client's busiest thread
    /// (the pipeline loop).
    pub fn start(client: Option<u32>, thread: Option<String>, broker: Option<u32>) -> Self {
        let read = |w: String| proc_cpu_s(&w).map(|c| (w, c));
        CpuWindow {
            t0: Instant::now(),
            client: client.and_then(|p| read(p.to_string())),
            thread: thread.and_then(read),
            broker: broker.and_then(|p| read(p.to_string())),
            machine: machine_cpu(),
        }
    }

    /// Wall seconds and the CPU figures, named like the baselines' RESULT
    /// lines (`self_cpu_pct`, `main_thread_cpu_pct`, `broker_cpu_pct`,
    /// `machine_busy_pct`, `steal_pct`).
    pub fn stop(&self) -> (f64, Map<String, Json>) {
        let wall = self.t0.elapsed().as_secs_f64();
        let mut out = Map::new();
        let pct = |x: f64| json!((1000.0 * x / wall).round() / 10.0);
        for (key, start) in [
            ("self_cpu_pct", &self.client),
            ("main_thread_cpu_pct", &self.thread),
            ("broker_cpu_pct", &self.broker),
        ] {
            if let Some((which, c0)) = start
                && let Some(c1) = proc_cpu_s(which)
            {
                out.insert(key.into(), pct(c1 - c0));
            }
        }
        let (b1, t1, s1) = machine_cpu();
        let dt = t1.saturating_sub(self.machine.1);
        if dt > 0 {
            let share =
                |x: u64| json!((1000.0 * ncpu() as f64 * x as f64 / dt as f64).round() / 10.0);
            out.insert(
                "machine_busy_pct".into(),
                share(b1.saturating_sub(self.machine.0)),
            );
            out.insert("steal_pct".into(), share(s1.saturating_sub(self.machine.2)));
        }
        (wall, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_readable_cpu_rss_and_threads() {
        let pid = std::process::id();
        assert!(proc_cpu_s(&pid.to_string()).is_some());
        assert!(rss_bytes(pid).unwrap() > 1024 * 1024);
        let (started, wait) = std::sync::mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("xtask-probe-thread".into())
            .spawn(move || {
                started.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300))
            })
            .unwrap();
        wait.recv().unwrap();
        let found = thread_named(pid, "xtask-probe-thr").unwrap();
        assert!(found.starts_with(&format!("{pid}/task/")));
        handle.join().unwrap();
        assert_eq!(thread_named(pid, "no-such-thread"), None);
    }

    #[test]
    fn window_reports_this_process_busy() {
        let w = CpuWindow::start(Some(std::process::id()), None, None);
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let (wall, out) = w.stop();
        assert!(wall >= 0.3);
        // a spinning thread shows up as busy (jiffies are 10 ms: allow slack)
        assert!(out["self_cpu_pct"].as_f64().unwrap() > 30.0, "{out:?}");
        assert!(out.contains_key("machine_busy_pct"));
    }
}
