//! `kbridge dlq inspect` and `kbridge dlq replay` on hand-made dead-letter
//! records (written with the header contract of `kbridge_admin::dlq`):
//! grouping by stage and class, samples, filters, and replays that restore
//! the original key, value and headers exactly.

mod ops_common;

use kbridge_admin::dlq::{ErrorContext, is_error_header, stage};
use kbridge_integration_tests::unique;
use ops_common::{Rec, create_topic, kbridge_async, produce, read_records};
use serde_json::{Value, json};

struct Failure {
    stage: &'static str,
    class: &'static str,
    message: &'static str,
    tenant: &'static str,
}

const FAILURES: &[Failure] = &[
    Failure {
        stage: stage::VALUE_CONVERTER,
        class: "kbridge.codec.avro",
        message: "unknown schema id 99",
        tenant: "acme-eu",
    },
    Failure {
        stage: stage::TRANSFORMATION,
        class: "filter",
        message: "expression failed: no field qty",
        tenant: "globex",
    },
    Failure {
        stage: stage::VALUE_CONVERTER,
        class: "kbridge.codec.avro",
        message: "unknown schema id 99",
        tenant: "acme-eu",
    },
    Failure {
        stage: stage::KEY_CONVERTER,
        class: "kbridge.codec.string",
        message: "invalid utf-8 at byte 1",
        tenant: "acme-us",
    },
    Failure {
        stage: stage::TRANSFORMATION,
        class: "filter",
        message: "expression failed: no field qty",
        tenant: "globex",
    },
    Failure {
        stage: stage::VALUE_CONVERTER,
        class: "kbridge.codec.avro",
        message: "unknown schema id 99",
        tenant: "acme-eu",
    },
];

/// The original record i: non-UTF-8 bytes in key and value, two headers.
fn original(i: usize) -> Rec {
    let mut r = Rec {
        partition: 0,
        offset: -1,
        key: Some(vec![b'k', 0xff, i as u8]),
        value: Some(vec![0, 0, 0, 0, 99, 0xfe, i as u8]),
        headers: Vec::new(),
    };
    r = r.header("tenant", FAILURES.get(i).map_or("none", |f| f.tenant));
    r.headers.push(("trace".into(), Some(vec![0xc3, i as u8])));
    r
}

/// Writes the six failures plus one record without error headers.
fn write_dlq(topic: &str) {
    let mut records = Vec::new();
    for (i, f) in FAILURES.iter().enumerate() {
        let ctx = ErrorContext {
            topic: Some("orders".into()),
            partition: Some(2),
            offset: Some(10 + i as i64),
            stage: Some(f.stage.into()),
            class_name: Some(f.class.into()),
            exception_class: Some("DecodeDatum".into()),
            message: Some(f.message.into()),
            schema_id: Some(99),
            subject: Some("orders-value".into()),
            attempt: Some(1),
        };
        let mut r = original(i);
        for (name, value) in ctx.to_headers() {
            r = r.header(name, &value);
        }
        records.push(r);
    }
    records.push(original(FAILURES.len()));
    produce(topic, &records);
}

fn groups(summary: &Value) -> Vec<(String, String, u64, usize)> {
    summary["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["stage"].as_str().unwrap().to_string(),
                g["class_name"].as_str().unwrap().to_string(),
                g["count"].as_u64().unwrap(),
                g["samples"].as_array().unwrap().len(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_groups_by_stage_and_class_with_samples() {
    let dlq = unique("ops-dlq");
    create_topic(&dlq, 1).await;
    write_dlq(&dlq);

    let run = kbridge_async(
        &["dlq", "inspect", &dlq, "--json", "--samples", "2"],
        None,
        None,
    )
    .await;
    run.assert_ok();
    let s = run.json();
    assert_eq!(s["topic"], dlq.as_str());
    assert_eq!(s["total"], 7);
    assert_eq!(s["without_context"], 1);
    let g = |a: &str, b: &str, n: u64, k: usize| (a.to_string(), b.to_string(), n, k);
    assert_eq!(
        groups(&s),
        [
            g("VALUE_CONVERTER", "kbridge.codec.avro", 3, 2),
            g("TRANSFORMATION", "filter", 2, 2),
            g("(none)", "(none)", 1, 1),
            g("KEY_CONVERTER", "kbridge.codec.string", 1, 1),
        ]
    );
    let first = &s["groups"][0];
    assert_eq!(first["source_topics"], json!({"orders": 3}));
    let sample = &first["samples"][1];
    assert_eq!(sample["partition"], 0);
    assert_eq!(sample["offset"], 2);
    assert_eq!(
        sample["error"],
        json!({
            "topic": "orders", "partition": 2, "offset": 12,
            "stage": "VALUE_CONVERTER", "class_name": "kbridge.codec.avro",
            "exception_class": "DecodeDatum", "message": "unknown schema id 99",
            "schema_id": 99, "subject": "orders-value", "attempt": 1,
        })
    );

    let run = kbridge_async(&["dlq", "inspect", &dlq], None, None).await;
    run.assert_ok();
    assert!(
        run.stdout.starts_with(&format!(
            "{dlq}: 7 record(s) in 4 group(s), 1 without error headers\n"
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("orders[2]@13"), "{}", run.stdout);
    assert!(
        run.stdout.contains("unknown schema id 99"),
        "{}",
        run.stdout
    );

    kbridge_async(&["dlq", "inspect", &format!("{dlq}-nope")], None, None)
        .await
        .assert_fails_with(&format!("topic '{dlq}-nope' does not exist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_restores_originals_and_honours_filters() {
    let dlq = unique("ops-dlq-src");
    let (to_stage, to_filtered) = (unique("ops-dlq-to"), unique("ops-dlq-to"));
    create_topic(&dlq, 1).await;
    create_topic(&to_stage, 1).await;
    create_topic(&to_filtered, 1).await;
    write_dlq(&dlq);

    // by stage: the three VALUE_CONVERTER records, exactly as they were
    let run = kbridge_async(
        &[
            "dlq",
            "replay",
            &dlq,
            "--to",
            &to_stage,
            "--stage",
            "value_converter",
            "--json",
        ],
        None,
        None,
    )
    .await;
    run.assert_ok();
    assert_eq!(
        run.json(),
        json!({"from": dlq, "to": to_stage, "dry_run": false, "read": 7, "replayed": 3, "skipped": 4})
    );
    let replayed = read_records(&to_stage, 1, 3);
    let expected: Vec<Rec> = [0, 2, 5].iter().map(|&i| original(i)).collect();
    for (got, want) in replayed.iter().zip(&expected) {
        assert_eq!(got.key, want.key);
        assert_eq!(got.value, want.value);
        assert_eq!(got.headers, want.headers);
        assert!(got.headers.iter().all(|(n, _)| !is_error_header(n)));
    }

    // a dry run counts and writes nothing
    let run = kbridge_async(
        &[
            "dlq",
            "replay",
            &dlq,
            "--to",
            &to_filtered,
            "--header-match",
            "tenant=^acme-",
            "--dry-run",
            "--json",
        ],
        None,
        None,
    )
    .await;
    run.assert_ok();
    assert_eq!(run.json()["replayed"], 4);

    // class and message regex: the two filter failures; the topic then
    // holds exactly those two (nothing from the dry run)
    let run = kbridge_async(
        &[
            "dlq",
            "replay",
            &dlq,
            "--to",
            &to_filtered,
            "--class",
            "filter",
            "--match",
            "no field \\w+",
        ],
        None,
        None,
    )
    .await;
    run.assert_ok();
    assert_eq!(
        run.stdout,
        format!(
            "replayed 2 of 7 record(s) from {dlq} to {to_filtered} (5 left out by the filter)\n"
        )
    );
    let filtered = kbridge_async(
        &[
            "consume",
            &to_filtered,
            "--no-follow",
            "--value-format",
            "bytes",
        ],
        None,
        None,
    )
    .await;
    filtered.assert_ok();
    let lines = filtered.json_lines();
    assert_eq!(lines.len(), 2, "{filtered:#?}");
    for line in &lines {
        assert_eq!(line["headers"][0], json!(["tenant", "globex"]));
        assert_eq!(line["headers"].as_array().unwrap().len(), 2);
    }

    kbridge_async(
        &["dlq", "replay", &dlq, "--to", &format!("{dlq}-nope")],
        None,
        None,
    )
    .await
    .assert_fails_with(&format!("topic '{dlq}-nope' does not exist"));
    kbridge_async(
        &["dlq", "replay", &dlq, "--to", &to_filtered, "--match", "("],
        None,
        None,
    )
    .await
    .assert_fails_with("invalid regular expression");
}
