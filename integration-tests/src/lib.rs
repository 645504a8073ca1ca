//! Shared helpers for the black-box integration tests.
//!
//! Endpoints come from the environment (`KAFKA_BOOTSTRAP_SERVERS`,
//! `SCHEMA_REGISTRY_URL`), falling back to the file that `cargo xtask stack up`
//! writes (`.stack/endpoints.env` at the workspace root). `cargo xtask it`
//! starts a broker and a registry and sets both variables itself.
//!
//! Every test uses [`unique`] names for topics, groups and transactional ids,
//! so tests run in parallel against one broker.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Root of the workspace (parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn from_stack_file(key: &str) -> Option<String> {
    let text = std::fs::read_to_string(workspace_root().join(".stack/endpoints.env")).ok()?;
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

fn endpoint(key: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| from_stack_file(key))
        .unwrap_or_else(|| {
            panic!(
                "{key} is not set and .stack/endpoints.env has no {key}: \
                 run the tests through `cargo xtask it`, or start `cargo xtask stack up` first"
            )
        })
}

/// Bootstrap servers of the test broker (`KAFKA_BOOTSTRAP_SERVERS`).
pub fn kafka_bootstrap() -> String {
    endpoint("KAFKA_BOOTSTRAP_SERVERS")
}

/// Base URL of the test schema registry (`SCHEMA_REGISTRY_URL`).
pub fn registry_url() -> String {
    endpoint("SCHEMA_REGISTRY_URL")
}

/// The `kbridge` binary under test: `KBRIDGE_BIN`, else `target/debug/kbridge`
/// (`cargo xtask it` builds it before running the tests).
pub fn kbridge_bin() -> PathBuf {
    std::env::var_os("KBRIDGE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/debug/kbridge"))
}

/// A name no other test (or earlier run against the same broker) uses:
/// `<prefix>-<pid>-<millis>-<counter>`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{millis}-{n}", std::process::id())
}

/// librdkafka settings every test consumer should carry: tansu needs short
/// group timeouts or a join takes ~25 s.
pub const FAST_GROUP_SETTINGS: &[(&str, &str)] = &[
    ("session.timeout.ms", "6000"),
    ("heartbeat.interval.ms", "1000"),
    ("max.poll.interval.ms", "10000"),
];
