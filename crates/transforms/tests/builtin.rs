//! Every built-in transform, table-tested on Avro records (decoded from
//! bytes, outputs encoded under the derived schema and decoded again) and
//! on schemaless JSON records.

mod common;

use common::{INPUT, Input, outcome};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

const BOTH: &[Input] = &[Input::Avro, Input::Json];
const AVRO: &[Input] = &[Input::Avro];
const JSON: &[Input] = &[Input::Json];

enum Expect {
    /// Fields the output value must have (top level, compared whole),
    /// and fields it must not have.
    Fields(Json, &'static [&'static str]),
    /// The record is filtered out.
    Dropped,
    /// The run fails with exactly this message.
    Error(&'static str),
}

struct Case {
    name: &'static str,
    toml: &'static str,
    input: Option<&'static str>,
    on: &'static [Input],
    expect: Expect,
}

fn case(name: &'static str, on: &'static [Input], toml: &'static str, expect: Expect) -> Case {
    Case {
        name,
        toml,
        input: None,
        on,
        expect,
    }
}

fn fields(j: Json) -> Expect {
    Expect::Fields(j, &[])
}

fn check(cases: &[Case]) {
    let mut failures = Vec::new();
    for c in cases {
        for kind in c.on {
            let input = c.input.unwrap_or(INPUT);
            let label = format!("{} ({kind:?})", c.name);
            match (outcome(c.toml, input, *kind), &c.expect) {
                (Ok(o), Expect::Dropped) if o.values.is_empty() => {}
                (Ok(o), Expect::Fields(want, absent)) if o.values.len() == 1 => {
                    let got = &o.values[0];
                    for (k, v) in want.as_object().expect("object") {
                        if got.get(k) != Some(v) {
                            failures.push(format!(
                                "{label}: field `{k}`: expected {v}, got {}",
                                got.get(k).map_or("nothing".to_string(), Json::to_string)
                            ));
                        }
                    }
                    for k in *absent {
                        if got.get(*k).is_some() {
                            failures.push(format!("{label}: field `{k}` should be gone: {got}"));
                        }
                    }
                }
                (Err(e), Expect::Error(want)) if e == *want => {}
                (Ok(o), _) => failures.push(format!("{label}: unexpected output {:?}", o.values)),
                (Err(e), _) => failures.push(format!("{label}: unexpected error: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

#[test]
fn filter() {
    check(&[
        case(
            "drop negative values keeps a positive one",
            BOTH,
            "[[transforms]]\ntype = 'filter'\ndrop = 'value.value < 0.0'",
            fields(json!({"value": 72.5})),
        ),
        case(
            "keep by enum symbol",
            BOTH,
            "[[transforms]]\ntype = 'filter'\nkeep = \"value.unit == 'BPM'\"",
            fields(json!({"unit": "BPM"})),
        ),
        case(
            "keep drops what does not match",
            BOTH,
            "[[transforms]]\ntype = 'filter'\nkeep = \"value.unit == 'MMHG'\"",
            Expect::Dropped,
        ),
        case(
            "condition through a nested null-able union",
            BOTH,
            "[[transforms]]\ntype = 'filter'\ndrop = 'value.device.battery > 50'",
            Expect::Dropped,
        ),
        case(
            "a false `when` lets the record through",
            BOTH,
            "[[transforms]]\ntype = 'filter'\nkeep = 'false'\nwhen = 'value.id == 8'",
            fields(json!({"id": 7})),
        ),
        case(
            "an expression error is a named failure",
            BOTH,
            "[[transforms]]\ntype = 'filter'\nname = 'no-junk'\nkeep = 'value.nope > 1'",
            Expect::Error(
                "transforms[0] `no-junk` (filter): expression `value.nope > 1` failed: No such key: nope",
            ),
        ),
        case(
            "a condition that is not a bool",
            BOTH,
            "[[transforms]]\ntype = 'filter'\nkeep = 'value.value'",
            Expect::Error(
                "transforms[0] (filter): expression `value.value` returned double, not a bool",
            ),
        ),
    ]);
}

#[test]
fn insert_field() {
    check(&[
        case(
            "a static string",
            BOTH,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'env'\nvalue = 'prod'",
            fields(json!({"env": "prod", "id": 7})),
        ),
        case(
            "a static value typed by `schema`",
            BOTH,
            r#"[[transforms]]
type = 'insert_field'
field = 'since'
value = '2026-01-02T00:00:00Z'
schema = { type = 'long', logicalType = 'timestamp-millis' }"#,
            fields(json!({"since": "2026-01-02T00:00:00.000Z"})),
        ),
        case(
            "metadata: topic, partition, offset, timestamp",
            BOTH,
            r#"[[transforms]]
type = 'insert_field'
field = 'src'
from = 'topic'
[[transforms]]
type = 'insert_field'
field = 'p'
from = 'partition'
[[transforms]]
type = 'insert_field'
field = 'o'
from = 'offset'
[[transforms]]
type = 'insert_field'
field = 'at'
from = 'timestamp'"#,
            fields(json!({"src": "readings", "p": 2, "o": 41, "at": "2023-11-14T22:13:20.000Z"})),
        ),
        case(
            "the key, typed",
            BOTH,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'k'\nfrom = 'key'\nschema = 'string'",
            fields(json!({"k": "k1"})),
        ),
        case(
            "into a nested record",
            BOTH,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'device.region'\nvalue = 'eu'",
            fields(json!({"device": {"model": "X2", "battery": 80, "region": "eu"}})),
        ),
        case(
            "into a null optional record: nothing to do",
            BOTH,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'home.country'\nvalue = 'DE'",
            fields(json!({"home": null})),
        ),
        case(
            "into a map",
            BOTH,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'tags.env'\nvalue = 'prod'",
            fields(json!({"tags": {"tz": "UTC", "app": "5.2", "env": "prod"}})),
        ),
        case(
            "a computed value",
            BOTH,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'double'\nexpression = 'value.value * 2.0'\nschema = 'double'",
            fields(json!({"double": 145.0})),
        ),
        case(
            "a computed value narrowed to int",
            BOTH,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'next'\nexpression = 'value.seq + 1'\nschema = 'int'",
            fields(json!({"next": 4})),
        ),
        case(
            "a computed value needs a type when the schema is derived",
            AVRO,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'next'\nexpression = 'value.seq + 1'",
            Expect::Error(
                "cannot derive the output schema: transforms[0] (insert_field): `schema` is needed to derive the type of `next` (computed values have no declared type)",
            ),
        ),
        case(
            "without a schema a computed value needs no type",
            JSON,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'next'\nexpression = 'value.seq + 1'",
            fields(json!({"next": 4})),
        ),
        case(
            "a missing parent",
            BOTH,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'nope.x'\nvalue = 1",
            Expect::Error("transforms[0] (insert_field): missing field (field `nope.x`)"),
        ),
        case(
            "a guarded insert makes the field optional",
            AVRO,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'env'\nvalue = 'prod'\nwhen = 'value.id == 8'",
            fields(json!({"env": null})),
        ),
        case(
            "a guarded insert that applies",
            AVRO,
            "[[transforms]]\ntype = 'insert_field'\nfield = 'env'\nvalue = 'prod'\nwhen = 'value.id == 7'",
            fields(json!({"env": "prod"})),
        ),
    ]);
}

#[test]
fn rename_drop_keep() {
    check(&[
        Case {
            name: "rename top-level and nested fields",
            toml: "[[transforms]]\ntype = 'rename_fields'\nrenames = { user = 'user_id', 'device.model' = 'model_name' }",
            input: None,
            on: BOTH,
            expect: Expect::Fields(
                json!({"user_id": "u-1", "device": {"model_name": "X2", "battery": 80}}),
                &["user"],
            ),
        },
        case(
            "rename a missing field",
            BOTH,
            "[[transforms]]\ntype = 'rename_fields'\nrenames = { nope = 'x' }",
            Expect::Error("transforms[0] (rename_fields): missing field (field `nope`)"),
        ),
        case(
            "rename a missing field, ignored",
            JSON,
            "[[transforms]]\ntype = 'rename_fields'\nrenames = { nope = 'x' }\nignore_missing = true",
            fields(json!({"id": 7})),
        ),
        case(
            "rename inside a null optional record",
            BOTH,
            "[[transforms]]\ntype = 'rename_fields'\nrenames = { 'home.city' = 'town' }",
            fields(json!({"home": null})),
        ),
        Case {
            name: "drop fields, nested fields, map keys, array items",
            toml: "[[transforms]]\ntype = 'drop_fields'\nfields = ['email', 'device.battery', 'tags.tz', 'readings[0]']",
            input: None,
            on: BOTH,
            expect: Expect::Fields(
                json!({"device": {"model": "X2"}, "tags": {"app": "5.2"}, "readings": [2.5]}),
                &["email"],
            ),
        },
        Case {
            name: "drop several fields and items of one parent (positions before the drop)",
            toml: "[[transforms]]\ntype = 'drop_fields'\nfields = ['readings[1]', 'readings[0]', 'email', 'user', 'device.model', 'device.battery']",
            input: None,
            on: BOTH,
            expect: Expect::Fields(
                json!({"readings": [], "id": 7, "device": {}}),
                &["email", "user"],
            ),
        },
        case(
            "drop a field that is not there",
            BOTH,
            "[[transforms]]\ntype = 'drop_fields'\nfields = 'nope'",
            fields(json!({"id": 7})),
        ),
        Case {
            name: "keep some fields",
            toml: "[[transforms]]\ntype = 'keep_fields'\nfields = ['id', 'device.model', 'tags']",
            input: None,
            on: BOTH,
            expect: Expect::Fields(
                json!({"id": 7, "device": {"model": "X2"}, "tags": {"tz": "UTC", "app": "5.2"}}),
                &["user", "email", "value", "home", "note"],
            ),
        },
    ]);
}

#[test]
fn mask_fields() {
    let hash = hex::encode(Sha256::digest(b"pepperu-1"));
    check(&[
        case(
            "fixed mask on strings and a null-able string",
            BOTH,
            "[[transforms]]\ntype = 'mask_fields'\nfields = ['email', 'user']",
            fields(json!({"email": "****", "user": "****"})),
        ),
        case(
            "salted hash",
            BOTH,
            "[[transforms]]\ntype = 'mask_fields'\nfields = 'user'\nmode = 'hash'\nsalt = 'pepper'",
            fields(json!({"user": hash})),
        ),
        case(
            "numbers and booleans get zero values",
            BOTH,
            "[[transforms]]\ntype = 'mask_fields'\nfields = ['seq', 'value', 'ok']",
            fields(json!({"seq": 0, "value": 0.0, "ok": false})),
        ),
        case(
            "a replacement that is an enum symbol",
            AVRO,
            "[[transforms]]\ntype = 'mask_fields'\nfields = 'unit'\nreplacement = 'KG'",
            fields(json!({"unit": "KG"})),
        ),
        case(
            "a replacement that does not fit the type",
            AVRO,
            "[[transforms]]\ntype = 'mask_fields'\nfields = 'seq'\nreplacement = 'x'",
            Expect::Error(
                "transforms[0] (mask_fields): replacement \"x\" does not fit an int (field `seq`)",
            ),
        ),
        case(
            "a whole record",
            BOTH,
            "[[transforms]]\ntype = 'mask_fields'\nfields = 'device'",
            Expect::Error(
                "transforms[0] (mask_fields): a record cannot be masked as a whole; mask its fields (field `device`)",
            ),
        ),
        case(
            "a missing field",
            BOTH,
            "[[transforms]]\ntype = 'mask_fields'\nfields = 'device.serial'",
            Expect::Error("transforms[0] (mask_fields): missing field (field `device.serial`)"),
        ),
    ]);
}

#[test]
fn cast() {
    check(&[
        case(
            "between scalars",
            BOTH,
            "[[transforms]]\ntype = 'cast'\nfields = { seq = 'string', value = 'long', id = 'int', ok = 'string' }",
            fields(json!({"seq": "3", "value": 72, "id": 7, "ok": "true"})),
        ),
        case(
            "a timestamp to long",
            AVRO,
            "[[transforms]]\ntype = 'cast'\nfields = { ts = 'long' }",
            fields(json!({"ts": 1_767_225_600_000_i64})),
        ),
        case(
            "an ISO string to a timestamp",
            JSON,
            "[[transforms]]\ntype = 'cast'\nfields = { ts = 'timestamp-micros' }",
            fields(json!({"ts": "2026-01-01T00:00:00.000000Z"})),
        ),
        case(
            "a timestamp to string",
            BOTH,
            "[[transforms]]\ntype = 'cast'\nfields = { ts = 'string' }",
            fields(json!({"ts": "2026-01-01T00:00:00.000Z"})),
        ),
        case(
            "a null-able field",
            BOTH,
            "[[transforms]]\ntype = 'cast'\nfields = { 'device.battery' = 'string' }",
            fields(json!({"device": {"model": "X2", "battery": "80"}})),
        ),
        Case {
            name: "null stays null",
            toml: "[[transforms]]\ntype = 'cast'\nfields = { email = 'long', 'home.zip' = 'long' }",
            input: Some(
                r#"{"id":7,"user":"u-1","email":null,"value":1.0,"unit":"KG",
              "ts":"2026-01-01T00:00:00Z","seq":1,"ok":false,"amount":"0.5","tags":{},
              "device":{"model":"X2","battery":null},"home":null,"readings":[],"note":null}"#,
            ),
            on: BOTH,
            expect: fields(json!({"email": null, "home": null})),
        },
        case(
            "a record cannot be cast (schema)",
            AVRO,
            "[[transforms]]\ntype = 'cast'\nfields = { home = 'string' }",
            Expect::Error(
                "cannot derive the output schema: transforms[0] (cast): `home` is record test.Place, which cannot be cast to string",
            ),
        ),
        case(
            "a decimal to double",
            BOTH,
            "[[transforms]]\ntype = 'cast'\nfields = { amount = 'double' }",
            fields(json!({"amount": 12.34})),
        ),
        case(
            "an enum to string",
            AVRO,
            "[[transforms]]\ntype = 'cast'\nfields = { unit = 'string' }",
            fields(json!({"unit": "BPM"})),
        ),
        case(
            "an impossible cast",
            BOTH,
            "[[transforms]]\ntype = 'cast'\nfields = { user = 'int' }",
            Expect::Error("transforms[0] (cast): cannot cast string \"u-1\" to int (field `user`)"),
        ),
        case(
            "a record cannot be cast",
            AVRO,
            "[[transforms]]\ntype = 'cast'\nfields = { tags = 'string' }",
            Expect::Error(
                "transforms[0] (cast): cannot cast map {\"tz\":\"UTC\",\"app\":\"5.2\"} to string (field `tags`)",
            ),
        ),
    ]);
}

#[test]
fn flatten() {
    let with_home = r#"{"id":7,"user":"u-1","email":null,"value":1.0,"unit":"KG",
      "ts":"2026-01-01T00:00:00Z","seq":1,"ok":false,"amount":"0.5","tags":{},
      "device":{"model":"X2","battery":null},"home":{"city":"Berlin","zip":"10115"},
      "readings":[],"note":7}"#;
    check(&[
        Case {
            name: "nested records become prefixed fields",
            toml: "[[transforms]]\ntype = 'flatten'",
            input: None,
            on: AVRO,
            expect: Expect::Fields(
                json!({"device_model": "X2", "device_battery": 80, "home_city": null, "home_zip": null}),
                &["device", "home"],
            ),
        },
        Case {
            name: "nested records become prefixed fields (json)",
            toml: "[[transforms]]\ntype = 'flatten'",
            input: None,
            on: JSON,
            expect: Expect::Fields(
                json!({"device_model": "X2", "device_battery": 80, "home": null}),
                &["device"],
            ),
        },
        Case {
            name: "an optional record that is set",
            toml: "[[transforms]]\ntype = 'flatten'\nseparator = '__'",
            input: Some(with_home),
            on: BOTH,
            expect: Expect::Fields(
                json!({"device__model": "X2", "device__battery": null, "home__city": "Berlin", "home__zip": "10115", "note": 7}),
                &["device", "home"],
            ),
        },
    ]);
}

#[test]
fn chains_run_in_order() {
    check(&[Case {
        name: "five transforms",
        toml: r#"
[[transforms]]
type = 'filter'
drop = 'value.value < 0.0'
[[transforms]]
type = 'cast'
fields = { seq = 'long' }
[[transforms]]
type = 'rename_fields'
renames = { seq = 'sequence' }
[[transforms]]
type = 'insert_field'
field = 'double'
expression = 'value.sequence * 2'
schema = 'long'
[[transforms]]
type = 'drop_fields'
fields = ['tags', 'readings', 'note']
"#,
        input: None,
        on: BOTH,
        expect: Expect::Fields(
            json!({"sequence": 3, "double": 6}),
            &["seq", "tags", "readings", "note"],
        ),
    }]);
}
