//! The log lines operators grep for: one structured WARN per DLQ record.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kbridge_metrics::events::{DeadLettered, ErrorAction, ErrorRecorded, TransactionAborted};
use kbridge_metrics::{Metrics, OtlpOptions};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("decode failed at byte 5")]
struct Decode {
    #[source]
    source: UnknownSchemaId,
}

#[derive(Debug, thiserror::Error)]
#[error("unknown schema id 7")]
struct UnknownSchemaId;

fn text_lines(f: impl FnOnce()) -> String {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .without_time()
        .with_ansi(false)
        .with_target(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    out.text()
}

#[test]
fn a_dead_lettered_record_logs_one_warn_line_with_its_fields() {
    let metrics = Metrics::disabled();
    let err = Decode {
        source: UnknownSchemaId,
    };
    let out = text_lines(|| {
        metrics.emit(DeadLettered {
            topic: "orders",
            partition: 3,
            offset: 41,
            stage: "decode",
            class: "UnknownSchemaId",
            subject: Some("orders-value"),
            schema_id: Some(7),
            reason: &err,
        });
    });
    assert_eq!(
        out,
        " WARN record sent to dead-letter queue: decode failed at byte 5: unknown schema id 7 \
         topic=\"orders\" partition=3 offset=41 stage=\"decode\" class=\"UnknownSchemaId\" \
         subject=\"orders-value\" schema_id=7\n"
    );
}

#[test]
fn retried_errors_warn_and_fatal_errors_log_at_error() {
    let metrics = Metrics::disabled();
    let err = std::io::Error::other("broker transport failure");
    let out = text_lines(|| {
        for action in [ErrorAction::Retry, ErrorAction::Stop] {
            metrics.emit(ErrorRecorded {
                stage: "sink",
                class: "Produce",
                action,
                topic: Some("orders.avro"),
                partition: None,
                offset: None,
                error: &err,
            });
        }
        metrics.emit(TransactionAborted {
            duration: Duration::from_millis(250),
            records: 12,
            reason: &err,
        });
    });
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            " WARN broker transport failure topic=\"orders.avro\" stage=\"sink\" class=\"Produce\" action=\"retry\"",
            "ERROR broker transport failure topic=\"orders.avro\" stage=\"sink\" class=\"Produce\" action=\"stop\"",
            " WARN transaction aborted: broker transport failure records=12 duration_ms=250.0",
        ]
    );
}

#[test]
fn json_lines_carry_the_fields_as_top_level_keys() {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(move || writer.clone())
        .finish();
    let metrics = Metrics::disabled();
    let err = UnknownSchemaId;
    tracing::subscriber::with_default(subscriber, || {
        metrics.emit(DeadLettered {
            topic: "orders",
            partition: 3,
            offset: 41,
            stage: "decode",
            class: "UnknownSchemaId",
            subject: None,
            schema_id: None,
            reason: &err,
        });
    });
    let line: serde_json::Value = serde_json::from_str(out.text().trim_end()).unwrap();
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["topic"], "orders");
    assert_eq!(line["partition"], 3);
    assert_eq!(line["offset"], 41);
    assert_eq!(line["stage"], "decode");
    assert_eq!(line["class"], "UnknownSchemaId");
    assert_eq!(
        line["message"],
        "record sent to dead-letter queue: unknown schema id 7"
    );
}

#[test]
fn otlp_header_values_never_reach_debug_output() {
    let mut options = OtlpOptions::new("https://collector:4318/v1/metrics");
    options
        .headers
        .insert("authorization".into(), "Bearer s3cr3t-token".into());
    let debug = format!("{options:?}");
    assert!(debug.contains("authorization"), "{debug}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
}
