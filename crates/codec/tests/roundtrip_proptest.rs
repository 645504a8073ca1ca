//! Property tests: for generated schemas and values, encode → decode is the
//! identity, decode → encode reproduces the bytes, and the natural and Avro
//! JSON forms parse back to the same value. Arbitrary bytes never panic.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use kbridge_codec::{AvroSchema, Decimal, Fields, JsonStyle, Record, Value};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum S {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    Str,
    Enum(String, Vec<String>),
    Fixed(String, usize),
    Array(Box<S>),
    Map(Box<S>),
    Record(String, Vec<(String, S)>),
    /// null + one non-null, non-union type
    Nullable(Box<S>),
    Decimal(u32),
    TsMicros,
    Date,
}

static NAMES: AtomicUsize = AtomicUsize::new(0);
fn fresh(prefix: &str) -> String {
    format!("{prefix}{}", NAMES.fetch_add(1, Ordering::Relaxed))
}

fn schema_strategy() -> impl Strategy<Value = S> {
    let leaf = prop_oneof![
        Just(S::Null),
        Just(S::Boolean),
        Just(S::Int),
        Just(S::Long),
        Just(S::Float),
        Just(S::Double),
        Just(S::Bytes),
        Just(S::Str),
        Just(S::TsMicros),
        Just(S::Date),
        (0u32..6).prop_map(S::Decimal),
        (1usize..4).prop_map(|n| S::Enum(fresh("E"), (0..n).map(|i| format!("S{i}")).collect())),
        (0usize..5).prop_map(|n| S::Fixed(fresh("F"), n)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| S::Array(Box::new(s))),
            inner.clone().prop_map(|s| S::Map(Box::new(s))),
            inner
                .clone()
                .prop_filter("no nested nullable", |s| !matches!(
                    s,
                    S::Nullable(_) | S::Null
                ))
                .prop_map(|s| S::Nullable(Box::new(s))),
            prop::collection::vec(inner, 0..4).prop_map(|fs| {
                S::Record(
                    fresh("R"),
                    fs.into_iter()
                        .enumerate()
                        .map(|(i, s)| (format!("f{i}"), s))
                        .collect(),
                )
            }),
        ]
    })
}

fn to_json(s: &S) -> serde_json::Value {
    use serde_json::json;
    match s {
        S::Null => json!("null"),
        S::Boolean => json!("boolean"),
        S::Int => json!("int"),
        S::Long => json!("long"),
        S::Float => json!("float"),
        S::Double => json!("double"),
        S::Bytes => json!("bytes"),
        S::Str => json!("string"),
        S::TsMicros => json!({"type":"long","logicalType":"timestamp-micros"}),
        S::Date => json!({"type":"int","logicalType":"date"}),
        S::Decimal(scale) => {
            json!({"type":"bytes","logicalType":"decimal","precision":30,"scale":scale})
        }
        S::Enum(n, syms) => json!({"type":"enum","name":n,"symbols":syms}),
        S::Fixed(n, size) => json!({"type":"fixed","name":n,"size":size}),
        S::Array(i) => json!({"type":"array","items":to_json(i)}),
        S::Map(v) => json!({"type":"map","values":to_json(v)}),
        S::Nullable(v) => json!(["null", to_json(v)]),
        S::Record(n, fs) => json!({"type":"record","name":n,"fields":
            fs.iter().map(|(f, s)| json!({"name":f,"type":to_json(s)})).collect::<Vec<_>>()}),
    }
}

fn value_strategy(s: &S) -> BoxedStrategy<Value<'static>> {
    match s {
        S::Null => Just(Value::Null).boxed(),
        S::Boolean => any::<bool>().prop_map(Value::Boolean).boxed(),
        S::Int => any::<i32>().prop_map(Value::Int).boxed(),
        S::Long => any::<i64>().prop_map(Value::Long).boxed(),
        S::Float => any::<f32>()
            .prop_filter("NaN", |f| !f.is_nan())
            .prop_map(Value::Float)
            .boxed(),
        S::Double => any::<f64>()
            .prop_filter("NaN", |f| !f.is_nan())
            .prop_map(Value::Double)
            .boxed(),
        S::Bytes => prop::collection::vec(any::<u8>(), 0..20)
            .prop_map(|b| Value::Bytes(Cow::Owned(b)))
            .boxed(),
        S::Str => ".{0,12}"
            .prop_map(|s: String| Value::String(Cow::Owned(s)))
            .boxed(),
        S::TsMicros => (-4_000_000_000_000_000i64..4_000_000_000_000_000)
            .prop_map(Value::TimestampMicros)
            .boxed(),
        S::Date => (-700_000i32..2_000_000).prop_map(Value::Date).boxed(),
        S::Decimal(scale) => {
            let scale = *scale;
            (any::<i64>(), any::<u16>())
                .prop_map(move |(a, b)| {
                    let n = num_bigint::BigInt::from(a) * 65536 + b;
                    Value::Decimal(Decimal::from_bigint(&n, scale))
                })
                .boxed()
        }
        S::Enum(_, syms) => {
            let syms = syms.clone();
            (0..syms.len())
                .prop_map(move |i| Value::Enum(i as u32, Cow::Owned(syms[i].clone())))
                .boxed()
        }
        S::Fixed(_, n) => prop::collection::vec(any::<u8>(), *n)
            .prop_map(|b| Value::Fixed(Cow::Owned(b)))
            .boxed(),
        S::Array(i) => prop::collection::vec(value_strategy(i), 0..4)
            .prop_map(Value::Array)
            .boxed(),
        S::Map(v) => prop::collection::vec(("[a-z]{0,4}", value_strategy(v)), 0..4)
            .prop_map(|kvs| {
                // distinct keys, wire order kept
                let mut f = Fields::new();
                for (k, v) in kvs {
                    if f.get(&k).is_none() {
                        f.push(k, v);
                    }
                }
                Value::Map(f)
            })
            .boxed(),
        S::Nullable(v) => prop_oneof![Just(Value::Null), value_strategy(v)].boxed(),
        S::Record(name, fs) => {
            let name: &'static str = Box::leak(name.clone().into_boxed_str());
            let names: Vec<String> = fs.iter().map(|(n, _)| n.clone()).collect();
            fs.iter()
                .map(|(_, s)| value_strategy(s))
                .collect::<Vec<_>>()
                .prop_map(move |vals| {
                    let mut r = Record::from_fields(names.iter().cloned().zip(vals));
                    r.name = Some(name);
                    Value::Record(r)
                })
                .boxed()
        }
    }
}

fn schema_and_value() -> impl Strategy<Value = (S, Value<'static>)> {
    schema_strategy().prop_flat_map(|s| {
        let v = value_strategy(&s);
        (Just(s), v)
    })
}

/// Decoded names borrow interned schema names, the generated ones are owned:
/// compare through the owned form.
fn norm(v: Value<'_>) -> Value<'static> {
    v.into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn encode_decode_is_identity((s, v) in schema_and_value()) {
        let schema = AvroSchema::parse(&to_json(&s).to_string()).unwrap();
        let mut bin = Vec::new();
        schema.encode(&v, &mut bin).unwrap();
        let back = schema.decode(&bin).unwrap();
        prop_assert_eq!(norm(back.clone()), norm(v.clone()));
        let mut again = Vec::new();
        schema.encode(&back, &mut again).unwrap();
        prop_assert_eq!(&again, &bin);

        for style in [JsonStyle::Natural, JsonStyle::Avro] {
            let mut j = Vec::new();
            schema.write_json(&v, style, &mut j).unwrap();
            let text = String::from_utf8(j).unwrap();
            let parsed = schema.value_from_json(&text, style);
            prop_assert!(parsed.is_ok(), "{:?} {}: {:?}", style, text, parsed);
            let mut bin2 = Vec::new();
            schema.encode(&parsed.unwrap(), &mut bin2).unwrap();
            // floats print shortest-round-trip: the bytes are the same
            prop_assert_eq!(&bin2, &bin, "{:?} {}", style, text);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(s in schema_strategy(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let schema = AvroSchema::parse(&to_json(&s).to_string()).unwrap();
        if let Ok(v) = schema.decode(&bytes) {
            let mut out = Vec::new();
            schema.encode(&v, &mut out).unwrap();
        }
    }
}
