//! The offline check behind `kbridge schema check --against old.avsc new.avsc`.

use std::error::Error as _;
use std::path::{Path, PathBuf};

use kbridge_registry::compat::{self, CompatError, CompatibilityLevel, IncompatibilityKind};

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/compat")
        .join(file)
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write schema file");
    path
}

#[test]
fn health_out_is_not_a_backward_compatible_version_of_health() {
    let found = compat::check_files(
        CompatibilityLevel::Backward,
        &data("health_out.avsc"),
        &[data("health.avsc")],
    )
    .expect("check");
    let summary: Vec<(&str, &str, Option<usize>)> = found
        .iter()
        .map(|i| (i.kind.as_str(), i.path.as_str(), i.previous_index))
        .collect();
    assert_eq!(
        summary,
        [
            ("NAME_MISMATCH", "/name", Some(0)),
            ("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/15", Some(0))
        ]
    );
}

#[test]
fn transitive_check_indexes_the_against_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = write(
        &dir,
        "v1.avsc",
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}"#,
    );
    let v2 = write(
        &dir,
        "v2.avsc",
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#,
    );
    let new = write(
        &dir,
        "v3.avsc",
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"long"},{"name":"b","type":"string","default":""}]}"#,
    );
    let against = [v1, v2];

    assert!(
        compat::check_files(CompatibilityLevel::Backward, &new, &against)
            .expect("check")
            .is_empty()
    );
    let found =
        compat::check_files(CompatibilityLevel::BackwardTransitive, &new, &against).expect("check");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].is(IncompatibilityKind::TypeMismatch));
    assert_eq!(found[0].path, "/fields/1/type");
    assert_eq!(found[0].previous_index, Some(0));
    assert_eq!(
        found[0].additional_info,
        "reader type: STRING not compatible with writer type: INT"
    );
}

#[test]
fn a_missing_file_is_named_in_the_error() {
    let missing = data("does-not-exist.avsc");
    let err = compat::check_files(
        CompatibilityLevel::Backward,
        &data("health.avsc"),
        std::slice::from_ref(&missing),
    )
    .expect_err("missing file");
    assert!(
        matches!(&err, CompatError::ReadSchemaFile { path, .. } if *path == missing),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("cannot read schema file {}", missing.display())
    );
    let source = err.source().expect("io cause");
    assert!(source.to_string().contains("No such file"), "{source}");
}

#[test]
fn invalid_json_and_invalid_avro_are_named_in_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let not_json = write(&dir, "broken.avsc", r#"{"type": "record", "name": "#);
    let not_avro = write(
        &dir,
        "unknown.avsc",
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"integer"}]}"#,
    );
    let good = data("health.avsc");

    for bad in [&not_json, &not_avro] {
        // As the new schema and as an old one, even at NONE (every file is parsed).
        for err in [
            compat::check_files(
                CompatibilityLevel::Backward,
                bad,
                std::slice::from_ref(&good),
            ),
            compat::check_files(
                CompatibilityLevel::None,
                &good,
                &[good.clone(), bad.clone()],
            ),
        ]
        .map(|r| r.expect_err("bad schema"))
        {
            assert!(
                matches!(&err, CompatError::ParseSchemaFile { path, .. } if path == bad),
                "{err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!("cannot parse avro schema file {}", bad.display())
            );
            assert!(err.source().is_some());
        }
    }
    let err = compat::parse_schema_file(&not_avro).expect_err("unknown type");
    assert!(
        err.source().expect("cause").to_string().contains("integer"),
        "{:?}",
        err.source()
    );
}
