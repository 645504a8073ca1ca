//! Transforms of record metadata: key, headers, topic, timestamp — on Avro
//! and JSON records.

mod common;

use common::{INPUT, Input, avro_bytes, build, record, render, run, schema};
use kbridge_codec::Value;
use kbridge_pipeline::PipelineRecord;
use serde_json::json;

/// One output record's key (as JSON), headers (as text), topic and
/// timestamp.
type Meta = (
    serde_json::Value,
    Vec<(String, Option<String>)>,
    Option<String>,
    Option<i64>,
);

/// Runs `toml` on the test input read as `kind`: the one output record's
/// metadata, or the error.
fn meta(toml: &str, kind: Input) -> Result<Meta, String> {
    let s = schema();
    let bytes = avro_bytes(&s, INPUT);
    let value = match kind {
        Input::Avro => s.decode(&bytes).map_err(|e| e.to_string())?,
        Input::Json => {
            kbridge_codec::json::parse_json(INPUT.as_bytes()).map_err(|e| e.to_string())?
        }
    };
    let mut t = build(toml);
    let out = run(&mut t, record(value))?;
    assert_eq!(out.len(), 1);
    let r: &PipelineRecord<'_> = &out[0];
    let headers = r
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                v.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()),
            )
        })
        .collect();
    Ok((
        render(&r.key, None)?,
        headers,
        r.topic.as_deref().map(str::to_string),
        r.timestamp,
    ))
}

fn both(toml: &str) -> [Result<Meta, String>; 2] {
    [meta(toml, Input::Avro), meta(toml, Input::Json)]
}

#[test]
fn set_key_from_a_field_fields_or_an_expression() {
    for r in both("[[transforms]]\ntype = 'set_key'\nfield = 'user'") {
        assert_eq!(r.unwrap().0, json!("u-1"));
    }
    for r in both("[[transforms]]\ntype = 'set_key'\nfields = ['user', 'device.model']") {
        assert_eq!(r.unwrap().0, json!({"user": "u-1", "model": "X2"}));
    }
    for r in both("[[transforms]]\ntype = 'set_key'\nfield = 'id'\nformat = 'string'") {
        assert_eq!(r.unwrap().0, json!("7"));
    }
    for r in both("[[transforms]]\ntype = 'set_key'\nfields = ['user', 'seq']\nformat = 'string'") {
        assert_eq!(r.unwrap().0, json!(r#"{"user":"u-1","seq":3}"#));
    }
    for r in both(
        "[[transforms]]\ntype = 'set_key'\nexpression = \"value.user + ':' + string(value.seq)\"",
    ) {
        assert_eq!(r.unwrap().0, json!("u-1:3"));
    }
    for r in both("[[transforms]]\ntype = 'set_key'\nfield = 'home.city'") {
        assert_eq!(r.unwrap().0, json!(null), "a null parent gives a null key");
    }
    for r in both("[[transforms]]\ntype = 'set_key'\nname = 'key-by-owner'\nfield = 'owner'") {
        assert_eq!(
            r.unwrap_err(),
            "transforms[0] `key-by-owner` (set_key): missing field (field `owner`)"
        );
    }
}

#[test]
fn set_and_drop_headers() {
    let toml = r#"
[[transforms]]
type = 'set_headers'
headers = { source = 'kbridge', model = '{device.model}', route = '{$topic}/{$partition}', big = { expression = 'value.value > 50.0' }, h = 'replaced' }
"#;
    for r in both(toml) {
        // TOML tables do not keep key order: compare sorted
        let mut headers = r.unwrap().1;
        headers.sort();
        assert_eq!(
            headers,
            [
                ("big".to_string(), Some("true".to_string())),
                ("h".to_string(), Some("replaced".to_string())),
                ("model".to_string(), Some("X2".to_string())),
                ("route".to_string(), Some("readings/2".to_string())),
                ("source".to_string(), Some("kbridge".to_string())),
            ]
        );
    }
    let toml = r#"
[[transforms]]
type = 'set_headers'
headers = { 'trace-id' = '1', 'trace-span' = '2', keep = 'x' }
[[transforms]]
type = 'drop_headers'
headers = ['h', 'trace-*']
"#;
    for r in both(toml) {
        assert_eq!(r.unwrap().1, [("keep".to_string(), Some("x".to_string()))]);
    }
    for r in both("[[transforms]]\ntype = 'set_headers'\nheaders = { m = '{home.city}' }") {
        assert_eq!(
            r.unwrap_err(),
            "transforms[0] (set_headers): template `{home.city}`: a parent is null (field `home.city`)"
        );
    }
}

#[test]
fn route_by_template_regex_timestamp_and_expression() {
    for r in both("[[transforms]]\ntype = 'route'\ntopic = 'readings-{unit}'") {
        assert_eq!(r.unwrap().2.as_deref(), Some("readings-BPM"));
    }
    for r in both("[[transforms]]\ntype = 'route'\nregex = '(.*)ings'\nreplacement = '$1-v2'") {
        assert_eq!(r.unwrap().2.as_deref(), Some("read-v2"));
    }
    for r in both("[[transforms]]\ntype = 'route'\nregex = 'orders'\nreplacement = 'x'") {
        assert_eq!(r.unwrap().2, None, "no match: topic unchanged");
    }
    for r in both(
        "[[transforms]]\ntype = 'route'\nregex = 'u-(\\d+)'\nreplacement = 'user-$1'\nfield = 'user'",
    ) {
        assert_eq!(r.unwrap().2.as_deref(), Some("user-1"));
    }
    for r in both("[[transforms]]\ntype = 'route'\ntimestamp_pattern = '{$topic}-%Y-%m-%d'") {
        assert_eq!(r.unwrap().2.as_deref(), Some("readings-2023-11-14"));
    }
    let toml = r#"
[[transforms]]
type = 'set_timestamp'
field = 'ts'
[[transforms]]
type = 'route'
timestamp_pattern = 'events-%Y%m%d'
"#;
    for r in both(toml) {
        assert_eq!(
            r.unwrap().2.as_deref(),
            Some("events-20260101"),
            "event time drives the route"
        );
    }
    for r in
        both("[[transforms]]\ntype = 'route'\nexpression = \"value.value > 50.0 ? 'high' : 'low'\"")
    {
        assert_eq!(r.unwrap().2.as_deref(), Some("high"));
    }
    for r in both("[[transforms]]\ntype = 'route'\ntopic = 'readings {user}'") {
        assert_eq!(
            r.unwrap_err(),
            "transforms[0] (route): `readings u-1` is not a valid topic name (letters, digits, `.`, `_`, `-`; at most 249)"
        );
    }
    // an Avro map; a JSON object is a record
    for (r, kind) in both("[[transforms]]\ntype = 'route'\ntopic = 'r-{tags}'")
        .into_iter()
        .zip(["map", "record"])
    {
        assert_eq!(
            r.unwrap_err(),
            format!(
                "transforms[0] (route): template `r-{{tags}}`: value is {kind}, not a scalar (field `tags`)"
            )
        );
    }
}

#[test]
fn set_timestamp_from_fields() {
    // Avro: a timestamp-millis field; JSON: an ISO string
    for r in both("[[transforms]]\ntype = 'set_timestamp'\nfield = 'ts'") {
        assert_eq!(r.unwrap().3, Some(1_767_225_600_000));
    }
    for r in both("[[transforms]]\ntype = 'set_timestamp'\nfield = 'id'\nformat = 'seconds'") {
        assert_eq!(r.unwrap().3, Some(7_000));
    }
    for r in both("[[transforms]]\ntype = 'set_timestamp'\nfield = 'home.city'") {
        assert_eq!(
            r.unwrap_err(),
            "transforms[0] (set_timestamp): the timestamp field is null (field `home.city`)"
        );
    }
    for r in
        both("[[transforms]]\ntype = 'set_timestamp'\nfield = 'home.city'\non_missing = 'keep'")
    {
        assert_eq!(
            r.unwrap().3,
            Some(1_700_000_000_000),
            "the Kafka timestamp stays"
        );
    }
    for r in both("[[transforms]]\ntype = 'set_timestamp'\nfield = 'user'") {
        assert_eq!(
            r.unwrap_err(),
            "transforms[0] (set_timestamp): \"u-1\" is not an ISO 8601 timestamp (field `user`)"
        );
    }
    // strftime patterns, and the Avro logical types converted exactly
    let s = kbridge_codec::AvroSchema::parse(
        r#"{"type":"record","name":"T","fields":[
            {"name":"us","type":{"type":"long","logicalType":"timestamp-micros"}},
            {"name":"d","type":{"type":"int","logicalType":"date"}},
            {"name":"txt","type":"string"}]}"#,
    )
    .unwrap();
    let bytes = avro_bytes(
        &s,
        r#"{"us":1767225600123456,"d":1,"txt":"01/01/2026 10:30"}"#,
    );
    for (toml, want) in [
        ("field = 'us'", 1_767_225_600_123),
        ("field = 'd'", 86_400_000),
        (
            "field = 'txt'\nformat = '%d/%m/%Y %H:%M'",
            1_767_263_400_000,
        ),
    ] {
        let mut t = build(&format!("[[transforms]]\ntype = 'set_timestamp'\n{toml}"));
        let out = run(&mut t, record(s.decode(&bytes).unwrap())).unwrap();
        assert_eq!(out[0].timestamp, Some(want), "{toml}");
    }
}

#[test]
fn metadata_transforms_leave_the_value_alone() {
    let toml = r#"
[[transforms]]
type = 'set_key'
field = 'user'
[[transforms]]
type = 'set_headers'
headers = { a = 'b' }
[[transforms]]
type = 'route'
topic = 'x'
[[transforms]]
type = 'set_timestamp'
field = 'ts'
"#;
    let s = schema();
    let bytes = avro_bytes(&s, INPUT);
    let before = s.decode(&bytes).unwrap();
    let mut t = build(toml);
    let out = run(&mut t, record(before.clone())).unwrap();
    assert_eq!(out[0].value, before);
    let derived = kbridge_transforms::derive_output_schema(&t, &s).unwrap();
    assert_eq!(derived.fingerprint(), s.fingerprint());
    let _: &Value<'_> = &out[0].value;
}
