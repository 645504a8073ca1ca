//! `Transform::value_fields` of every built-in transform: the exact
//! top-level fields each names, `None` where it may use the whole value,
//! and a check that running on a record cut down to the named fields gives
//! the same output as running on the whole record (the pipeline's partial
//! decode relies on it).

mod common;

use common::{INPUT, avro_bytes, build, record, run, schema};
use kbridge_codec::Value;
use kbridge_pipeline::{PipelineRecord, Transform};

/// The transform the keys `toml` declare.
fn one(toml: &str) -> Vec<Box<dyn Transform>> {
    build(&format!("[[transforms]]\n{toml}"))
}

/// The one transform `toml` declares, and its answer.
fn fields_of(toml: &str) -> Option<Vec<String>> {
    let t = one(toml);
    assert_eq!(t.len(), 1, "{toml}");
    t[0].value_fields()
}

/// Every transform's fields together, as the pipeline unions them.
fn union_of(transforms: &[Box<dyn Transform>]) -> Option<Vec<String>> {
    let mut all = Vec::new();
    for t in transforms {
        all.extend(t.value_fields()?);
    }
    all.sort();
    all.dedup();
    Some(all)
}

/// The top-level fields of `v` named (or not) in `names`, in order.
fn split<'a>(v: &Value<'a>, names: &[String], named: bool) -> Vec<(String, Value<'a>)> {
    v.as_fields()
        .map(|f| {
            f.iter()
                .filter(|f| names.iter().any(|n| *n == *f.name) == named)
                .map(|f| (f.name.to_string(), f.value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn meta(r: &PipelineRecord<'_>) -> String {
    format!(
        "key {:?} headers {:?} topic {:?} partition {:?} timestamp {:?}",
        r.key, r.headers, r.topic, r.partition, r.timestamp
    )
}

/// Runs `toml` on the whole test record and on the record cut down to
/// `names`: the outcomes must agree (same records, errors, metadata), the
/// cut run must produce only named fields, and the whole run must equal
/// the cut run's fields plus the input's other fields unchanged.
fn agrees(toml: &str, names: &[String]) -> Result<(), String> {
    let schema = schema();
    let bytes = avro_bytes(&schema, INPUT);
    let whole = schema.decode(&bytes).map_err(|e| e.to_string())?;
    let mut cut = whole.clone();
    if let Some(f) = cut.as_fields_mut() {
        f.0.retain(|f| names.iter().any(|n| *n == *f.name));
    }
    let full_out = run(&mut one(toml), record(whole.clone()));
    let cut_out = run(&mut one(toml), record(cut));
    let (full_out, cut_out) = match (full_out, cut_out) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) if a == b => return Ok(()),
        (a, b) => {
            return Err(format!(
                "whole record: {:?}; cut record: {:?}",
                a.map(|r| r.len()),
                b.map(|r| r.len())
            ));
        }
    };
    if full_out.len() != cut_out.len() {
        return Err(format!(
            "{} records from the whole record, {} from the cut one",
            full_out.len(),
            cut_out.len()
        ));
    }
    let others_in = split(&whole, names, false);
    for (a, b) in full_out.iter().zip(&cut_out) {
        if meta(a) != meta(b) {
            return Err(format!("{} != {}", meta(a), meta(b)));
        }
        if split(&b.value, names, false) != Vec::new() {
            return Err("the cut run produced fields it did not name".into());
        }
        if split(&a.value, names, false) != others_in {
            return Err("fields it did not name changed".into());
        }
        if split(&a.value, names, true) != split(&b.value, names, true) {
            return Err(format!(
                "named fields differ: {:?} != {:?}",
                split(&a.value, names, true),
                split(&b.value, names, true)
            ));
        }
    }
    Ok(())
}

#[test]
fn every_transform_names_exactly_the_fields_it_touches() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"type = "filter"
               keep = "value.value > 70.0 && has(value.email)""#,
            &["email", "value"],
        ),
        (
            r#"type = "filter"
               drop = "value.seq > 5"
               when = "value.user == 'u-1'""#,
            &["seq", "user"],
        ),
        (
            r#"type = "filter"
               keep = "topic == 'readings' && key == 'k1' && headers['h'] == 'v'""#,
            &[],
        ),
        (
            r#"type = "insert_field"
               field = "source"
               value = "x""#,
            &["source"],
        ),
        (
            r#"type = "insert_field"
               field = "src_topic"
               from = "topic"
               when = "value.ok""#,
            &["ok", "src_topic"],
        ),
        (
            r#"type = "insert_field"
               field = "k"
               from = "key""#,
            &["k"],
        ),
        (
            r#"type = "insert_field"
               field = "label"
               expression = "value.user + '-' + value.device.model"
               schema = "string""#,
            &["device", "label", "user"],
        ),
        (
            r#"type = "insert_field"
               field = "device.fw"
               value = "1.2""#,
            &["device"],
        ),
        (
            r#"type = "insert_field"
               field = "value"
               expression = "value.value * 2.0"
               schema = "double""#,
            &["value"],
        ),
        (
            r#"type = "rename_fields"
               renames = { user = "who", "device.model" = "kind" }"#,
            &["device", "user", "who"],
        ),
        (
            r#"type = "rename_fields"
               renames = { user = "email" }"#,
            &["email", "user"],
        ),
        (
            r#"type = "drop_fields"
               fields = ["email", "device.battery", 'tags["tz"]']"#,
            &["device", "email", "tags"],
        ),
        (
            r#"type = "mask_fields"
               fields = ["email", "user", "device.model"]
               mode = "hash"
               salt = "s""#,
            &["device", "email", "user"],
        ),
        (
            r#"type = "cast"
               fields = { seq = "string", "device.battery" = "long" }"#,
            &["device", "seq"],
        ),
        (
            r#"type = "set_key"
               field = "device.model""#,
            &["device"],
        ),
        (
            r#"type = "set_key"
               fields = ["id", "user"]
               when = "has(value.email)""#,
            &["email", "id", "user"],
        ),
        (
            r#"type = "set_key"
               expression = "value.user + topic""#,
            &["user"],
        ),
        (
            r#"type = "set_headers"
               headers = { src = "{$topic}", dev = "{device.model}-{$key}", u = { expression = "value.user" }, c = "const" }"#,
            &["device", "user"],
        ),
        (
            r#"type = "drop_headers"
               headers = ["h", "x-*"]"#,
            &[],
        ),
        (
            r#"type = "drop_headers"
               headers = ["h"]
               when = "value.ok""#,
            &["ok"],
        ),
        (
            r#"type = "route"
               topic = "readings-{unit}""#,
            &["unit"],
        ),
        (
            r#"type = "route"
               regex = "read(.*)"
               replacement = "r$1""#,
            &[],
        ),
        (
            r#"type = "route"
               regex = "u-(.*)"
               replacement = "user-$1"
               field = "user""#,
            &["user"],
        ),
        (
            r#"type = "route"
               timestamp_pattern = "r-{$topic}-%Y""#,
            &[],
        ),
        (
            r#"type = "route"
               expression = "'r-' + value.user""#,
            &["user"],
        ),
        (
            r#"type = "set_timestamp"
               field = "ts""#,
            &["ts"],
        ),
    ];
    for (toml, want) in cases {
        let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(fields_of(toml), Some(want.clone()), "{toml}");
        if let Err(e) = agrees(toml, &want) {
            panic!("{toml}: {e}");
        }
    }
}

#[test]
fn transforms_that_may_use_the_whole_value_answer_none() {
    for toml in [
        r#"type = "keep_fields"
           fields = ["id"]"#,
        r#"type = "flatten""#,
        r#"type = "filter"
           keep = "size(value) > 3""#,
        r#"type = "filter"
           keep = "value['user'] == 'u-1'""#,
        r#"type = "filter"
           keep = "value.all(k, k != '')""#,
        r#"type = "drop_headers"
           headers = ["h"]
           when = "value != null""#,
        r#"type = "insert_field"
           field = "copy"
           expression = "value"
           schema = "string""#,
        r#"type = "set_key"
           expression = "value""#,
        r#"type = "set_headers"
           headers = { all = { expression = "string(size(value))" } }"#,
        r#"type = "route"
           expression = "value['user']""#,
    ] {
        assert_eq!(fields_of(toml), None, "{toml}");
    }
}

/// The checker above catches an answer that names too few fields.
#[test]
fn too_few_fields_change_the_output() {
    for (toml, names) in [
        (
            r#"type = "keep_fields"
               fields = ["id"]"#,
            vec!["id".to_string()],
        ),
        (
            r#"type = "filter"
               keep = "size(value) > 3""#,
            vec![],
        ),
        (
            r#"type = "rename_fields"
               renames = { user = "email" }"#,
            vec!["user".to_string()],
        ),
    ] {
        assert!(agrees(toml, &names).is_err(), "{toml}");
    }
}

/// The bench pipeline: a filter, a computed field and a processing time.
#[test]
fn the_bench_pipeline_decodes_three_fields() {
    let transforms = build(
        r#"
        [[transforms]]
        type = "filter"
        drop = "value.value < 0.0"

        [[transforms]]
        type = "insert_field"
        field = "unit"
        expression = "value.unit.upperAscii()"
        schema = "string"

        [[transforms]]
        type = "insert_field"
        field = "processed_at"
        from = "processing_time"
        "#,
    );
    assert_eq!(
        union_of(&transforms),
        Some(vec![
            "processed_at".to_string(),
            "unit".to_string(),
            "value".to_string()
        ])
    );
}
