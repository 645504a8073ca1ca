//! Output-schema derivation: added, dropped, renamed, cast, flattened and
//! guarded fields; start-up errors; the check against a pinned schema.

mod common;

use common::{SCHEMA, build, schema};
use kbridge_codec::AvroSchema;
use serde_json::{Value as Json, json};

/// The derived schema's fields as `name: type` (parsing canonical form),
/// with ` = default` when there is one.
fn fields(s: &AvroSchema) -> Vec<String> {
    let text: Json = serde_json::from_str(s.resolved().text()).unwrap();
    text["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut line = format!("{}: {}", f["name"].as_str().unwrap(), compact(&f["type"]));
            if let Some(d) = f.get("default") {
                line.push_str(&format!(" = {d}"));
            }
            line
        })
        .collect()
}

/// A type in short form: named types by name unless they are defined here.
fn compact(t: &Json) -> String {
    match t {
        Json::String(s) => s.rsplit('.').next().unwrap_or(s).to_string(),
        Json::Array(b) => format!("[{}]", b.iter().map(compact).collect::<Vec<_>>().join(", ")),
        Json::Object(o) => {
            if let Some(l) = o.get("logicalType") {
                return l.as_str().unwrap().to_string();
            }
            match o["type"].as_str().unwrap() {
                "record" => format!(
                    "{}{{{}}}",
                    o["name"].as_str().unwrap().rsplit('.').next().unwrap(),
                    o["fields"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| format!(
                            "{}: {}",
                            f["name"].as_str().unwrap(),
                            compact(&f["type"])
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "map" => format!("map<{}>", compact(&o["values"])),
                "array" => format!("array<{}>", compact(&o["items"])),
                "enum" => format!(
                    "enum {}",
                    o["name"].as_str().unwrap().rsplit('.').next().unwrap()
                ),
                other => other.to_string(),
            }
        }
        other => other.to_string(),
    }
}

fn derive(toml: &str) -> Result<AvroSchema, String> {
    let t = build(toml);
    kbridge_transforms::derive_output_schema(&t, &schema()).map_err(|e| e.to_string())
}

fn derived_fields(toml: &str) -> Vec<String> {
    fields(&derive(toml).unwrap_or_else(|e| panic!("{e}")))
}

const INPUT_FIELDS: &[&str] = &[
    "id: long",
    "user: string",
    "email: [null, string] = null",
    "value: double",
    "unit: enum Unit",
    "ts: timestamp-millis",
    "seq: int",
    "ok: boolean",
    "amount: decimal",
    "tags: map<string>",
    "device: Device{model: string, battery: [null, int]}",
    "home: [null, Place{city: string, zip: string}] = null",
    "readings: array<double>",
    "note: [null, string, long] = null",
];

#[test]
fn the_input_schema_reads_back_unchanged() {
    assert_eq!(fields(&schema()), INPUT_FIELDS);
    // no transform: the same schema, not a copy with another text
    let s = derive("").unwrap();
    assert_eq!(s.fingerprint(), schema().fingerprint());
}

#[test]
fn inserted_fields_get_inferred_or_declared_types() {
    let f = derived_fields(
        r#"
[[transforms]]
type = 'insert_field'
field = 'env'
value = 'prod'
[[transforms]]
type = 'insert_field'
field = 'n'
value = 3
[[transforms]]
type = 'insert_field'
field = 'ratio'
value = 0.5
[[transforms]]
type = 'insert_field'
field = 'flag'
value = true
[[transforms]]
type = 'insert_field'
field = 'p'
from = 'partition'
[[transforms]]
type = 'insert_field'
field = 'at'
from = 'processing_time'
[[transforms]]
type = 'insert_field'
field = 'maybe'
expression = 'value.email'
schema = ['null', 'string']
[[transforms]]
type = 'insert_field'
field = 'device.region'
value = 'eu'
[[transforms]]
type = 'insert_field'
field = 'home.country'
value = 'DE'
"#,
    );
    assert_eq!(
        &f[..INPUT_FIELDS.len()][10],
        "device: Device{model: string, battery: [null, int], region: string}"
    );
    assert_eq!(
        &f[..INPUT_FIELDS.len()][11],
        "home: [null, Place{city: string, zip: string, country: string}] = null"
    );
    assert_eq!(
        &f[INPUT_FIELDS.len()..],
        [
            "env: string",
            "n: long",
            "ratio: double",
            "flag: boolean",
            "p: int",
            "at: timestamp-millis",
            "maybe: [null, string] = null",
        ]
    );
}

#[test]
fn drops_renames_keeps() {
    assert_eq!(
        derived_fields(
            "[[transforms]]\ntype = 'drop_fields'\nfields = ['email', 'device.battery', 'home.zip', 'tags.tz', 'nope']"
        ),
        [
            "id: long",
            "user: string",
            "value: double",
            "unit: enum Unit",
            "ts: timestamp-millis",
            "seq: int",
            "ok: boolean",
            "amount: decimal",
            "tags: map<string>",
            "device: Device{model: string}",
            "home: [null, Place{city: string}] = null",
            "readings: array<double>",
            "note: [null, string, long] = null",
        ]
    );
    let f = derived_fields(
        "[[transforms]]\ntype = 'rename_fields'\nrenames = { user = 'user_id', 'home.city' = 'town', seq = 'id' }",
    );
    assert_eq!(f[0], "user_id: string");
    let ids: Vec<&String> = f.iter().filter(|x| x.starts_with("id:")).collect();
    assert_eq!(ids, ["id: int"], "the existing `id` is replaced");
    assert!(
        f.iter()
            .any(|x| x == "home: [null, Place{town: string, zip: string}] = null"),
        "{f:?}"
    );
    assert_eq!(
        derived_fields(
            "[[transforms]]\ntype = 'keep_fields'\nfields = ['id', 'device.model', 'home.zip', 'tags']"
        ),
        [
            "id: long",
            "tags: map<string>",
            "device: Device{model: string}",
            "home: [null, Place{zip: string}] = null",
        ]
    );
}

#[test]
fn casts_keep_nullability_and_convert_defaults() {
    let s = AvroSchema::parse(
        r#"{"type":"record","name":"R","fields":[
            {"name":"a","type":"int","default":5},
            {"name":"b","type":["null","long"],"default":null},
            {"name":"c","type":["string","null"],"default":"7"},
            {"name":"d","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#,
    )
    .unwrap();
    let t = build(
        "[[transforms]]\ntype = 'cast'\nfields = { a = 'string', b = 'string', c = 'int', d = 'string' }",
    );
    let out = kbridge_transforms::derive_output_schema(&t, &s).unwrap();
    assert_eq!(
        fields(&out),
        [
            "a: string = \"5\"",
            "b: [null, string] = null",
            "c: [int, null] = 7",
            "d: string"
        ]
    );
}

#[test]
fn flatten_makes_optional_parents_fields_optional() {
    assert_eq!(
        derived_fields("[[transforms]]\ntype = 'flatten'"),
        [
            "id: long",
            "user: string",
            "email: [null, string] = null",
            "value: double",
            "unit: enum Unit",
            "ts: timestamp-millis",
            "seq: int",
            "ok: boolean",
            "amount: decimal",
            "tags: map<string>",
            "device_model: string",
            "device_battery: [null, int] = null",
            "home_city: [null, string] = null",
            "home_zip: [null, string] = null",
            "readings: array<double>",
            "note: [null, string, long] = null",
        ]
    );
    let s = AvroSchema::parse(
        r#"{"type":"record","name":"R","fields":[
            {"name":"a","type":{"type":"record","name":"A","fields":[{"name":"b","type":"int"}]}},
            {"name":"a_b","type":"int"}]}"#,
    )
    .unwrap();
    let t = build("[[transforms]]\ntype = 'flatten'");
    assert_eq!(
        kbridge_transforms::derive_output_schema(&t, &s)
            .unwrap_err()
            .to_string(),
        "cannot derive the output schema: transforms[0] (flatten): flattening makes two fields called `a_b`"
    );
}

#[test]
fn guarded_edits_hold_both_shapes() {
    let f = derived_fields(
        r#"
[[transforms]]
type = 'cast'
fields = { seq = 'string' }
when = 'value.seq > 2'
[[transforms]]
type = 'drop_fields'
fields = 'user'
when = 'value.id == 1'
[[transforms]]
type = 'insert_field'
field = 'flag'
value = true
when = 'value.ok'
"#,
    );
    assert!(f.contains(&"seq: [string, int]".to_string()), "{f:?}");
    assert!(
        f.contains(&"user: [null, string] = null".to_string()),
        "{f:?}"
    );
    assert!(
        f.contains(&"flag: [null, boolean] = null".to_string()),
        "{f:?}"
    );
}

#[test]
fn a_named_type_edited_in_one_place_is_renamed_there() {
    let s = AvroSchema::parse(
        r#"{"type":"record","name":"Order","namespace":"shop","fields":[
            {"name":"billing","type":{"type":"record","name":"Address","fields":[
                {"name":"city","type":"string"},{"name":"zip","type":"string"}]}},
            {"name":"shipping","type":"Address"}]}"#,
    )
    .unwrap();
    let t = build("[[transforms]]\ntype = 'drop_fields'\nfields = 'shipping.zip'");
    let out = kbridge_transforms::derive_output_schema(&t, &s).unwrap();
    assert_eq!(
        fields(&out),
        [
            "billing: Address{city: string, zip: string}",
            "shipping: Address_2{city: string}"
        ]
    );
    // and untouched references stay references
    let t = build("[[transforms]]\ntype = 'insert_field'\nfield = 'n'\nvalue = 1");
    let out = kbridge_transforms::derive_output_schema(&t, &s).unwrap();
    assert_eq!(fields(&out)[1], "shipping: Address");
}

#[test]
fn start_up_errors_name_the_transform_and_the_field() {
    let cases = [
        (
            "[[transforms]]\ntype = 'rename_fields'\nname = 'tidy'\nrenames = { usr = 'user_id' }",
            "cannot derive the output schema: transforms[0] `tidy` (rename_fields): record test.Reading has no field `usr`; did you mean `user`?",
        ),
        (
            "[[transforms]]\ntype = 'cast'\nfields = { 'device.batery' = 'long' }",
            "cannot derive the output schema: transforms[0] (cast): record test.Device has no field `batery`; did you mean `device.battery`?",
        ),
        (
            "[[transforms]]\ntype = 'mask_fields'\nfields = 'seq'\nmode = 'hash'",
            "cannot derive the output schema: transforms[0] (mask_fields): `seq` is int: a hash mask needs a string or bytes field",
        ),
        (
            "[[transforms]]\ntype = 'mask_fields'\nfields = 'unit'\nreplacement = 'XX'",
            "cannot derive the output schema: transforms[0] (mask_fields): `unit` is enum test.Unit: replacement `XX` is not a symbol of the enum",
        ),
        (
            "[[transforms]]\ntype = 'set_timestamp'\nfield = 'ok'",
            "cannot derive the output schema: transforms[0] (set_timestamp): `ok` is boolean, which holds no timestamp for format `auto`",
        ),
        (
            "[[transforms]]\ntype = 'route'\ntopic = 'r-{device.modle}'",
            "cannot derive the output schema: transforms[0] (route): record test.Device has no field `modle`; did you mean `model`?",
        ),
        (
            "[[transforms]]\ntype = 'insert_field'\nfield = 'note.x'\nvalue = 1",
            "cannot derive the output schema: transforms[0] (insert_field): `note.x` goes through the union [null, string, long], which has several non-null branches",
        ),
        (
            "[[transforms]]\ntype = 'insert_field'\nfield = 'tags.n'\nvalue = 1",
            "cannot derive the output schema: transforms[0] (insert_field): `tags.n` is a map entry of type string; the inserted value is long",
        ),
        (
            "[[transforms]]\ntype = 'insert_field'\nfield = 'id.x'\nvalue = 1",
            "cannot derive the output schema: transforms[0] (insert_field): `id` is a `long`, which has no `x`",
        ),
    ];
    let mut failures = Vec::new();
    for (toml, want) in cases {
        match derive(toml) {
            Err(got) if got == want => {}
            other => failures.push(format!("{toml}\n  expected: {want}\n  got:      {other:?}")),
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n\n"));
}

#[test]
fn a_pinned_schema_must_hold_what_the_transforms_produce() {
    let toml = "[[transforms]]\ntype = 'insert_field'\nfield = 'env'\nvalue = 'prod'\n\
                [[transforms]]\ntype = 'drop_fields'\nfields = ['note', 'readings']";
    let t = build(toml);
    let input = schema();
    let derived = kbridge_transforms::check_output_schema(&t, &input, None).unwrap();
    // the derived schema itself, and one with an extra optional field, fit
    let mut doc: Json = serde_json::from_str(derived.resolved().text()).unwrap();
    let pinned = kbridge_transforms::check_output_schema(&t, &input, Some(&derived)).unwrap();
    assert_eq!(pinned.fingerprint(), derived.fingerprint());
    doc["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "extra", "type": ["null", "string"], "default": null}));
    let wider = AvroSchema::parse(&doc.to_string()).unwrap();
    assert!(kbridge_transforms::check_output_schema(&t, &input, Some(&wider)).is_ok());
    // a pinned schema that needs a field the transforms drop does not
    let err = kbridge_transforms::check_output_schema(&t, &input, Some(&input))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "the transforms' output does not fit the pinned output schema: reader field has no default and the writer does not have it at readings"
        ),
        "{err}"
    );
    assert!(
        err.contains("\n  derived: {\"name\":\"test.Reading\""),
        "{err}"
    );
    assert!(
        err.contains("\n  pinned:  {\"name\":\"test.Reading\""),
        "{err}"
    );
    let _ = SCHEMA;
}
