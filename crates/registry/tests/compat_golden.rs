//! Differential check against a reference implementation: 400 random
//! reader/writer pairs whose verdicts and incompatibility kinds were computed
//! by Apache Avro's Python `avro.compatibility` (a port of Avro Java's
//! `SchemaCompatibility`); see `tests/data/compat/gen_python_golden.py`.

use std::collections::BTreeSet;

use apache_avro::Schema;
use kbridge_registry::compat::{self, Incompatibility, IncompatibilityKind};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Pair {
    reader: Value,
    writer: Value,
    compatible: bool,
    kinds: BTreeSet<String>,
}

/// The kind Avro Java reports for `found`. The one documented difference: a
/// reader field missing from the writer, without a default, whose type is an
/// enum with a default symbol is a TYPE_MISMATCH (enum vs the writer record)
/// in Avro Java and a READER_FIELD_MISSING_DEFAULT_VALUE in kbridge.
fn java_kind(found: &Incompatibility, reader: &Value) -> String {
    let enum_with_default = reader
        .pointer(&found.path)
        .and_then(|field| field.get("type"))
        .is_some_and(|ty| {
            ty.get("type") == Some(&Value::from("enum")) && ty.get("default").is_some()
        });
    if found.is(IncompatibilityKind::ReaderFieldMissingDefaultValue) && enum_with_default {
        IncompatibilityKind::TypeMismatch.as_str().to_owned()
    } else {
        found.kind.clone()
    }
}

#[test]
fn agrees_with_apache_avro_python_on_random_pairs() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/compat/python_avro_golden.json"
    );
    let text = std::fs::read_to_string(path).expect("golden file");
    let pairs: Vec<Pair> = serde_json::from_str(&text).expect("golden json");
    assert!(pairs.len() >= 400, "{} pairs", pairs.len());
    assert!(pairs.iter().any(|p| p.compatible) && pairs.iter().any(|p| !p.compatible));

    let mut disagreements = Vec::new();
    for (i, pair) in pairs.iter().enumerate() {
        let reader = Schema::parse(&pair.reader).unwrap_or_else(|e| panic!("pair {i} reader: {e}"));
        let writer = Schema::parse(&pair.writer).unwrap_or_else(|e| panic!("pair {i} writer: {e}"));
        let found = compat::check_reader_writer(&reader, &writer);
        let kinds: BTreeSet<String> = found.iter().map(|f| java_kind(f, &pair.reader)).collect();
        if found.is_empty() != pair.compatible || kinds != pair.kinds {
            disagreements.push(format!(
                "pair {i}: avro says compatible={} {:?}, kbridge says {:#?}\n reader {}\n writer {}",
                pair.compatible, pair.kinds, found, pair.reader, pair.writer
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
