//! `kbridge test`: the configured transforms on sample records, compared
//! with expected ones, through the real binary (no Kafka, no registry).

use std::path::Path;
use std::process::{Command, Output};

fn kbridge(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kbridge"))
        .args(args)
        .env_clear()
        .env("NO_COLOR", "1")
        .current_dir(cwd)
        .output()
        .expect("run kbridge")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SCHEMA: &str = r#"{"type":"record","name":"Reading","namespace":"test","fields":[
  {"name":"id","type":"long"},
  {"name":"user","type":"string"},
  {"name":"value","type":"double"},
  {"name":"unit","type":{"type":"enum","name":"Unit","symbols":["BPM","KG"]}},
  {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"home","type":["null",{"type":"record","name":"Place","fields":[{"name":"city","type":"string"}]}],"default":null}
]}"#;

const PIPELINE: &str = r#"
[source]
topics = ["readings"]

[sink]
topic = "{topic}.clean"

[codec.value]
format = "avro-confluent"
schema_file = "reading.avsc"

[logging]
level = "warn"

[[transforms]]
type = "filter"
drop = "value.value < 0.0"

[[transforms]]
type = "insert_field"
field = "source"
from = "topic"

[[transforms]]
type = "set_timestamp"
field = "ts"

[[transforms]]
type = "set_key"
field = "user"

[[transforms]]
type = "cast"
fields = { id = "string" }

[[transforms]]
type = "route"
topic = "readings-{home.city}"
when = "value.home != null"
"#;

const INPUT: &str = r#"# one line per record
{"id":1,"user":"u-1","value":72.5,"unit":"BPM","ts":"2026-01-01T00:00:00Z","home":null}
{"id":2,"user":"u-2","value":-1.0,"unit":"BPM","ts":1767225600000,"home":null}

{"@value":{"id":3,"user":"u-3","value":80,"unit":"KG","ts":1767225601000,"home":{"city":"Berlin"}},"@headers":{"trace":"t-3"},"@topic":"readings"}
{"@value":{"id":4,"user":"u-4","value":1,"unit":"KG","ts":1767225602000,"home":{"city":"Bad Tölz"}}}
"#;

/// What a user writes: values in their natural form (numbers where the
/// output has doubles or timestamps are fine), only the metadata they care
/// about.
const EXPECTED: &str = r#"{"id":"1","user":"u-1","value":72.5,"unit":"BPM","ts":"2026-01-01T00:00:00Z","home":null,"source":"readings"}
{"@topic":"readings-Berlin","@key":"u-3","@headers":{"trace":"t-3"},"@timestamp":1767225601000,"@value":{"id":"3","user":"u-3","value":80,"unit":"KG","ts":1767225601000,"home":{"city":"Berlin"},"source":"readings"}}
{"@error":"`readings-Bad Tölz` is not a valid topic name"}
"#;

fn setup(dir: &Path) {
    std::fs::write(dir.join("reading.avsc"), SCHEMA).unwrap();
    std::fs::write(dir.join("pipeline.toml"), PIPELINE).unwrap();
    std::fs::write(dir.join("sample.jsonl"), INPUT).unwrap();
}

#[test]
fn matching_outputs_pass() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    std::fs::write(dir.path().join("expected.jsonl"), EXPECTED).unwrap();
    let out = kbridge(
        &[
            "test",
            "pipeline.toml",
            "--input",
            "sample.jsonl",
            "--expect",
            "expected.jsonl",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout),
        "✓ 3 expected records match (4 input records: 2 written, 1 filtered, 1 failed)\n"
    );
}

#[test]
fn a_mismatch_fails_with_a_readable_diff() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let wrong = EXPECTED
        .replace(r#""unit":"BPM""#, r#""unit":"KG""#)
        .replace("readings-Berlin", "readings-berlin")
        .replace(
            r#""@timestamp":1767225601000,"#,
            r#""@timestamp":"2026-01-01T00:00:00Z","#,
        )
        + "{\"id\":\"5\"}\n";
    std::fs::write(dir.path().join("expected.jsonl"), &wrong).unwrap();
    let out = kbridge(
        &[
            "test",
            "pipeline.toml",
            "-i",
            "sample.jsonl",
            "-e",
            "expected.jsonl",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "✗ output 1 (input line 2, expected line 1):");
    assert_eq!(lines[1], r#"    @value.unit: expected "KG", got "BPM""#);
    assert!(
        lines[2].starts_with(r#"  expected: {"id":"1","user":"u-1","value":72.5,"unit":"KG""#),
        "{stdout}"
    );
    assert!(
        lines[3].starts_with(
            r#"  actual:   {"@value":{"id":"1","user":"u-1","value":72.5,"unit":"BPM""#
        ),
        "{stdout}"
    );
    assert_eq!(lines[4], "✗ output 2 (input line 5, expected line 2):");
    assert_eq!(
        lines[5],
        r#"    @topic: expected "readings-berlin", got "readings-Berlin""#
    );
    assert_eq!(
        lines[6],
        r#"    @timestamp: expected "2026-01-01T00:00:00Z", got "2026-01-01T00:00:01.000Z""#
    );
    assert!(
        lines[9].starts_with(r#"✗ output 4: missing (expected line 4: {"id":"5"})"#),
        "{stdout}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("✗ 3 of 4 expected records differ (4 input records: 2 written, 1 filtered, 1 failed)")
    );
}

#[test]
fn without_expectations_the_outputs_are_printed_and_update_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let out = kbridge(&["test", "pipeline.toml", "-i", "sample.jsonl"], dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let docs: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 3);
    assert_eq!(
        docs[0]["@topic"], "readings.clean",
        "the sink topic template"
    );
    assert_eq!(docs[0]["@key"], "u-1");
    assert_eq!(docs[0]["@timestamp"], "2026-01-01T00:00:00.000Z");
    assert_eq!(docs[0]["@value"]["ts"], "2026-01-01T00:00:00.000Z");
    assert_eq!(docs[0]["@value"]["id"], "1");
    assert_eq!(docs[1]["@topic"], "readings-Berlin");
    assert!(
        docs[2]["@error"]
            .as_str()
            .unwrap()
            .starts_with("transforms[5] (route): ")
    );
    assert_eq!(
        text(&out.stderr).trim_end(),
        "4 input records: 2 written, 1 filtered, 1 failed"
    );

    let out = kbridge(
        &[
            "test",
            "pipeline.toml",
            "-i",
            "sample.jsonl",
            "-e",
            "exp.jsonl",
            "--update",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(dir.path().join("exp.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 3);
    let out = kbridge(
        &[
            "test",
            "pipeline.toml",
            "-i",
            "sample.jsonl",
            "-e",
            "exp.jsonl",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out.stdout));
}

#[test]
fn schemaless_json_records() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[codec.value]\nformat = 'json'\n[[transforms]]\ntype = 'flatten'\n[[transforms]]\ntype = 'filter'\nkeep = 'value.n > 1'\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("in.jsonl"),
        "{\"n\": 1, \"a\": {\"b\": true}}\n{\"n\": 2, \"a\": {\"b\": false}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("out.jsonl"),
        "{\"n\": 2.0, \"a_b\": false}\n",
    )
    .unwrap();
    let out = kbridge(
        &["test", "p.toml", "-i", "in.jsonl", "-e", "out.jsonl"],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout),
        "✓ 1 expected records match (2 input records: 1 written, 1 filtered, 0 failed)\n"
    );
}

#[test]
fn setup_problems_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    // an Avro format without a schema
    std::fs::write(
        dir.path().join("noschema.toml"),
        "[[transforms]]\ntype = 'flatten'\n",
    )
    .unwrap();
    let out = kbridge(&["test", "noschema.toml", "-i", "sample.jsonl"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim_end(),
        "error: the value format is avro-confluent but no schema is known: pass --schema FILE.avsc or set codec.value.schema_file"
    );
    // a transform problem
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[transforms]]\ntype = 'filter'\nkeep = 'vlaue.x'\n",
    )
    .unwrap();
    let out = kbridge(
        &[
            "test",
            "bad.toml",
            "--schema",
            "reading.avsc",
            "-i",
            "sample.jsonl",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("transforms[0].keep (`filter`): expression `vlaue.x` uses unknown variable `vlaue`; did you mean `value`?"),
        "{}",
        text(&out.stderr)
    );
    // an input that does not fit the schema names its line
    std::fs::write(dir.path().join("bad.jsonl"), "\n{\"id\": \"x\"}\n").unwrap();
    let out = kbridge(&["test", "pipeline.toml", "-i", "bad.jsonl"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .starts_with("error: input line 2: the value does not fit the input schema: "),
        "{}",
        text(&out.stderr)
    );
    // an unknown record key
    std::fs::write(dir.path().join("typo.jsonl"), "{\"@vaule\": {}}\n").unwrap();
    let out = kbridge(&["test", "pipeline.toml", "-i", "typo.jsonl"], dir.path());
    assert!(
        text(&out.stderr).contains("typo.jsonl:1: unknown key `@vaule`"),
        "{}",
        text(&out.stderr)
    );
}
