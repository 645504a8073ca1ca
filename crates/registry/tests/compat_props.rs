//! Properties of the compatibility engine over random schemas (records,
//! enums, fixed, arrays, maps, unions, logical types, recursive records).

use std::collections::HashSet;

use apache_avro::Schema;
use kbridge_registry::compat::{self, CompatibilityLevel, IncompatibilityKind};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A schema shape; names are assigned when rendering so they are unique.
#[derive(Debug, Clone)]
enum Shape {
    Primitive(&'static str),
    Logical(&'static str, &'static str),
    Enum(Vec<&'static str>),
    Fixed(usize),
    Array(Box<Shape>),
    Map(Box<Shape>),
    Union(Vec<Shape>),
    /// Fields, and whether the record has an optional field of its own type.
    Record(Vec<Shape>, bool),
}

impl Shape {
    /// What Avro forbids twice in one union (logical types count as their
    /// underlying type); `None` for named types, which are unique here.
    fn union_key(&self) -> Option<&'static str> {
        match self {
            Shape::Primitive(p) | Shape::Logical(p, _) => Some(p),
            Shape::Array(_) => Some("array"),
            Shape::Map(_) => Some("map"),
            Shape::Union(_) => Some("union"),
            Shape::Enum(_) | Shape::Fixed(_) | Shape::Record(..) => None,
        }
    }
}

fn leaf() -> impl Strategy<Value = Shape> {
    prop_oneof![
        prop::sample::select(vec![
            "null", "boolean", "int", "long", "float", "double", "bytes", "string"
        ])
        .prop_map(Shape::Primitive),
        prop::sample::select(vec![
            ("int", "date"),
            ("long", "timestamp-millis"),
            ("long", "time-micros"),
            ("string", "uuid"),
        ])
        .prop_map(|(t, l)| Shape::Logical(t, l)),
        prop::sample::subsequence(vec!["A", "B", "C", "D"], 1..=4).prop_map(Shape::Enum),
        (1usize..5).prop_map(Shape::Fixed),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| Shape::Array(Box::new(s))),
            inner.clone().prop_map(|s| Shape::Map(Box::new(s))),
            prop::collection::vec(inner.clone(), 1..4).prop_map(Shape::Union),
            (prop::collection::vec(inner, 0..4), any::<bool>())
                .prop_map(|(f, r)| Shape::Record(f, r)),
        ]
    })
}

fn top_record() -> impl Strategy<Value = Shape> {
    (prop::collection::vec(shape(), 1..5), any::<bool>()).prop_map(|(f, r)| Shape::Record(f, r))
}

#[derive(Default)]
struct Names(usize);

impl Names {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("T{}", self.0)
    }
}

fn render(shape: &Shape, names: &mut Names) -> Value {
    match shape {
        Shape::Primitive(p) => json!(p),
        Shape::Logical(t, l) => json!({"type": t, "logicalType": l}),
        Shape::Enum(symbols) => json!({"type": "enum", "name": names.next(), "symbols": symbols}),
        Shape::Fixed(size) => json!({"type": "fixed", "name": names.next(), "size": size}),
        Shape::Array(items) => json!({"type": "array", "items": render(items, names)}),
        Shape::Map(values) => json!({"type": "map", "values": render(values, names)}),
        Shape::Union(branches) => {
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for branch in branches {
                match branch.union_key() {
                    Some("union") => continue,
                    Some(key) if !seen.insert(key) => continue,
                    _ => out.push(render(branch, names)),
                }
            }
            Value::Array(out)
        }
        Shape::Record(fields, recursive) => {
            let name = names.next();
            let mut rendered: Vec<Value> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| json!({"name": format!("f{i}"), "type": render(f, names)}))
                .collect();
            if *recursive {
                rendered.push(json!({"name": "me", "type": ["null", name], "default": null}));
            }
            json!({"type": "record", "name": name, "fields": rendered})
        }
    }
}

fn schema_of(shape: &Shape) -> Value {
    render(shape, &mut Names::default())
}

fn parse(value: &Value) -> Schema {
    Schema::parse(value).unwrap_or_else(|e| panic!("generated schema does not parse: {e}\n{value}"))
}

/// Replaces every `"int"` type by `"long"` (field names and symbols never
/// spell `int`).
fn widen_ints(value: &Value) -> Value {
    match value {
        Value::String(s) if s == "int" => json!("long"),
        Value::Array(items) => Value::Array(items.iter().map(widen_ints).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), widen_ints(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn with_field(record: &Value, field: Value) -> Value {
    let mut record = record.clone();
    record["fields"]
        .as_array_mut()
        .expect("record fields")
        .push(field);
    record
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_schema_is_compatible_with_itself_at_every_level(shape in top_record()) {
        let json = schema_of(&shape);
        let schema = parse(&json);
        let copy = parse(&json);
        for level in CompatibilityLevel::ALL {
            let found = compat::check(level, &schema, std::slice::from_ref(&copy));
            prop_assert!(found.is_empty(), "{level}: {found:#?}\n{json}");
            let found = compat::check(level, &schema, &[copy.clone(), copy.clone()]);
            prop_assert!(found.is_empty(), "{level} x2: {found:#?}\n{json}");
        }
    }

    #[test]
    fn an_optional_field_with_a_default_keeps_full_compatibility(shape in top_record()) {
        let old_json = schema_of(&shape);
        let new_json = with_field(&old_json, json!({"name": "added", "type": ["null", "string"], "default": null}));
        let found = compat::check(CompatibilityLevel::FullTransitive, &parse(&new_json), &[parse(&old_json)]);
        prop_assert!(found.is_empty(), "{found:#?}\n{new_json}");
    }

    #[test]
    fn a_required_field_breaks_backward_only(shape in top_record()) {
        let old_json = schema_of(&shape);
        let position = old_json["fields"].as_array().map_or(0, Vec::len);
        let new_json = with_field(&old_json, json!({"name": "added", "type": "int"}));
        let (new, old) = (parse(&new_json), parse(&old_json));

        let found = compat::check(CompatibilityLevel::Backward, &new, std::slice::from_ref(&old));
        prop_assert_eq!(found.len(), 1, "{:#?}", found);
        prop_assert!(found[0].is(IncompatibilityKind::ReaderFieldMissingDefaultValue));
        prop_assert_eq!(&found[0].path, &format!("/fields/{position}"));
        prop_assert_eq!(&found[0].field, "added");

        prop_assert!(compat::check(CompatibilityLevel::Forward, &new, &[old]).is_empty());
    }

    #[test]
    fn widening_int_to_long_is_backward_compatible_and_breaks_old_int_readers(shape in top_record()) {
        let old_json = schema_of(&shape);
        let new_json = widen_ints(&old_json);
        // A union holding both int and long would hold long twice.
        let new = Schema::parse(&new_json);
        prop_assume!(new.is_ok());
        let (new, old) = (new.expect("checked"), parse(&old_json));

        let backward = compat::check(CompatibilityLevel::Backward, &new, std::slice::from_ref(&old));
        prop_assert!(backward.is_empty(), "{backward:#?}\n{old_json}");
        let forward = compat::check(CompatibilityLevel::Forward, &new, &[old]);
        if !old_json.to_string().contains("\"int\"") {
            prop_assert!(forward.is_empty(), "{forward:#?}");
        }
        // A top-level int field can no longer be read by the old schema
        // (ints nested in unions may still be read by a float branch).
        let int_fields = old_json["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, field)| field["type"] == "int");
        for (i, _) in int_fields {
            let path = format!("/fields/{i}/type");
            prop_assert!(
                forward.iter().any(|f| f.path == path
                    && f.additional_info == "reader type: INT not compatible with writer type: LONG"),
                "no narrowing reported at {path}: {forward:#?}"
            );
        }
    }
}
