//! Schema resolution on read: data written with W, read as a pinned R.

use std::sync::Arc;

use kbridge_codec::{
    AvroSchema, Codec, CodecError, DatumErrorKind, MemoryResolver, NoHeaders, ResolvedSchema,
    SchemaRef, Side, Value, WireFormat,
};

const W: &str = r#"{"type":"record","name":"Ev","namespace":"t","fields":[
  {"name":"id","type":"int"},
  {"name":"user_id","type":"string"},
  {"name":"removed","type":{"type":"array","items":{"type":"map","values":"long"}}},
  {"name":"score","type":"float"},
  {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","NEW"]}},
  {"name":"raw","type":"string"},
  {"name":"opt","type":["null","int"]},
  {"name":"plain","type":"long"}]}"#;

const R: &str = r#"{"type":"record","name":"Event","namespace":"t","aliases":["t.Ev"],"fields":[
  {"name":"plain","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"id","type":"long"},
  {"name":"user","type":"string","aliases":["user_id"]},
  {"name":"score","type":"double"},
  {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","OTHER"],"default":"OTHER"}},
  {"name":"raw","type":"bytes"},
  {"name":"opt","type":["null","long","string"]},
  {"name":"region","type":"string","default":"eu"},
  {"name":"extra","type":["null","int"],"default":null}]}"#;

/// id 7, user_id "u1", removed [{"a": 1}], score 1.5, kind NEW, raw "xy", opt 3, plain 1000
fn datum() -> Vec<u8> {
    let mut d = vec![14, 4, b'u', b'1', 2, 2, 2, b'a', 2, 0, 0];
    d.extend_from_slice(&1.5f32.to_le_bytes());
    d.extend_from_slice(&[4, 4, b'x', b'y', 2, 6, 0xd0, 0x0f]);
    d
}

#[test]
fn resolves_renames_promotions_defaults_and_enum_default() {
    let w = AvroSchema::parse(W).unwrap();
    let r = AvroSchema::parse(R).unwrap();
    // the writer datum is what we think it is
    let bytes = datum();
    let wv = w.decode(&bytes).unwrap();
    assert_eq!(wv.get("plain"), Some(&Value::Long(1000)));

    let plan = r.plan_from(&w, SchemaRef::Id(1)).unwrap();
    let v = plan.decode(&bytes).unwrap();
    let rec = v.as_record().unwrap();
    assert_eq!(rec.name, Some("t.Event"));
    let names: Vec<&str> = rec.fields.iter().map(|f| f.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "plain", "id", "user", "score", "kind", "raw", "opt", "region", "extra"
        ]
    );
    assert_eq!(rec.get("plain"), Some(&Value::TimestampMillis(1000)));
    assert_eq!(rec.get("id"), Some(&Value::Long(7)));
    assert_eq!(rec.get("user").and_then(Value::as_str), Some("u1"));
    assert_eq!(rec.get("score"), Some(&Value::Double(1.5)));
    assert_eq!(rec.get("kind"), Some(&Value::Enum(2, "OTHER".into())));
    assert_eq!(rec.get("raw").and_then(Value::as_bytes), Some(&b"xy"[..]));
    assert_eq!(rec.get("opt"), Some(&Value::Long(3)));
    assert_eq!(rec.get("region").and_then(Value::as_str), Some("eu"));
    assert_eq!(rec.get("extra"), Some(&Value::Null));
    // the resolved value encodes under the reader schema
    let mut out = Vec::new();
    r.encode(&v, &mut out).unwrap();
    assert_eq!(r.decode(&out).unwrap(), v);
}

#[test]
fn codec_pins_the_reader_schema_per_writer_id() {
    let res = Arc::new(MemoryResolver::new());
    res.insert(1, None, ResolvedSchema::avro(W).unwrap());
    res.insert(2, None, ResolvedSchema::avro(R).unwrap());
    let c = Codec::builder(Side::Value)
        .resolver(res)
        .reader_schema(Arc::new(ResolvedSchema::avro(R).unwrap()))
        .write(WireFormat::Json)
        .build()
        .unwrap();
    let mut p = vec![0, 0, 0, 0, 1];
    p.extend_from_slice(&datum());
    let d = c.decode(Some(&p), &NoHeaders).unwrap();
    assert_eq!(d.schema, Some(SchemaRef::Id(1)));
    assert_eq!(d.value.get("region").and_then(Value::as_str), Some("eu"));
    // data already written with the reader schema reads as itself
    let rs = AvroSchema::parse(R).unwrap();
    let mut p2 = vec![0, 0, 0, 0, 2];
    rs.encode(&d.value, &mut p2).unwrap();
    assert_eq!(c.decode(Some(&p2), &NoHeaders).unwrap().value, d.value);
}

#[test]
fn incompatible_schemas_fail_with_the_field_path() {
    let w = AvroSchema::parse(W).unwrap();
    let no_default = AvroSchema::parse(
        r#"{"type":"record","name":"Ev","namespace":"t","fields":[{"name":"id","type":"int"},{"name":"must","type":"string"}]}"#,
    )
    .unwrap();
    match no_default.plan_from(&w, SchemaRef::Id(4)) {
        Err(CodecError::ResolveReader {
            writer: SchemaRef::Id(4),
            path,
            reason,
        }) => {
            assert_eq!(path.to_string(), "must");
            assert!(reason.contains("no default"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let narrowing = AvroSchema::parse(
        r#"{"type":"record","name":"Ev","namespace":"t","fields":[{"name":"plain","type":"int"}]}"#,
    )
    .unwrap();
    let e = narrowing.plan_from(&w, SchemaRef::Id(4)).unwrap_err();
    assert_eq!(e.path().unwrap().to_string(), "plain");
    assert!(e.is_poison());
    let other_name = AvroSchema::parse(r#"{"type":"record","name":"Zzz","fields":[]}"#).unwrap();
    assert!(other_name.plan_from(&w, SchemaRef::Id(4)).is_err());
}

#[test]
fn enum_symbol_unknown_to_a_reader_without_default_fails_only_when_used() {
    let w = AvroSchema::parse(r#"{"type":"enum","name":"K","symbols":["A","B","C"]}"#).unwrap();
    let r = AvroSchema::parse(r#"{"type":"enum","name":"K","symbols":["C","A"]}"#).unwrap();
    let plan = r.plan_from(&w, SchemaRef::Fixed).unwrap();
    assert_eq!(plan.decode(&[0]).unwrap(), Value::Enum(1, "A".into()));
    assert_eq!(plan.decode(&[4]).unwrap(), Value::Enum(0, "C".into()));
    let e = plan.decode(&[2]).unwrap_err();
    assert!(
        matches!(e.datum_kind(), Some(DatumErrorKind::Unresolvable(_))),
        "{e}"
    );
}

#[test]
fn writer_union_into_reader_non_union_and_back() {
    let w = AvroSchema::parse(r#"["null","int","string"]"#).unwrap();
    let r = AvroSchema::parse(r#""long""#).unwrap();
    let plan = r.plan_from(&w, SchemaRef::Fixed).unwrap();
    assert_eq!(plan.decode(&[2, 6]).unwrap(), Value::Long(3));
    // the null and string branches cannot be read as long: an error if used
    assert!(plan.decode(&[0]).is_err());
    assert!(plan.decode(&[4, 2, b'x']).is_err());

    let w = AvroSchema::parse(r#""int""#).unwrap();
    let r = AvroSchema::parse(r#"["null","string","double"]"#).unwrap();
    let plan = r.plan_from(&w, SchemaRef::Fixed).unwrap();
    assert_eq!(plan.decode(&[6]).unwrap(), Value::Double(3.0));
}

#[test]
fn recursive_schemas_resolve() {
    let w = AvroSchema::parse(r#"{"type":"record","name":"L","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","L"]}]}"#).unwrap();
    let r = AvroSchema::parse(r#"{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]},{"name":"v","type":"long"},{"name":"d","type":"int","default":9}]}"#).unwrap();
    let plan = r.plan_from(&w, SchemaRef::Fixed).unwrap();
    // v=1 → next: v=2 → next null
    let v = plan.decode(&[2, 2, 4, 0]).unwrap();
    assert_eq!(v.get("v"), Some(&Value::Long(1)));
    assert_eq!(v.get("d"), Some(&Value::Int(9)));
    let inner = v.get("next").unwrap();
    assert_eq!(inner.get("v"), Some(&Value::Long(2)));
    assert_eq!(inner.get("next"), Some(&Value::Null));
}
