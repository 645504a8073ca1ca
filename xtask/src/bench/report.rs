//! The bench's markdown report: every run, then the ratios the targets
//! are stated in, each computed from runs of the same repeat.

use serde_json::{Map, Value as Json};
use std::fmt::Write as _;

/// A target: `num` ÷ `den` (of records/s in the same repeat) ≥ `min`, or
/// for `max_drop`, `num` ≥ (1 − max_drop) × `den`.
pub struct Target {
    pub name: &'static str,
    pub num: &'static str,
    pub den: &'static str,
    pub min: f64,
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "kbridge ALO ÷ raw ALO copy (idempotent)",
        num: "kbridge_alo",
        den: "raw_alo",
        min: 0.5,
    },
    Target {
        name: "kbridge ALO ÷ Python ALO",
        num: "kbridge_alo",
        den: "py_alo",
        min: 5.0,
    },
    Target {
        name: "kbridge EOS ÷ raw EOS copy (10k/txn)",
        num: "kbridge_eos",
        den: "raw_eos",
        min: 0.7,
    },
    Target {
        name: "kbridge EOS ÷ raw EOS copy (100k/txn)",
        num: "kbridge_eos_bigtxn",
        den: "raw_eos_bigtxn",
        min: 0.7,
    },
    Target {
        name: "kbridge EOS ÷ Python EOS",
        num: "kbridge_eos",
        den: "py_eos",
        min: 5.0,
    },
    Target {
        name: "five transforms ÷ none (ALO)",
        num: "kbridge_alo_five",
        den: "kbridge_alo_none",
        min: 0.85,
    },
];

fn num(r: &Map<String, Json>, k: &str) -> Option<f64> {
    r.get(k).and_then(Json::as_f64)
}

fn cell(r: &Map<String, Json>, k: &str, digits: usize) -> String {
    num(r, k).map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Records/s of `label` in repeat `rep` (the last valid run of it).
fn rps(runs: &[Map<String, Json>], label: &str, rep: u64) -> Option<f64> {
    runs.iter()
        .rev()
        .find(|r| {
            r.get("label").and_then(Json::as_str) == Some(label)
                && r.get("rep").and_then(Json::as_u64) == Some(rep)
                && r.get("discarded").is_none()
        })
        .and_then(|r| num(r, "rps"))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// The ratio rows: `(target, per-repeat ratios, median)`.
pub fn ratios(
    runs: &[Map<String, Json>],
    repeats: u64,
) -> Vec<(&'static Target, Vec<Option<f64>>)> {
    TARGETS
        .iter()
        .map(|t| {
            let per_rep = (1..=repeats)
                .map(|rep| Some(rps(runs, t.num, rep)? / rps(runs, t.den, rep)?))
                .collect();
            (t, per_rep)
        })
        .filter(|(_, v): &(_, Vec<Option<f64>>)| v.iter().any(Option::is_some))
        .collect()
}

/// The whole report.
pub fn markdown(header: &str, runs: &[Map<String, Json>], repeats: u64) -> String {
    let mut md = String::new();
    md.push_str(header);
    md.push_str("\n## Runs\n\n");
    md.push_str(
        "| mode | rep | records | window s | rec/s | MB/s (in) | client CPU % | loop/main thread % | broker CPU % | machine busy % | load avg (1m) | CPU probe | correct | notes |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    for r in runs {
        let label = r.get("label").and_then(Json::as_str).unwrap_or("?");
        let correct = match r.get("correct").and_then(Json::as_bool) {
            Some(true) => "yes",
            Some(false) => "**NO**",
            None => "-",
        };
        let mut notes = r
            .get("notes")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned();
        if let Some(d) = r.get("discarded").and_then(Json::as_str) {
            notes = format!("discarded ({d}); {notes}");
        }
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {correct} | {notes} |",
            r.get("rep").and_then(Json::as_u64).unwrap_or(0),
            num(r, "records").map_or("-".into(), thousands),
            cell(r, "secs", 1),
            num(r, "rps").map_or("-".into(), thousands),
            cell(r, "mbps", 1),
            cell(r, "self_cpu_pct", 0),
            cell(r, "main_thread_cpu_pct", 0),
            cell(r, "broker_cpu_pct", 0),
            cell(r, "machine_busy_pct", 0),
            cell(r, "loadavg_1m", 2),
            cell(r, "cpu_probe", 1),
        );
    }
    let rows = ratios(runs, repeats);
    if !rows.is_empty() {
        md.push_str(
            "\n## Ratios (records/s, both sides from the same repeat)\n\n| ratio | target |",
        );
        for rep in 1..=repeats {
            let _ = write!(md, " rep {rep} |");
        }
        md.push_str(" median | met |\n|---|---:|");
        for _ in 0..repeats {
            md.push_str("---:|");
        }
        md.push_str("---:|---|\n");
        for (t, per_rep) in rows {
            let _ = write!(md, "| {} | ≥ {:.2} |", t.name, t.min);
            for v in &per_rep {
                let _ = write!(md, " {} |", v.map_or("-".into(), |v| format!("{v:.2}")));
            }
            let med = median(per_rep.iter().flatten().copied().collect());
            let met = match med {
                Some(m) if m >= t.min => "yes",
                Some(_) => "**no**",
                None => "-",
            };
            let _ = writeln!(
                md,
                " {} | {met} |",
                med.map_or("-".into(), |m| format!("{m:.2}"))
            );
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(label: &str, rep: u64, rps: f64) -> Map<String, Json> {
        json!({"label": label, "rep": rep, "rps": rps, "records": 1000, "secs": 10.0, "correct": true})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn ratios_pair_runs_of_the_same_repeat() {
        let mut runs = vec![
            run("raw_alo", 1, 500_000.0),
            run("kbridge_alo", 1, 300_000.0),
            run("raw_alo", 2, 400_000.0),
            run("kbridge_alo", 2, 100_000.0),
        ];
        let mut short = run("kbridge_alo", 2, 999_999.0);
        short.insert("discarded".into(), json!("window 4.0 s < 10 s"));
        runs.insert(3, short);
        let rows = ratios(&runs, 2);
        assert_eq!(rows.len(), 1, "only the pair present in the runs");
        assert_eq!(rows[0].0.num, "kbridge_alo");
        assert_eq!(rows[0].1, vec![Some(0.6), Some(0.25)]);
        let md = markdown("# t\n", &runs, 2);
        assert!(
            md.contains(
                "| kbridge ALO ÷ raw ALO copy (idempotent) | ≥ 0.50 | 0.60 | 0.25 | 0.42 | **no** |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| raw_alo | 1 | 1,000 | 10.0 | 500,000 |"),
            "{md}"
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
    }
}
