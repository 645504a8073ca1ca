//! Configuration problems: every one is reported, naming the transform by
//! position and name, the key, and the closest valid key or value.

mod common;

use common::tables;

fn problems(toml: &str) -> String {
    match kbridge_transforms::build(&tables(toml)) {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_problem_is_reported_with_a_suggestion() {
    let toml = r#"
[[transforms]]
type = 'filtr'

[[transforms]]
type = 'mask_fields'
name = 'hide-email'
feilds = ['email']

[[transforms]]
type = 'cast'
fields = { seq = 'integer' }

[[transforms]]
type = 'filter'
keep = 'vlaue.id == 1'

[[transforms]]
type = 'route'
topic = 'a-{x'

[[transforms]]
name = 'no-type'
"#;
    assert_eq!(
        problems(toml),
        "invalid transforms:
  transforms[0].type: unknown transform type `filtr`; did you mean `filter`? types are filter, insert_field, rename_fields, drop_fields, keep_fields, mask_fields, cast, flatten, set_key, set_headers, drop_headers, route, set_timestamp
  transforms[1].fields (`hide-email`): missing required key
  transforms[1].feilds (`hide-email`): unknown key, did you mean `fields`?
  transforms[2].fields.seq (`cast`): unknown type `integer`, expected one of `string`, `int`, `long`, `float`, `double`, `boolean`, `timestamp-millis`, `timestamp-micros`; did you mean `int`?
  transforms[3].keep (`filter`): expression `vlaue.id == 1` uses unknown variable `vlaue`; did you mean `value`?
  transforms[4].topic (`route`): unclosed `{` in `a-{x`
  transforms[5].type: missing transform type; one of filter, insert_field, rename_fields, drop_fields, keep_fields, mask_fields, cast, flatten, set_key, set_headers, drop_headers, route, set_timestamp"
    );
}

#[test]
fn keys_that_exclude_each_other_or_are_missing() {
    let cases = [
        (
            "[[transforms]]\ntype = 'filter'",
            "transforms[0] (`filter`): needs `keep` or `drop`",
        ),
        (
            "[[transforms]]\ntype = 'filter'\nkeep = 'true'\ndrop = 'false'",
            "transforms[0].drop (`filter`): `keep` and `drop` cannot both be set",
        ),
        (
            "[[transforms]]\ntype = 'insert_field'\nfield = 'a'\nvalue = 1\nfrom = 'topic'",
            "transforms[0].from (`insert_field`): `value` and `from` cannot both be set",
        ),
        (
            "[[transforms]]\ntype = 'insert_field'\nfield = 'a'\nfrom = 'topik'",
            "transforms[0].from (`insert_field`): unknown value `topik`, expected one of `topic`, `partition`, `offset`, `timestamp`, `processing_time`, `key`; did you mean `topic`?",
        ),
        (
            "[[transforms]]\ntype = 'insert_field'\nfield = 'a'\nvalue = 'x'\nschema = 'strin'",
            "transforms[0].schema (`insert_field`): not an avro type: parse schema: invalid schema: Unknown primitive type: strin",
        ),
        (
            "[[transforms]]\ntype = 'insert_field'\nfield = 'a'\nvalue = 'x'\nschema = 'int'",
            "transforms[0].value (`insert_field`): \"x\" does not fit the schema: decode json: expected int, found string \"x\" at <root> (line 0, column 0)",
        ),
        (
            "[[transforms]]\ntype = 'rename_fields'\nrenames = { a = 'b.c' }",
            "transforms[0].renames.a (`rename_fields`): `b.c` must be a plain field name (a rename keeps the field where it is)",
        ),
        (
            "[[transforms]]\ntype = 'drop_fields'\nfields = []",
            "transforms[0].fields (`drop_fields`): must not be empty",
        ),
        (
            "[[transforms]]\ntype = 'drop_fields'\nfields = ['a..b']",
            "transforms[0].fields[0] (`drop_fields`): invalid field path `a..b`: empty field name",
        ),
        (
            "[[transforms]]\ntype = 'mask_fields'\nfields = 'a'\nmode = 'hash'\nreplacement = 'x'",
            "transforms[0].replacement (`mask_fields`): only `mode = \"fixed\"` takes a replacement",
        ),
        (
            "[[transforms]]\ntype = 'route'\nregex = '('\nreplacement = 'x'",
            "transforms[0].regex (`route`): invalid regex: regex parse error:\n    (\n    ^\nerror: unclosed group",
        ),
        (
            "[[transforms]]\ntype = 'route'\ntopic = 'a'\nfield = 'x'",
            "transforms[0].field (`route`): only a `regex` route takes this key",
        ),
        (
            "[[transforms]]\ntype = 'route'\ntimestamp_pattern = 'x-%Q'",
            "transforms[0].timestamp_pattern (`route`): invalid strftime pattern `x-%Q`",
        ),
        (
            "[[transforms]]\ntype = 'set_timestamp'\nfield = 'ts'\nformat = 'milis'",
            "transforms[0].format (`set_timestamp`): unknown format `milis`, expected `auto`, `seconds`, `millis`, `micros`, `nanos` or a strftime pattern",
        ),
        (
            "[[transforms]]\ntype = 'set_key'\nfields = ['a.id', 'b.id']",
            "transforms[0].fields (`set_key`): two key fields are called `id`",
        ),
        (
            "[[transforms]]\ntype = 'set_headers'\nheaders = { a = 1 }",
            "transforms[0].headers.a (`set_headers`): expected a template string or { expression = \"...\" }",
        ),
        (
            "[[transforms]]\ntype = 'filter'\nkeep = 'value.id =='",
            "transforms[0].keep (`filter`): invalid expression `value.id ==`: ",
        ),
        (
            "[[transforms]]\ntype = 'flatten'\nwhen = 1",
            "transforms[0].when (`flatten`): expected a string, found a number",
        ),
    ];
    let mut failures = Vec::new();
    for (toml, want) in cases {
        let got = problems(toml);
        let got = got.strip_prefix("invalid transforms:\n  ").unwrap_or(&got);
        let matches = if want.ends_with(": ") {
            got.starts_with(want)
        } else {
            got == want
        };
        if !matches {
            failures.push(format!("{toml}\n  expected: {want}\n  got:      {got}"));
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n\n"));
}

#[test]
fn an_empty_list_builds_nothing() {
    assert_eq!(kbridge_transforms::build(&[]).unwrap().len(), 0);
}

#[test]
fn a_hash_salt_can_come_from_the_environment() {
    let toml = "[[transforms]]\ntype = 'mask_fields'\nfields = 'user'\nmode = 'hash'\nsalt_env = 'KBRIDGE_TEST_NO_SUCH_VARIABLE'";
    assert_eq!(
        problems(toml),
        "invalid transforms:\n  transforms[0].salt_env (`mask_fields`): environment variable KBRIDGE_TEST_NO_SUCH_VARIABLE is not set"
    );
    // PATH is set wherever tests run: the hash uses its value
    let path = std::env::var("PATH").unwrap();
    let mut t = common::build(
        "[[transforms]]\ntype = 'mask_fields'\nfields = 'user'\nmode = 'hash'\nsalt_env = 'PATH'",
    );
    let v = kbridge_codec::Value::Record(kbridge_codec::Record::from_fields([(
        "user",
        kbridge_codec::Value::from("u-1"),
    )]));
    let out = common::run(&mut t, common::record(v)).unwrap();
    use sha2::Digest;
    let want = hex::encode(sha2::Sha256::digest(format!("{path}u-1").as_bytes()));
    assert_eq!(
        out[0].value.get("user").and_then(|v| v.as_str()),
        Some(want.as_str())
    );
}
