//! Logical types (exact), JSON in both styles, errors naming the field
//! path, and the value-editing API.

use std::borrow::Cow;

use kbridge_codec::{
    AvroSchema, CodecError, Decimal, Duration, JsonStyle, Path, Record, Value, json,
};

const LOGICAL: &str = r#"{"type":"record","name":"L","fields":[
  {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":38,"scale":4}},
  {"name":"decf","type":{"type":"fixed","name":"D","size":6,"logicalType":"decimal","precision":12,"scale":2}},
  {"name":"id","type":{"type":"string","logicalType":"uuid"}},
  {"name":"idf","type":{"type":"fixed","name":"U","size":16,"logicalType":"uuid"}},
  {"name":"day","type":{"type":"int","logicalType":"date"}},
  {"name":"tm","type":{"type":"int","logicalType":"time-millis"}},
  {"name":"tu","type":{"type":"long","logicalType":"time-micros"}},
  {"name":"ms","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"us","type":{"type":"long","logicalType":"timestamp-micros"}},
  {"name":"ns","type":{"type":"long","logicalType":"timestamp-nanos"}},
  {"name":"lms","type":{"type":"long","logicalType":"local-timestamp-millis"}},
  {"name":"lus","type":{"type":"long","logicalType":"local-timestamp-micros"}},
  {"name":"lns","type":{"type":"long","logicalType":"local-timestamp-nanos"}},
  {"name":"dur","type":{"type":"fixed","name":"Du","size":12,"logicalType":"duration"}},
  {"name":"maybe","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null}]}"#;

const NATURAL: &str = r#"{"dec":"-123456789012345678901234567890.1234","decf":"-0.05",
 "id":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","idf":"00112233-4455-6677-8899-aabbccddeeff",
 "day":"1969-12-31","tm":"12:30:05.250","tu":"23:59:59.999999",
 "ms":"2026-01-01T00:00:00.123Z","us":"1969-12-31T23:59:59.999999Z","ns":"2026-01-01T00:00:00.000000001Z",
 "lms":"2026-06-30T08:15:00.001","lus":"2000-02-29T00:00:00.000001","lns":"1970-01-01T00:00:00.000000000",
 "dur":{"months":1,"days":2,"millis":3},"maybe":"2026-01-01T00:00:00.000Z"}"#;

#[test]
fn logical_types_round_trip_exactly_through_natural_json() {
    let s = AvroSchema::parse(LOGICAL).unwrap();
    let v = s.value_from_json(NATURAL, JsonStyle::Natural).unwrap();
    match v.get("dec") {
        Some(Value::Decimal(d)) => {
            assert_eq!(d.scale, 4);
            assert_eq!(d.to_string(), "-123456789012345678901234567890.1234");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(v.get("day"), Some(&Value::Date(-1)));
    assert_eq!(v.get("tm"), Some(&Value::TimeMillis(45_005_250)));
    assert_eq!(
        v.get("ms"),
        Some(&Value::TimestampMillis(1_767_225_600_123))
    );
    assert_eq!(v.get("us"), Some(&Value::TimestampMicros(-1)));
    assert_eq!(
        v.get("ns"),
        Some(&Value::TimestampNanos(1_767_225_600_000_000_001))
    );
    assert_eq!(
        v.get("lms"),
        Some(&Value::LocalTimestampMillis(1_782_807_300_001))
    );
    assert_eq!(
        v.get("dur"),
        Some(&Value::Duration(Duration {
            months: 1,
            days: 2,
            millis: 3
        }))
    );
    assert_eq!(
        v.get("maybe"),
        Some(&Value::TimestampMillis(1_767_225_600_000))
    );

    let mut bin = Vec::new();
    s.encode(&v, &mut bin).unwrap();
    let back = s.decode(&bin).unwrap();
    assert_eq!(back, v);
    // fixed decimal: 6 bytes, sign-extended -5
    let mut j = Vec::new();
    s.write_json(&back, JsonStyle::Natural, &mut j).unwrap();
    let got: serde_json::Value = serde_json::from_slice(&j).unwrap();
    let want: serde_json::Value = serde_json::from_str(NATURAL).unwrap();
    assert_eq!(got, want);
}

#[test]
fn avro_json_style_wraps_unions_and_uses_underlying_types() {
    let s = AvroSchema::parse(LOGICAL).unwrap();
    let v = s.value_from_json(NATURAL, JsonStyle::Natural).unwrap();
    let mut j = Vec::new();
    s.write_json(&v, JsonStyle::Avro, &mut j).unwrap();
    let got: serde_json::Value = serde_json::from_slice(&j).unwrap();
    assert_eq!(
        got["maybe"],
        serde_json::json!({"long": 1_767_225_600_000i64})
    );
    assert_eq!(got["ms"], serde_json::json!(1_767_225_600_123i64));
    assert_eq!(got["day"], serde_json::json!(-1));
    assert_eq!(
        got["decf"],
        serde_json::json!("\u{ff}\u{ff}\u{ff}\u{ff}\u{ff}\u{fb}")
    );
    // and it parses back to the same value
    let again = s
        .value_from_json(std::str::from_utf8(&j).unwrap(), JsonStyle::Avro)
        .unwrap();
    assert_eq!(again, v);
}

#[test]
fn decimals_never_go_through_f64() {
    let d = Decimal::parse("0.1", 20).unwrap();
    assert_eq!(d.to_string(), "0.10000000000000000000");
    let d = Decimal::parse("-99999999999999999999999999.99", 2).unwrap();
    assert_eq!(d.to_string(), "-99999999999999999999999999.99");
    assert!(Decimal::parse("1.005", 2).is_err(), "no silent rounding");
    assert!(Decimal::parse("1e5", 2).is_err());
    let s =
        AvroSchema::parse(r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#)
            .unwrap();
    let mut out = Vec::new();
    // precision is checked where values enter: parsing under the schema
    // and conversions (a decoded value always re-encodes)
    let e = s.encode(&Value::str("123.45"), &mut out).unwrap_err();
    assert!(e.to_string().contains("more than 4 digits"), "{e}");
    let e = s
        .value_from_json(r#""123.45""#, JsonStyle::Natural)
        .unwrap_err();
    assert!(e.to_string().contains("more than 4 digits"), "{e}");
    assert!(
        out.is_empty(),
        "a failed encode leaves the buffer as it was"
    );
    // an integer is scaled exactly
    s.encode(&Value::Int(12), &mut out).unwrap();
    assert_eq!(
        s.decode(&out).unwrap(),
        Value::Decimal(Decimal::parse("12.00", 2).unwrap())
    );
}

#[test]
fn json_errors_name_the_field_path() {
    let s = AvroSchema::parse(
        r#"{"type":"record","name":"R","fields":[
        {"name":"device","type":{"type":"record","name":"D","fields":[{"name":"battery_pct","type":["null","int"]}]}},
        {"name":"tags","type":{"type":"map","values":"string"}},
        {"name":"items","type":{"type":"array","items":"long"}},
        {"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B"]}}]}"#,
    )
    .unwrap();
    let err = |text: &str| match s.value_from_json(text, JsonStyle::Natural) {
        Err(CodecError::DecodeJson { path, reason, .. }) => (path.to_string(), reason),
        other => panic!("{other:?}"),
    };
    let base = r#""tags":{},"items":[],"kind":"A""#;
    let (p, r) = err(&format!(r#"{{"device":{{"battery_pct":"full"}},{base}}}"#));
    assert_eq!(p, "device.battery_pct");
    assert_eq!(r, r#"expected int, found string "full""#);
    let (p, r) = err(r#"{"device":{"battery_pct":1},"tags":{"tz":5},"items":[],"kind":"A"}"#);
    assert_eq!(
        (p.as_str(), r.as_str()),
        (r#"tags["tz"]"#, "expected string, found number 5")
    );
    let (p, _) = err(r#"{"device":{"battery_pct":1},"tags":{},"items":[1,"x"],"kind":"A"}"#);
    assert_eq!(p, "items[1]");
    let (p, r) = err(r#"{"device":{"battery_pct":1},"tags":{},"items":[],"kind":"Z"}"#);
    assert_eq!(p, "kind");
    assert!(r.contains("not a symbol of enum K (A, B)"), "{r}");
    let (p, r) = err(&format!(r#"{{"device":{{}},{base}}}"#));
    assert_eq!(
        (p.as_str(), r.as_str()),
        (
            "device.battery_pct",
            "missing required field (it has no default)"
        )
    );
    let (p, r) = err(&format!(
        r#"{{"device":{{"battery_pct":null}},"color":1,{base}}}"#
    ));
    assert_eq!(
        (p.as_str(), r.as_str()),
        ("color", "record R has no such field")
    );
    // the Avro style wants union wrappers
    let e = s
        .value_from_json(
            &format!(r#"{{"device":{{"battery_pct":3}},{base}}}"#),
            JsonStyle::Avro,
        )
        .unwrap_err();
    assert_eq!(e.path().unwrap().to_string(), "device.battery_pct");
    let ok = s
        .value_from_json(
            &format!(r#"{{"device":{{"battery_pct":{{"int":3}}}},{base}}}"#),
            JsonStyle::Avro,
        )
        .unwrap();
    assert_eq!(
        ok.get("device").unwrap().get("battery_pct"),
        Some(&Value::Int(3))
    );
    // syntax errors give line and column
    match s.value_from_json("{\n  \"device\": ,", JsonStyle::Natural) {
        Err(CodecError::DecodeJson {
            line: 2, column, ..
        }) => assert!(column > 0),
        other => panic!("{other:?}"),
    }
}

#[test]
fn schemaless_json_borrows_and_edits_like_a_record() {
    let text =
        br#"{"device":{"battery_pct":80,"model":"X"},"tags":{"a.b":"1"},"items":[{"v":1.5}]}"#;
    let mut v = json::parse_json(text).unwrap();
    match v.get("device").and_then(|d| d.get("model")) {
        Some(Value::String(Cow::Borrowed(_))) => {}
        other => panic!("not borrowed: {other:?}"),
    }
    let p = |s: &str| Path::parse(s).unwrap();
    assert_eq!(v.get_path(&p("device.battery_pct")), Some(&Value::Long(80)));
    assert_eq!(
        v.get_path(&p(r#"tags["a.b"]"#)).and_then(Value::as_str),
        Some("1")
    );
    assert_eq!(v.get_path(&p("items[0].v")), Some(&Value::Double(1.5)));
    assert_eq!(
        v.set_path(&p("device.battery_pct"), Value::Int(5)).unwrap(),
        Some(Value::Long(80))
    );
    assert_eq!(v.set_path(&p("device.fw"), "1.0".into()).unwrap(), None);
    assert_eq!(v.remove_path(&p("device.model")), Some(Value::str("X")));
    v.rename_path(&p("device"), "dev").unwrap();
    assert!(v.set_path(&p("nope.x"), Value::Null).is_err());
    assert!(v.rename_path(&p("missing"), "m").is_err());
    let out = json::to_json_string(&v, None, JsonStyle::Natural).unwrap();
    assert_eq!(
        out,
        r#"{"dev":{"battery_pct":5,"fw":"1.0"},"tags":{"a.b":"1"},"items":[{"v":1.5}]}"#
    );
    // a JSON object encodes under a record schema (fields by name)
    let s = AvroSchema::parse(r#"{"type":"record","name":"R","fields":[{"name":"battery_pct","type":["null","int"]},{"name":"fw","type":"string"}]}"#).unwrap();
    let mut bin = Vec::new();
    s.encode(v.get("dev").unwrap(), &mut bin).unwrap();
    assert_eq!(bin, [2, 10, 6, b'1', b'.', b'0']);
    assert!(
        Path::parse("a..b").is_err() && Path::parse("").is_err() && Path::parse("a[x]").is_err()
    );
}

#[test]
fn encode_errors_name_the_field_path() {
    let s = AvroSchema::parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"array","items":{"type":"record","name":"I","fields":[{"name":"n","type":"int"}]}}}]}"#).unwrap();
    let v = Value::Record(Record::from_fields([(
        "a",
        Value::Array(vec![
            Value::Record(Record::from_fields([("n", Value::Int(1))])),
            Value::Record(Record::from_fields([("n", Value::str("two"))])),
        ]),
    )]));
    let mut out = vec![9];
    let e = s.encode(&v, &mut out).unwrap_err();
    assert_eq!(
        e.to_string(),
        "encode avro datum: value of type string does not fit schema type int at field a[1].n"
    );
    assert!(e.is_poison());
    assert_eq!(out, [9]);
    let e = s
        .encode(
            &Value::Record(Record::from_fields([("b", Value::Null)])),
            &mut out,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "encode avro datum: missing field (no default) at field a"
    );
}

#[test]
fn a_decoded_decimal_beyond_its_precision_still_re_encodes() {
    // found by fuzzing: fixed(8) holds 19 digits, the schema declares 18
    let s = AvroSchema::parse(
        r#"{"type":"fixed","name":"D8","size":8,"logicalType":"decimal","precision":18,"scale":2}"#,
    )
    .unwrap();
    let bytes = [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    let v = s.decode(&bytes).unwrap();
    assert_eq!(
        v,
        Value::Decimal(Decimal::parse("92233720368547758.07", 2).unwrap())
    );
    let mut out = Vec::new();
    s.encode(&v, &mut out).unwrap();
    assert_eq!(out, bytes);
}
