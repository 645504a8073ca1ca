//! `cargo xtask demo` end to end against the test broker and registry,
//! twice with the same topics: the second run handles exactly its own
//! sample stream (the group resumes from its committed offsets). The
//! summary must account for every record of the stream: readings out,
//! sensor errors filtered, corrupt and unknown-schema records
//! dead-lettered at the decode stage.
//!
//! The xtask binary is `XTASK_BIN`, else `target/debug/xtask` (which
//! `cargo xtask it` has just built and is running).

use kbridge_integration_tests::{
    kafka_bootstrap, kbridge_bin, registry_url, unique, workspace_root,
};
use serde_json::Value as Json;
use std::path::PathBuf;
use std::process::Command;

fn xtask_bin() -> PathBuf {
    let bin = std::env::var_os("XTASK_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/xtask"));
    assert!(
        bin.is_file(),
        "{} does not exist: run the tests through `cargo xtask it`, or `cargo build -p xtask` first",
        bin.display()
    );
    bin
}

fn demo(prefix: &str) -> Json {
    let out = Command::new(xtask_bin())
        .args(["demo", "--json", "--records", "1500", "--prefix", prefix])
        .args(["--bootstrap", &kafka_bootstrap()])
        .args(["--registry-url", &registry_url()])
        .arg("--kbridge-bin")
        .arg(kbridge_bin())
        .output()
        .expect("run xtask demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "xtask demo failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn demo_runs_end_to_end_and_again() {
    let prefix = unique("demo");
    for run in 1..=2 {
        let r = demo(&prefix);
        let stream = &r["stream"];
        let s = &r["summary"];
        let n = |v: &Json| {
            v.as_u64()
                .unwrap_or_else(|| panic!("not a count: {v} in {r}"))
        };
        let (valid, negative) = (n(&stream["valid"]), n(&stream["negative"]));
        let (corrupt, unknown) = (n(&stream["corrupt"]), n(&stream["unknown_schema"]));
        assert_eq!(valid, 1500);
        assert!(negative > 0 && corrupt > 0 && unknown > 0, "{r}");
        assert_eq!(
            n(&s["records_in"]),
            valid + corrupt + unknown,
            "run {run}: {r}"
        );
        assert_eq!(n(&s["records_out"]), valid - negative, "run {run}: {r}");
        assert_eq!(n(&s["filtered"]), negative, "run {run}: {r}");
        assert_eq!(
            n(&s["dead_lettered"]["decode"]),
            corrupt + unknown,
            "run {run}: {r}"
        );
        assert_eq!(n(&s["aborts"]), 0, "run {run}: {r}");
        assert_eq!(
            n(&r["dead_lettered_by_class"]["decode/UnknownSchema"]),
            unknown,
            "run {run}: {r}"
        );
        assert_eq!(s["ended_by"], "shutdown", "stopped gracefully: {r}");
        assert_eq!(r["topics"]["output"], format!("{prefix}.health.clean"));
    }
}
