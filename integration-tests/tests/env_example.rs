//! `.env.example` stays true: it loads without a single configuration
//! problem, its values point at the local stack, and it names every
//! environment variable the configuration reference lists.

use kbridge_config::{Config, EnvVars, LoadOptions, RESERVED_ENV_VARS, reference_markdown};
use kbridge_integration_tests::workspace_root;
use std::collections::BTreeSet;

fn env_example() -> Vec<(String, String)> {
    let path = workspace_root().join(".env.example");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!(".env.example line is not NAME=value: {l}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn env_example_loads_cleanly_and_targets_the_local_stack() {
    let vars = env_example();
    let config = Config::load(LoadOptions {
        file: None,
        overrides: Vec::new(),
        env: EnvVars::from_pairs(vars),
    })
    .unwrap_or_else(|e| panic!(".env.example does not load: {e}"));
    assert_eq!(config.kafka.brokers, ["localhost:9092"]);
    assert_eq!(config.schema_registry.url, ["http://localhost:8081"]);
    assert_eq!(config.source.topics, ["kbridge-input"]);
    assert_eq!(config.consumer.group_id, "kbridge");
    // Empty values are unset: every other key keeps its built-in default.
    assert_eq!(config.producer, Config::default().producer);
    assert_eq!(config.sink, Config::default().sink);
}

#[test]
fn env_example_names_every_variable_of_the_reference() {
    let listed: BTreeSet<String> = env_example().into_iter().map(|(k, _)| k).collect();
    let reference = reference_markdown();
    // The "Environment" column (the fourth) of every key row.
    let documented: BTreeSet<String> = reference
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|row| row.split(" | ").nth(3))
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .map(str::to_string)
        .chain(RESERVED_ENV_VARS.iter().map(|s| s.to_string()))
        .collect();
    assert!(
        documented.contains("KBRIDGE_KAFKA__BROKERS") && documented.contains("KAFKA_SASL_PASSWORD"),
        "the reference table changed shape: {documented:?}"
    );
    let missing: Vec<_> = documented.difference(&listed).collect();
    assert!(missing.is_empty(), ".env.example lacks {missing:?}");
}
