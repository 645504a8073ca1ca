//! CEL conditions over Avro and JSON records: nested records, unions,
//! maps, arrays, logical types and record metadata. Each condition runs as
//! a `filter` (`keep`), so the outcome is kept / dropped / the error.

mod common;

use common::{INPUT, avro_bytes, build, record, run, schema};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Keep,
    Drop,
    Err(&'static str),
}
use Out::{Drop, Err, Keep};

fn eval(condition: &str, avro: bool) -> Out {
    let s = schema();
    let bytes = avro_bytes(&s, INPUT);
    let value = if avro {
        s.decode(&bytes).unwrap()
    } else {
        kbridge_codec::json::parse_json(INPUT.as_bytes()).unwrap()
    };
    let toml = format!(
        "[[transforms]]\ntype = 'filter'\nkeep = {}",
        toml::Value::String(condition.to_string())
    );
    let mut t = build(&toml);
    match run(&mut t, record(value)) {
        Ok(out) if out.len() == 1 => Keep,
        Ok(_) => Drop,
        Result::Err(e) => {
            let leaked: &'static str = Box::leak(e.into_boxed_str());
            Err(leaked)
        }
    }
}

#[test]
fn conditions_on_avro_and_json_records() {
    // (condition, on Avro, on JSON)
    let cases: &[(&str, Out, Out)] = &[
        ("value.id == 7", Keep, Keep),
        ("value.id > 7", Drop, Drop),
        ("value.value >= 72.5 && value.value < 73", Keep, Keep),
        ("value.user.startsWith('u-')", Keep, Keep),
        ("value.user.matches('^u-[0-9]+$')", Keep, Keep),
        ("value.user.upperAscii() == 'U-1'", Keep, Keep),
        // enum symbols are strings
        ("value.unit == 'BPM'", Keep, Keep),
        ("value.unit in ['BPM', 'KG']", Keep, Keep),
        // nested record, null-able union with a value, null union
        ("value.device.model == 'X2'", Keep, Keep),
        ("value.device.battery > 50", Keep, Keep),
        ("value.home == null", Keep, Keep),
        (
            "value.email != null && value.email.endsWith('.c')",
            Keep,
            Keep,
        ),
        ("has(value.email)", Keep, Keep),
        ("has(value.nope)", Drop, Drop),
        ("has(value.device.model)", Keep, Keep),
        // several-branch union
        ("value.note == 'hi'", Keep, Keep),
        // maps
        ("value.tags['tz'] == 'UTC'", Keep, Keep),
        ("value.tags.tz == 'UTC'", Keep, Keep),
        ("'tz' in value.tags", Keep, Keep),
        ("size(value.tags) == 2", Keep, Keep),
        ("value.tags.exists(k, k == 'app')", Keep, Keep),
        ("value.tags.all(k, value.tags[k] != '')", Keep, Keep),
        // arrays
        ("value.readings[1] == 2.5", Keep, Keep),
        ("value.readings.exists(r, r > 2.0)", Keep, Keep),
        ("size(value.readings) == 2", Keep, Keep),
        // logical types: timestamp-millis and decimal in Avro; strings in JSON
        ("value.ts == timestamp('2026-01-01T00:00:00Z')", Keep, Drop),
        (
            "value.ts.getFullYear() == 2026",
            Keep,
            Err(
                "transforms[0] (filter): expression `value.ts.getFullYear() == 2026` failed: found no matching overload for 'getFullYear' applied to 'string.()'",
            ),
        ),
        (
            "value.amount > 12.0",
            Keep,
            Err(
                "transforms[0] (filter): expression `value.amount > 12.0` failed: found no matching overload for '_>_' applied to '(string, double)'",
            ),
        ),
        // metadata
        ("key == 'k1'", Keep, Keep),
        ("headers['h'] == 'v'", Keep, Keep),
        (
            "topic == 'readings' && partition == 2 && offset == 41",
            Keep,
            Keep,
        ),
        ("timestamp < now", Keep, Keep),
        ("timestamp == timestamp('2023-11-14T22:13:20Z')", Keep, Keep),
        // errors
        (
            "value.nope == 1",
            Err("transforms[0] (filter): expression `value.nope == 1` failed: No such key: nope"),
            Err("transforms[0] (filter): expression `value.nope == 1` failed: No such key: nope"),
        ),
        (
            "value.home.city == 'Berlin'",
            Err(
                "transforms[0] (filter): expression `value.home.city == 'Berlin'` failed: found no matching overload for '_._' applied to '(null_type, string)'",
            ),
            Err(
                "transforms[0] (filter): expression `value.home.city == 'Berlin'` failed: found no matching overload for '_._' applied to '(null_type, string)'",
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (cond, avro, json) in cases {
        for (is_avro, want) in [(true, avro), (false, json)] {
            let got = eval(cond, is_avro);
            if got != *want {
                failures.push(format!(
                    "{cond} ({}): expected {want:?}, got {got:?}",
                    if is_avro { "avro" } else { "json" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

#[test]
fn when_guards_any_transform() {
    let s = schema();
    let bytes = avro_bytes(&s, INPUT);
    let mut t = build(
        "[[transforms]]\ntype = 'mask_fields'\nfields = 'user'\nwhen = \"value.unit == 'KG'\"\n\
         [[transforms]]\ntype = 'mask_fields'\nfields = 'email'\nwhen = \"value.unit == 'BPM'\"",
    );
    let out = run(&mut t, record(s.decode(&bytes).unwrap())).unwrap();
    assert_eq!(
        out[0].value.get("user").and_then(|v| v.as_str()),
        Some("u-1")
    );
    assert_eq!(
        out[0].value.get("email").and_then(|v| v.as_str()),
        Some("****")
    );

    let mut t = build("[[transforms]]\ntype = 'drop_fields'\nfields = 'user'\nwhen = 'value.nope'");
    assert_eq!(
        run(&mut t, record(s.decode(&bytes).unwrap())).unwrap_err(),
        "transforms[0] (drop_fields): `when`: expression `value.nope` failed: No such key: nope"
    );
}
