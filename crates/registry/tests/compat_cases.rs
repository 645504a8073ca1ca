//! Table-driven cases for the Avro compatibility engine: every resolution
//! rule at every level, each asserting the verdict and every reason (kind,
//! JSON-pointer path, field path, index of the previous schema and key words
//! of the message).

use apache_avro::Schema;
use kbridge_registry::compat::{self, CompatibilityLevel, Incompatibility, IncompatibilityKind};
use serde_json::{Value, json};

use CompatibilityLevel::{
    Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive,
    None as NoneLevel,
};
use IncompatibilityKind::{
    FixedSizeMismatch, MissingEnumSymbols, MissingUnionBranch, NameMismatch,
    ReaderFieldMissingDefaultValue, TypeMismatch, UnresolvedNamedType,
};

// ---------------------------------------------------------------------------
// Schema builders
// ---------------------------------------------------------------------------

fn rec(name: &str, fields: Value) -> Value {
    json!({"type": "record", "name": name, "fields": fields})
}

fn rec_ns(name: &str, namespace: &str, fields: Value) -> Value {
    json!({"type": "record", "name": name, "namespace": namespace, "fields": fields})
}

fn f(name: &str, ty: Value) -> Value {
    json!({"name": name, "type": ty})
}

fn fd(name: &str, ty: Value, default: Value) -> Value {
    json!({"name": name, "type": ty, "default": default})
}

/// Record `R` with one field `a` of type `ty`.
fn one(ty: Value) -> Value {
    rec("R", json!([f("a", ty)]))
}

fn enm(name: &str, symbols: &[&str]) -> Value {
    json!({"type": "enum", "name": name, "symbols": symbols})
}

fn fixed(name: &str, size: usize) -> Value {
    json!({"type": "fixed", "name": name, "size": size})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

fn map(values: Value) -> Value {
    json!({"type": "map", "values": values})
}

fn logical(ty: &str, logical_type: &str) -> Value {
    json!({"type": ty, "logicalType": logical_type})
}

fn linked_list(value_ty: &str, extra: Option<Value>) -> Value {
    let mut fields = vec![
        f("value", json!(value_ty)),
        fd("next", json!(["null", "LinkedList"]), Value::Null),
    ];
    fields.extend(extra);
    rec("LinkedList", Value::Array(fields))
}

fn health(file: &str) -> Value {
    let path = format!("{}/tests/data/compat/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The health schema with `processed_at` appended (optionally with a
/// default) and optionally renamed with an alias to the original name.
fn health_evolved(default: Option<Value>, rename: Option<(&str, &[&str])>) -> Value {
    let mut schema = health("health.avsc");
    let field = match default {
        Some(d) => fd("processed_at", logical("long", "timestamp-millis"), d),
        None => f("processed_at", logical("long", "timestamp-millis")),
    };
    schema["fields"].as_array_mut().expect("fields").push(field);
    if let Some((name, aliases)) = rename {
        schema["name"] = json!(name);
        schema["aliases"] = json!(aliases);
    }
    schema
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

struct Expect {
    kind: IncompatibilityKind,
    path: &'static str,
    field: &'static str,
    words: &'static [&'static str],
    /// `None` = the last previous schema.
    previous_index: Option<usize>,
}

fn e(
    kind: IncompatibilityKind,
    path: &'static str,
    field: &'static str,
    words: &'static [&'static str],
) -> Expect {
    Expect {
        kind,
        path,
        field,
        words,
        previous_index: None,
    }
}

impl Expect {
    fn against(mut self, index: usize) -> Self {
        self.previous_index = Some(index);
        self
    }
}

struct Case {
    name: &'static str,
    level: CompatibilityLevel,
    new: Value,
    previous: Vec<Value>,
    expect: Vec<Expect>,
}

fn case(
    name: &'static str,
    level: CompatibilityLevel,
    new: Value,
    previous: Vec<Value>,
    expect: Vec<Expect>,
) -> Case {
    Case {
        name,
        level,
        new,
        previous,
        expect,
    }
}

/// BACKWARD check of new field type `reader` against old field type `writer`.
fn promo(name: &'static str, reader: &str, writer: &str, expect: Vec<Expect>) -> Case {
    case(
        name,
        Backward,
        one(json!(reader)),
        vec![one(json!(writer))],
        expect,
    )
}

fn ok() -> Vec<Expect> {
    Vec::new()
}

const NEW_READS: &[&str] = &["in the new schema", "the old schema"];
const OLD_READS: &[&str] = &["in the old schema", "the new schema"];

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    let r_a = || one(json!("int"));
    let r_ab = || rec("R", json!([f("a", json!("int")), f("b", json!("string"))]));
    let r_ab_default = || {
        rec(
            "R",
            json!([f("a", json!("int")), fd("b", json!("string"), json!("x"))]),
        )
    };

    vec![
        // ---- levels -------------------------------------------------------
        case(
            "none accepts anything",
            NoneLevel,
            one(json!("string")),
            vec![r_a()],
            ok(),
        ),
        case(
            "none accepts a renamed record",
            NoneLevel,
            rec("Other", json!([])),
            vec![r_a()],
            ok(),
        ),
        case(
            "empty history is compatible at backward",
            Backward,
            r_ab(),
            vec![],
            ok(),
        ),
        case(
            "empty history is compatible at full transitive",
            FullTransitive,
            r_ab(),
            vec![],
            ok(),
        ),
        case(
            "backward: added field without default",
            Backward,
            r_ab(),
            vec![r_a()],
            vec![e(
                ReaderFieldMissingDefaultValue,
                "/fields/1",
                "b",
                &[
                    "'b'",
                    "in the new schema has no default value",
                    "missing in the old schema",
                ],
            )],
        ),
        case(
            "backward: added field with default",
            Backward,
            r_ab_default(),
            vec![r_a()],
            ok(),
        ),
        case(
            "backward: removed field",
            Backward,
            r_a(),
            vec![r_ab()],
            ok(),
        ),
        case(
            "forward: removed field without default",
            Forward,
            r_a(),
            vec![r_ab()],
            vec![e(
                ReaderFieldMissingDefaultValue,
                "/fields/1",
                "b",
                &[
                    "'b'",
                    "in the old schema has no default value",
                    "missing in the new schema",
                ],
            )],
        ),
        case(
            "forward: removed field that had a default",
            Forward,
            r_a(),
            vec![r_ab_default()],
            ok(),
        ),
        case(
            "forward: added field without default",
            Forward,
            r_ab(),
            vec![r_a()],
            ok(),
        ),
        case(
            "full: added field with default",
            Full,
            r_ab_default(),
            vec![r_a()],
            ok(),
        ),
        case(
            "full: added field without default fails the backward half",
            Full,
            r_ab(),
            vec![r_a()],
            vec![e(
                ReaderFieldMissingDefaultValue,
                "/fields/1",
                "b",
                NEW_READS,
            )],
        ),
        case(
            "full: removed field without default fails the forward half",
            Full,
            r_a(),
            vec![r_ab()],
            vec![e(
                ReaderFieldMissingDefaultValue,
                "/fields/1",
                "b",
                OLD_READS,
            )],
        ),
        case(
            "full: type change fails both halves, backward first",
            Full,
            one(json!("string")),
            vec![r_a()],
            vec![
                e(
                    TypeMismatch,
                    "/fields/0/type",
                    "a",
                    &[
                        "reader type: STRING not compatible with writer type: INT",
                        "in the new schema",
                    ],
                ),
                e(
                    TypeMismatch,
                    "/fields/0/type",
                    "a",
                    &[
                        "reader type: INT not compatible with writer type: STRING",
                        "in the old schema",
                    ],
                ),
            ],
        ),
        case(
            "backward only checks the latest schema",
            Backward,
            rec(
                "R",
                json!([f("a", json!("int")), fd("b", json!("string"), json!("x"))]),
            ),
            vec![
                rec("R", json!([f("a", json!("int")), f("b", json!("int"))])),
                r_a(),
            ],
            ok(),
        ),
        case(
            "backward transitive checks every schema",
            BackwardTransitive,
            rec(
                "R",
                json!([f("a", json!("int")), fd("b", json!("string"), json!("x"))]),
            ),
            vec![
                rec("R", json!([f("a", json!("int")), f("b", json!("int"))])),
                r_a(),
            ],
            vec![
                e(
                    TypeMismatch,
                    "/fields/1/type",
                    "b",
                    &["reader type: STRING not compatible with writer type: INT"],
                )
                .against(0),
            ],
        ),
        case(
            "backward transitive reports newest first",
            BackwardTransitive,
            one(json!("boolean")),
            vec![one(json!("int")), one(json!("long"))],
            vec![
                e(TypeMismatch, "/fields/0/type", "a", &["writer type: LONG"]).against(1),
                e(TypeMismatch, "/fields/0/type", "a", &["writer type: INT"]).against(0),
            ],
        ),
        case(
            "backward error names the latest schema's index",
            Backward,
            one(json!("boolean")),
            vec![one(json!("boolean")), one(json!("string"))],
            vec![
                e(
                    TypeMismatch,
                    "/fields/0/type",
                    "a",
                    &["reader type: BOOLEAN not compatible with writer type: STRING"],
                )
                .against(1),
            ],
        ),
        case(
            "forward only checks the latest schema",
            Forward,
            r_a(),
            vec![r_ab(), r_ab_default()],
            ok(),
        ),
        case(
            "forward transitive checks every schema",
            ForwardTransitive,
            r_a(),
            vec![r_ab(), r_ab_default()],
            vec![e(ReaderFieldMissingDefaultValue, "/fields/1", "b", OLD_READS).against(0)],
        ),
        case(
            "full transitive: compatible with every schema",
            FullTransitive,
            rec(
                "R",
                json!([f("a", json!("int")), fd("c", json!("long"), json!(0))]),
            ),
            vec![r_a(), r_ab_default()],
            ok(),
        ),
        case(
            "full transitive: forward failure against the oldest only",
            FullTransitive,
            rec(
                "R",
                json!([f("a", json!("int")), fd("c", json!("long"), json!(0))]),
            ),
            vec![r_ab(), r_ab_default()],
            vec![e(ReaderFieldMissingDefaultValue, "/fields/1", "b", OLD_READS).against(0)],
        ),
        case(
            "full (non-transitive) ignores the oldest",
            Full,
            rec(
                "R",
                json!([f("a", json!("int")), fd("c", json!("long"), json!(0))]),
            ),
            vec![r_ab(), r_ab_default()],
            ok(),
        ),
        // ---- primitives and promotions -----------------------------------
        promo("int promotes to long", "long", "int", ok()),
        promo("int promotes to float", "float", "int", ok()),
        promo("int promotes to double", "double", "int", ok()),
        promo("long promotes to float", "float", "long", ok()),
        promo("long promotes to double", "double", "long", ok()),
        promo("float promotes to double", "double", "float", ok()),
        promo("string reads as bytes", "bytes", "string", ok()),
        promo("bytes reads as string", "string", "bytes", ok()),
        promo(
            "long does not narrow to int",
            "int",
            "long",
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &[
                    "reader type: INT not compatible with writer type: LONG",
                    "The type (path '/fields/0/type')",
                ],
            )],
        ),
        promo(
            "double does not narrow to float",
            "float",
            "double",
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: FLOAT not compatible with writer type: DOUBLE"],
            )],
        ),
        promo(
            "float does not convert to long",
            "long",
            "float",
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: LONG not compatible with writer type: FLOAT"],
            )],
        ),
        promo(
            "int does not convert to string",
            "string",
            "int",
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: STRING not compatible with writer type: INT"],
            )],
        ),
        promo(
            "boolean does not convert to int",
            "int",
            "boolean",
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: INT not compatible with writer type: BOOLEAN"],
            )],
        ),
        promo(
            "null does not convert to string",
            "string",
            "null",
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: STRING not compatible with writer type: NULL"],
            )],
        ),
        case(
            "forward: widening int to long breaks old readers",
            Forward,
            one(json!("long")),
            vec![one(json!("int"))],
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &[
                    "reader type: INT not compatible with writer type: LONG",
                    "in the old schema",
                ],
            )],
        ),
        case(
            "top-level primitive promotion",
            Backward,
            json!("double"),
            vec![json!("int")],
            ok(),
        ),
        case(
            "top-level primitive mismatch has the root path",
            Backward,
            json!("int"),
            vec![json!("string")],
            vec![e(
                TypeMismatch,
                "/",
                "",
                &[
                    "The type (path '/')",
                    "reader type: INT not compatible with writer type: STRING",
                ],
            )],
        ),
        // ---- records ------------------------------------------------------
        case(
            "renamed field with an alias to the old name",
            Backward,
            rec(
                "R",
                json!([{"name": "amount", "type": "int", "aliases": ["a"]}]),
            ),
            vec![r_a()],
            ok(),
        ),
        case(
            "renamed field without alias or default",
            Backward,
            rec("R", json!([f("amount", json!("int"))])),
            vec![r_a()],
            vec![e(
                ReaderFieldMissingDefaultValue,
                "/fields/0",
                "amount",
                &["'amount'", "has no default value"],
            )],
        ),
        case(
            "aliased field still checks its type",
            Backward,
            rec(
                "R",
                json!([{"name": "amount", "type": "int", "aliases": ["a"]}]),
            ),
            vec![one(json!("string"))],
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "amount",
                &["reader type: INT not compatible with writer type: STRING"],
            )],
        ),
        case(
            "field order does not matter",
            Full,
            rec("R", json!([f("b", json!("string")), f("a", json!("int"))])),
            vec![r_ab()],
            ok(),
        ),
        case(
            "null default on an optional field",
            Backward,
            rec(
                "R",
                json!([
                    f("a", json!("int")),
                    fd("note", json!(["null", "string"]), Value::Null)
                ]),
            ),
            vec![r_a()],
            ok(),
        ),
        case(
            "record renamed",
            Backward,
            rec_ns("Renamed", "com.example", json!([f("a", json!("int"))])),
            vec![rec_ns("R", "com.example", json!([f("a", json!("int"))]))],
            vec![e(
                NameMismatch,
                "/name",
                "",
                &[
                    "The name of the schema has changed (path '/name')",
                    "expected: com.example.R",
                ],
            )],
        ),
        case(
            "record renamed with an alias relative to its namespace",
            Full,
            json!({"type": "record", "name": "Renamed", "namespace": "com.example", "aliases": ["R"], "fields": [f("a", json!("int"))]}),
            vec![rec_ns("R", "com.example", json!([f("a", json!("int"))]))],
            // Backward passes through the alias; forward (old reads new) has no alias.
            vec![e(
                NameMismatch,
                "/name",
                "",
                &["expected: com.example.Renamed"],
            )],
        ),
        case(
            "record renamed with a fully qualified alias",
            Backward,
            json!({"type": "record", "name": "Renamed", "namespace": "org.new", "aliases": ["com.example.R"], "fields": [f("a", json!("int"))]}),
            vec![rec_ns("R", "com.example", json!([f("a", json!("int"))]))],
            ok(),
        ),
        case(
            "namespace change keeps the unqualified name",
            Full,
            rec_ns("R", "org.new", json!([f("a", json!("int"))])),
            vec![rec_ns("R", "com.example", json!([f("a", json!("int"))]))],
            ok(),
        ),
        case(
            "alias in the wrong namespace does not match",
            Backward,
            json!({"type": "record", "name": "Renamed", "namespace": "org.new", "aliases": ["R"], "fields": [f("a", json!("int"))]}),
            vec![rec_ns("R", "com.example", json!([f("a", json!("int"))]))],
            vec![e(NameMismatch, "/name", "", &["expected: com.example.R"])],
        ),
        case(
            "nested record field added without default",
            Backward,
            rec(
                "R",
                json!([f(
                    "inner",
                    rec("Inner", json!([f("x", json!("int")), f("y", json!("int"))]))
                )]),
            ),
            vec![rec(
                "R",
                json!([f("inner", rec("Inner", json!([f("x", json!("int"))])))]),
            )],
            vec![e(
                ReaderFieldMissingDefaultValue,
                "/fields/0/type/fields/1",
                "inner.y",
                &["'y'", "path '/fields/0/type/fields/1'"],
            )],
        ),
        case(
            "nested record renamed",
            Backward,
            rec(
                "R",
                json!([f("inner", rec("Other", json!([f("x", json!("int"))])))]),
            ),
            vec![rec(
                "R",
                json!([f("inner", rec("Inner", json!([f("x", json!("int"))])))]),
            )],
            vec![e(
                NameMismatch,
                "/fields/0/type/name",
                "inner",
                &["expected: Inner"],
            )],
        ),
        case(
            "deeply nested type mismatch",
            Backward,
            rec(
                "R",
                json!([f(
                    "a",
                    rec(
                        "A",
                        json!([f("b", rec("B", json!([f("c", json!("int"))])))])
                    )
                )]),
            ),
            vec![rec(
                "R",
                json!([f(
                    "a",
                    rec(
                        "A",
                        json!([f("b", rec("B", json!([f("c", json!("string"))])))])
                    )
                )]),
            )],
            vec![e(
                TypeMismatch,
                "/fields/0/type/fields/0/type/fields/0/type",
                "a.b.c",
                &["reader type: INT not compatible with writer type: STRING"],
            )],
        ),
        case(
            "several problems are all reported",
            Backward,
            rec(
                "R",
                json!([
                    f("a", json!("string")),
                    f("b", json!("int")),
                    f("c", json!("int"))
                ]),
            ),
            vec![r_a()],
            vec![
                e(TypeMismatch, "/fields/0/type", "a", &["writer type: INT"]),
                e(ReaderFieldMissingDefaultValue, "/fields/1", "b", &["'b'"]),
                e(ReaderFieldMissingDefaultValue, "/fields/2", "c", &["'c'"]),
            ],
        ),
        case(
            "record read as a map is a type mismatch",
            Backward,
            one(map(json!("int"))),
            vec![one(rec("Inner", json!([f("x", json!("int"))])))],
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: MAP not compatible with writer type: RECORD"],
            )],
        ),
        // ---- enums --------------------------------------------------------
        case(
            "enum symbol added (backward)",
            Backward,
            one(enm("E", &["A", "B", "C"])),
            vec![one(enm("E", &["A", "B"]))],
            ok(),
        ),
        case(
            "enum symbol removed (backward)",
            Backward,
            one(enm("E", &["A", "B"])),
            vec![one(enm("E", &["A", "B", "C"]))],
            vec![e(
                MissingEnumSymbols,
                "/fields/0/type/symbols",
                "a",
                &[
                    "The new schema is missing enum symbols '[C]'",
                    "in the old schema",
                ],
            )],
        ),
        case(
            "enum symbols removed are listed sorted",
            Backward,
            one(enm("E", &["B"])),
            vec![one(enm("E", &["D", "B", "A"]))],
            vec![e(
                MissingEnumSymbols,
                "/fields/0/type/symbols",
                "a",
                &["'[A, D]'"],
            )],
        ),
        case(
            "enum symbol added (forward)",
            Forward,
            one(enm("E", &["A", "B", "C"])),
            vec![one(enm("E", &["A", "B"]))],
            vec![e(
                MissingEnumSymbols,
                "/fields/0/type/symbols",
                "a",
                &[
                    "The old schema is missing enum symbols '[C]'",
                    "in the new schema",
                ],
            )],
        ),
        case(
            "enum symbol added, old reader has a default symbol",
            Forward,
            one(
                json!({"type": "enum", "name": "E", "symbols": ["A", "B", "C", "UNKNOWN"], "default": "UNKNOWN"}),
            ),
            vec![one(
                json!({"type": "enum", "name": "E", "symbols": ["A", "B", "UNKNOWN"], "default": "UNKNOWN"}),
            )],
            ok(),
        ),
        case(
            "enum symbol removed, new reader has a default symbol",
            Backward,
            one(
                json!({"type": "enum", "name": "E", "symbols": ["A", "UNKNOWN"], "default": "UNKNOWN"}),
            ),
            vec![one(enm("E", &["A", "B"]))],
            ok(),
        ),
        case(
            "enum renamed",
            Backward,
            one(enm("Color", &["A"])),
            vec![one(enm("E", &["A"]))],
            vec![e(
                NameMismatch,
                "/fields/0/type/name",
                "a",
                &["expected: E"],
            )],
        ),
        case(
            "enum renamed with an alias",
            Backward,
            one(json!({"type": "enum", "name": "Color", "aliases": ["E"], "symbols": ["A"]})),
            vec![one(enm("E", &["A"]))],
            ok(),
        ),
        case(
            "enum read as string is a type mismatch",
            Backward,
            one(json!("string")),
            vec![one(enm("E", &["A"]))],
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: STRING not compatible with writer type: ENUM"],
            )],
        ),
        // ---- fixed --------------------------------------------------------
        case(
            "fixed unchanged",
            Full,
            one(fixed("Hash", 16)),
            vec![one(fixed("Hash", 16))],
            ok(),
        ),
        case(
            "fixed size changed",
            Backward,
            one(fixed("Hash", 8)),
            vec![one(fixed("Hash", 16))],
            vec![e(
                FixedSizeMismatch,
                "/fields/0/type/size",
                "a",
                &[
                    "expected: 16, found: 8",
                    "The size of FIXED type field at path '/fields/0/type/size' in the new schema",
                ],
            )],
        ),
        case(
            "fixed renamed",
            Backward,
            one(fixed("Digest", 16)),
            vec![one(fixed("Hash", 16))],
            vec![e(
                NameMismatch,
                "/fields/0/type/name",
                "a",
                &["expected: Hash"],
            )],
        ),
        case(
            "fixed renamed and resized report both",
            Backward,
            one(fixed("Digest", 32)),
            vec![one(fixed("Hash", 16))],
            vec![
                e(
                    NameMismatch,
                    "/fields/0/type/name",
                    "a",
                    &["expected: Hash"],
                ),
                e(
                    FixedSizeMismatch,
                    "/fields/0/type/size",
                    "a",
                    &["expected: 16, found: 32"],
                ),
            ],
        ),
        case(
            "fixed renamed with an alias",
            Backward,
            one(json!({"type": "fixed", "name": "Digest", "aliases": ["Hash"], "size": 16})),
            vec![one(fixed("Hash", 16))],
            ok(),
        ),
        case(
            "fixed read as bytes is a type mismatch",
            Backward,
            one(json!("bytes")),
            vec![one(fixed("Hash", 16))],
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: BYTES not compatible with writer type: FIXED"],
            )],
        ),
        // ---- unions -------------------------------------------------------
        case(
            "field made optional",
            Backward,
            one(json!(["null", "int"])),
            vec![r_a()],
            ok(),
        ),
        case(
            "optional field made required",
            Backward,
            r_a(),
            vec![one(json!(["null", "int"]))],
            vec![e(
                TypeMismatch,
                "/fields/0/type/0",
                "a",
                &["reader type: INT not compatible with writer type: NULL"],
            )],
        ),
        case(
            "promotion inside unions",
            Backward,
            one(json!(["null", "long"])),
            vec![one(json!(["null", "int"]))],
            ok(),
        ),
        case(
            "union branch order changed",
            Full,
            one(json!(["string", "null"])),
            vec![one(json!(["null", "string"]))],
            ok(),
        ),
        case(
            "union branch removed",
            Backward,
            one(json!(["null", "int"])),
            vec![one(json!(["null", "int", "string"]))],
            vec![e(
                MissingUnionBranch,
                "/fields/0/type/2",
                "a",
                &[
                    "reader union lacking writer type: STRING",
                    "The new schema is missing a type inside a union field",
                ],
            )],
        ),
        case(
            "union branch added (backward)",
            Backward,
            one(json!(["null", "int", "string"])),
            vec![one(json!(["null", "int"]))],
            ok(),
        ),
        case(
            "union branch added (forward)",
            Forward,
            one(json!(["null", "int", "string"])),
            vec![one(json!(["null", "int"]))],
            vec![e(
                MissingUnionBranch,
                "/fields/0/type/2",
                "a",
                &[
                    "reader union lacking writer type: STRING",
                    "The old schema is missing a type",
                ],
            )],
        ),
        case(
            "non-union writer missing from the reader union",
            Backward,
            one(json!(["null", "int"])),
            vec![one(json!("string"))],
            vec![e(
                MissingUnionBranch,
                "/fields/0/type",
                "a",
                &["reader union lacking writer type: STRING"],
            )],
        ),
        case(
            "writer union with a branch the reader cannot read",
            Backward,
            one(json!("string")),
            vec![one(json!(["string", "int", "null"]))],
            vec![
                e(TypeMismatch, "/fields/0/type/1", "a", &["writer type: INT"]),
                e(
                    TypeMismatch,
                    "/fields/0/type/2",
                    "a",
                    &["writer type: NULL"],
                ),
            ],
        ),
        case(
            "single-branch writer union read by its branch type",
            Backward,
            one(json!("long")),
            vec![one(json!(["int"]))],
            ok(),
        ),
        case(
            "record inside a union gains a required field",
            Backward,
            one(json!([
                "null",
                rec("Inner", json!([f("x", json!("int")), f("y", json!("int"))]))
            ])),
            vec![one(json!([
                "null",
                rec("Inner", json!([f("x", json!("int"))]))
            ]))],
            vec![e(
                MissingUnionBranch,
                "/fields/0/type/1",
                "a",
                &["reader union lacking writer type: RECORD"],
            )],
        ),
        case(
            "record inside a union gains an optional field",
            Full,
            one(json!([
                "null",
                rec(
                    "Inner",
                    json!([f("x", json!("int")), fd("y", json!("int"), json!(0))])
                )
            ])),
            vec![one(json!([
                "null",
                rec("Inner", json!([f("x", json!("int"))]))
            ]))],
            ok(),
        ),
        case(
            "union of two records matched by name",
            Full,
            one(json!([
                rec("Cat", json!([f("lives", json!("int"))])),
                rec("Dog", json!([f("good", json!("boolean"))]))
            ])),
            vec![one(json!([
                rec("Dog", json!([f("good", json!("boolean"))])),
                rec("Cat", json!([f("lives", json!("int"))]))
            ]))],
            ok(),
        ),
        // ---- arrays and maps ---------------------------------------------
        case(
            "array items promoted",
            Backward,
            one(array(json!("long"))),
            vec![one(array(json!("int")))],
            ok(),
        ),
        case(
            "array items narrowed",
            Backward,
            one(array(json!("int"))),
            vec![one(array(json!("long")))],
            vec![e(
                TypeMismatch,
                "/fields/0/type/items",
                "a[]",
                &["reader type: INT not compatible with writer type: LONG"],
            )],
        ),
        case(
            "map values changed",
            Backward,
            one(map(json!("int"))),
            vec![one(map(json!("string")))],
            vec![e(
                TypeMismatch,
                "/fields/0/type/values",
                "a{}",
                &["reader type: INT not compatible with writer type: STRING"],
            )],
        ),
        case(
            "array read as map",
            Backward,
            one(map(json!("int"))),
            vec![one(array(json!("int")))],
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: MAP not compatible with writer type: ARRAY"],
            )],
        ),
        case(
            "record in an array gains a required field",
            Backward,
            rec(
                "R",
                json!([f(
                    "readings",
                    array(rec(
                        "Reading",
                        json!([f("v", json!("double")), f("unit", json!("string"))])
                    ))
                )]),
            ),
            vec![rec(
                "R",
                json!([f(
                    "readings",
                    array(rec("Reading", json!([f("v", json!("double"))])))
                )]),
            )],
            vec![e(
                ReaderFieldMissingDefaultValue,
                "/fields/0/type/items/fields/1",
                "readings[].unit",
                &["'unit'"],
            )],
        ),
        case(
            "map of arrays of unions",
            Backward,
            one(map(array(json!(["null", "double"])))),
            vec![one(map(array(json!(["null", "float", "int"]))))],
            ok(),
        ),
        // ---- recursive types ---------------------------------------------
        case(
            "recursive list against itself",
            FullTransitive,
            linked_list("int", None),
            vec![linked_list("int", None), linked_list("int", None)],
            ok(),
        ),
        case(
            "recursive list with promoted value",
            Backward,
            linked_list("long", None),
            vec![linked_list("int", None)],
            ok(),
        ),
        case(
            "recursive list with narrowed value is reported once",
            Backward,
            linked_list("int", None),
            vec![linked_list("long", None)],
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "value",
                &["reader type: INT not compatible with writer type: LONG"],
            )],
        ),
        case(
            "recursive list gains a required field",
            Backward,
            linked_list("int", Some(f("label", json!("string")))),
            vec![linked_list("int", None)],
            vec![e(
                ReaderFieldMissingDefaultValue,
                "/fields/2",
                "label",
                &["'label'"],
            )],
        ),
        case(
            "tree through an array of itself",
            Full,
            rec(
                "Tree",
                json!([f("v", json!("int")), f("children", array(json!("Tree")))]),
            ),
            vec![rec(
                "Tree",
                json!([f("v", json!("int")), f("children", array(json!("Tree")))]),
            )],
            ok(),
        ),
        case(
            "mutually recursive records",
            Backward,
            rec(
                "A",
                json!([f(
                    "b",
                    json!([
                        "null",
                        rec(
                            "B",
                            json!([f("a", json!(["null", "A"])), f("n", json!("long"))])
                        )
                    ])
                )]),
            ),
            vec![rec(
                "A",
                json!([f(
                    "b",
                    json!([
                        "null",
                        rec(
                            "B",
                            json!([f("a", json!(["null", "A"])), f("n", json!("int"))])
                        )
                    ])
                )]),
            )],
            ok(),
        ),
        case(
            "named type reused by reference",
            Backward,
            rec(
                "R",
                json!([
                    f("home", rec("Address", json!([f("zip", json!("int"))]))),
                    f("work", json!("Address"))
                ]),
            ),
            vec![rec(
                "R",
                json!([
                    f("home", rec("Address", json!([f("zip", json!("string"))]))),
                    f("work", json!("Address"))
                ]),
            )],
            vec![
                e(
                    TypeMismatch,
                    "/fields/0/type/fields/0/type",
                    "home.zip",
                    &["reader type: INT not compatible with writer type: STRING"],
                ),
                e(
                    TypeMismatch,
                    "/fields/1/type/fields/0/type",
                    "work.zip",
                    &["reader type: INT not compatible with writer type: STRING"],
                ),
            ],
        ),
        case(
            "named type referenced by one of its aliases",
            Backward,
            rec(
                "R",
                json!([
                    f(
                        "home",
                        json!({"type": "record", "name": "Address", "aliases": ["Place"], "fields": [f("zip", json!("int"))]})
                    ),
                    f("work", json!("Place")),
                ]),
            ),
            vec![rec(
                "R",
                json!([
                    f("home", rec("Address", json!([f("zip", json!("string"))]))),
                    f("work", json!("Address"))
                ]),
            )],
            vec![
                e(
                    TypeMismatch,
                    "/fields/0/type/fields/0/type",
                    "home.zip",
                    &["reader type: INT not compatible with writer type: STRING"],
                ),
                e(
                    TypeMismatch,
                    "/fields/1/type/fields/0/type",
                    "work.zip",
                    &["reader type: INT not compatible with writer type: STRING"],
                ),
            ],
        ),
        // ---- logical types ------------------------------------------------
        case(
            "timestamp-millis reads long",
            Full,
            one(logical("long", "timestamp-millis")),
            vec![one(json!("long"))],
            ok(),
        ),
        case(
            "date reads int",
            Full,
            one(logical("int", "date")),
            vec![one(json!("int"))],
            ok(),
        ),
        case(
            "date promotes to timestamp-millis",
            Backward,
            one(logical("long", "timestamp-millis")),
            vec![one(logical("int", "date"))],
            ok(),
        ),
        case(
            "timestamp-millis does not narrow to date",
            Backward,
            one(logical("int", "date")),
            vec![one(logical("long", "timestamp-millis"))],
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: INT not compatible with writer type: LONG"],
            )],
        ),
        case(
            "uuid reads string",
            Full,
            one(logical("string", "uuid")),
            vec![one(json!("string"))],
            ok(),
        ),
        case(
            "decimal on bytes follows bytes",
            Full,
            one(json!({"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2})),
            vec![one(json!("bytes"))],
            ok(),
        ),
        case(
            "decimal on fixed follows fixed size",
            Backward,
            one(
                json!({"type": "fixed", "name": "Money", "size": 8, "logicalType": "decimal", "precision": 10, "scale": 2}),
            ),
            vec![one(
                json!({"type": "fixed", "name": "Money", "size": 16, "logicalType": "decimal", "precision": 10, "scale": 2}),
            )],
            vec![e(
                FixedSizeMismatch,
                "/fields/0/type/size",
                "a",
                &["expected: 16, found: 8"],
            )],
        ),
        case(
            "decimal read as string is a type mismatch",
            Backward,
            one(json!("int")),
            vec![one(
                json!({"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}),
            )],
            vec![e(
                TypeMismatch,
                "/fields/0/type",
                "a",
                &["reader type: INT not compatible with writer type: BYTES"],
            )],
        ),
        // ---- the health telemetry schema ---------------------------------
        case(
            "health_out.avsc as a new version of health.avsc",
            Backward,
            health("health_out.avsc"),
            vec![health("health.avsc")],
            vec![
                e(
                    NameMismatch,
                    "/name",
                    "",
                    &["expected: bench.health.HealthEvent"],
                ),
                e(
                    ReaderFieldMissingDefaultValue,
                    "/fields/15",
                    "processed_at",
                    &[
                        "The field 'processed_at' at path '/fields/15' in the new schema has no default value and is missing in the old schema",
                    ],
                ),
            ],
        ),
        case(
            "health: processed_at added without default",
            Backward,
            health_evolved(None, None),
            vec![health("health.avsc")],
            vec![e(
                ReaderFieldMissingDefaultValue,
                "/fields/15",
                "processed_at",
                &["'processed_at'"],
            )],
        ),
        case(
            "health: processed_at added with a default",
            Backward,
            health_evolved(Some(json!(0)), None),
            vec![health("health.avsc")],
            ok(),
        ),
        case(
            "health: processed_at added, forward",
            Forward,
            health_evolved(None, None),
            vec![health("health.avsc")],
            ok(),
        ),
        case(
            "health: processed_at added with a default, full",
            Full,
            health_evolved(Some(json!(0)), None),
            vec![health("health.avsc")],
            ok(),
        ),
        case(
            "health: renamed with an alias and a default",
            Backward,
            health_evolved(
                Some(json!(0)),
                Some(("HealthEventProcessed", &["HealthEvent"])),
            ),
            vec![health("health.avsc")],
            ok(),
        ),
        case(
            "health: metric symbol dropped and battery made required",
            BackwardTransitive,
            {
                let mut s = health("health.avsc");
                s["fields"][3]["type"]["symbols"] = json!(["HEART_RATE", "STEPS"]);
                s["fields"][14]["type"]["fields"][3] = f("battery_pct", json!("int"));
                s
            },
            vec![health("health.avsc")],
            vec![
                e(
                    MissingEnumSymbols,
                    "/fields/3/type/symbols",
                    "metric",
                    &[
                        "'[BLOOD_GLUCOSE, BLOOD_PRESSURE_DIASTOLIC, BLOOD_PRESSURE_SYSTOLIC, BODY_TEMPERATURE, RESPIRATORY_RATE, SLEEP_MINUTES, SPO2, WEIGHT]'",
                    ],
                ),
                e(
                    TypeMismatch,
                    "/fields/14/type/fields/3/type/0",
                    "device.battery_pct",
                    &["reader type: INT not compatible with writer type: NULL"],
                ),
            ],
        ),
    ]
}

fn parse(value: &Value, case: &str) -> Schema {
    Schema::parse(value)
        .unwrap_or_else(|e| panic!("case '{case}': schema does not parse: {e}\n{value}"))
}

#[test]
fn table_of_cases() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let new = parse(&case.new, case.name);
        let previous: Vec<Schema> = case.previous.iter().map(|p| parse(p, case.name)).collect();
        let found = compat::check(case.level, &new, &previous);
        if let Err(why) = matches(case, &found) {
            failures.push(format!(
                "case '{}' ({}): {why}\n  found: {:#?}",
                case.name, case.level, found
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn matches(case: &Case, found: &[Incompatibility]) -> Result<(), String> {
    if found.len() != case.expect.len() {
        return Err(format!(
            "expected {} incompatibilities, found {}",
            case.expect.len(),
            found.len()
        ));
    }
    let last = case.previous.len().checked_sub(1);
    for (i, (want, got)) in case.expect.iter().zip(found).enumerate() {
        if !got.is(want.kind) {
            return Err(format!("#{i}: kind {} != {}", got.kind, want.kind));
        }
        if got.path != want.path {
            return Err(format!("#{i}: path {} != {}", got.path, want.path));
        }
        if got.field != want.field {
            return Err(format!("#{i}: field '{}' != '{}'", got.field, want.field));
        }
        let index = want.previous_index.or(last);
        if got.previous_index != index {
            return Err(format!(
                "#{i}: previous_index {:?} != {index:?}",
                got.previous_index
            ));
        }
        let text = format!("{} | {}", got.message, got.additional_info);
        for word in want.words {
            if !text.contains(word) {
                return Err(format!("#{i}: '{word}' not in '{text}'"));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Exact wording, rendering and the other entry points
// ---------------------------------------------------------------------------

#[test]
fn health_out_reasons_word_for_word() {
    let new = parse(&health("health_out.avsc"), "health_out");
    let old = parse(&health("health.avsc"), "health");
    let found = compat::check(Backward, &new, &[old]);
    let rendered: Vec<String> = found.iter().map(Incompatibility::confluent_error).collect();
    assert_eq!(
        rendered,
        [
            "{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path '/name')', additionalInfo:'expected: bench.health.HealthEvent'}",
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'processed_at' at path '/fields/15' in the new schema has no default value and is missing in the old schema', additionalInfo:'processed_at'}",
        ]
    );
    assert_eq!(
        found[1].to_string(),
        "READER_FIELD_MISSING_DEFAULT_VALUE: The field 'processed_at' at path '/fields/15' in the new schema has no default value and is missing in the old schema (processed_at) [field processed_at]"
    );
}

#[test]
fn confluent_verbose_messages() {
    let old_text = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#;
    let new = parse(&one(json!("string")), "new");
    let old = Schema::parse_str(old_text).expect("old");
    let found = compat::check(FullTransitive, &new, &[old.clone(), old]);
    assert_eq!(found.len(), 4);
    let previous = [
        compat::PreviousVersion {
            version: 1,
            schema: old_text,
        },
        compat::PreviousVersion {
            version: 2,
            schema: old_text,
        },
    ];
    let messages = compat::confluent_messages(FullTransitive, &found, &previous);
    let backward = "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: STRING not compatible with writer type: INT'}";
    let forward = "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the old schema does not match with the new schema', additionalInfo:'reader type: INT not compatible with writer type: STRING'}";
    let old_line = format!("{{oldSchema: '{old_text}'}}");
    assert_eq!(
        messages,
        [
            backward,
            forward,
            "{oldSchemaVersion: 2}",
            &old_line,
            backward,
            forward,
            "{oldSchemaVersion: 1}",
            &old_line,
            "{validateFields: 'false', compatibility: 'FULL_TRANSITIVE'}",
        ]
    );
    assert!(compat::confluent_messages(Backward, &[], &previous).is_empty());
}

#[test]
fn reader_writer_primitive_names_reader_and_writer() {
    let reader = parse(&r_ab_for_test(), "reader");
    let writer = parse(&one(json!("int")), "writer");
    let found = compat::check_reader_writer(&reader, &writer);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].previous_index, None);
    assert_eq!(
        found[0].message,
        "The field 'b' at path '/fields/1' in the reader schema has no default value and is missing in the writer schema"
    );
    assert!(compat::check_reader_writer(&writer, &reader).is_empty());
}

fn r_ab_for_test() -> Value {
    rec("R", json!([f("a", json!("int")), f("b", json!("string"))]))
}

#[test]
fn references_resolve_named_types_from_other_schemas() {
    let address = r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"zip","type":"string"}]}"#;
    let address_v2 = r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"zip","type":"string"},{"name":"city","type":"string"}]}"#;
    let person = r#"{"type":"record","name":"Person","namespace":"com.acme","fields":[{"name":"home","type":"Address"}]}"#;
    let (old, old_refs) = Schema::parse_str_with_list(person, [address]).expect("old person");
    let (new, new_refs) = Schema::parse_str_with_list(person, [address_v2]).expect("new person");

    let found = compat::check_with_references(
        Backward,
        compat::SchemaWithReferences {
            schema: &new,
            references: &new_refs,
        },
        &[compat::SchemaWithReferences {
            schema: &old,
            references: &old_refs,
        }],
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].is(ReaderFieldMissingDefaultValue));
    assert_eq!(found[0].path, "/fields/0/type/fields/1");
    assert_eq!(found[0].field, "home.city");

    // Without the references the engine cannot see Address and says so.
    let found = compat::check(Backward, &new, &[old]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].is(UnresolvedNamedType));
    assert_eq!(found[0].path, "/fields/0/type");
    assert_eq!(found[0].additional_info, "com.acme.Address");
}

#[test]
fn levels_parse_print_and_serialize_like_confluent() {
    for level in CompatibilityLevel::ALL {
        let text = level.to_string();
        assert_eq!(text.parse::<CompatibilityLevel>().expect("parse"), level);
        assert_eq!(
            text.to_lowercase()
                .parse::<CompatibilityLevel>()
                .expect("parse lower"),
            level
        );
        assert_eq!(serde_json::to_value(level).expect("serialize"), json!(text));
    }
    assert_eq!(CompatibilityLevel::default(), Backward);
    assert_eq!(BackwardTransitive.to_string(), "BACKWARD_TRANSITIVE");
    let err = "SIDEWAYS"
        .parse::<CompatibilityLevel>()
        .expect_err("unknown level");
    assert_eq!(
        err.to_string(),
        "unknown compatibility level 'SIDEWAYS' (expected one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE)"
    );
    assert!(
        FullTransitive.is_transitive()
            && FullTransitive.checks_backward()
            && FullTransitive.checks_forward()
    );
    assert!(
        !Forward.checks_backward() && !Backward.checks_forward() && !NoneLevel.checks_backward()
    );
}

#[test]
fn incompatibility_serializes_with_its_reasons() {
    let found = compat::check(
        Backward,
        &parse(&r_ab_for_test(), "new"),
        &[parse(&one(json!("int")), "old")],
    );
    assert_eq!(
        serde_json::to_value(&found).expect("serialize"),
        json!([{
            "kind": "READER_FIELD_MISSING_DEFAULT_VALUE",
            "path": "/fields/1",
            "message": "The field 'b' at path '/fields/1' in the new schema has no default value and is missing in the old schema",
            "additional_info": "b",
            "field": "b",
            "previous_index": 0
        }])
    );
}

/// `["null", array<X>]` nested `depth` times around `leaf`.
fn nested_unions(depth: usize, leaf: &str) -> Value {
    let mut ty = json!(leaf);
    for _ in 0..depth {
        ty = json!(["null", array(ty)]);
    }
    one(ty)
}

#[test]
fn deeply_nested_unions_report_the_outermost_branch() {
    let depth = 50;
    let new = parse(&nested_unions(depth, "int"), "new");
    let old = parse(&nested_unions(depth, "long"), "old");
    assert!(compat::check(Backward, &old, std::slice::from_ref(&new)).is_empty());
    // As in Avro Java, a writer union branch the reader union cannot read is
    // reported at the union, not at the narrowed leaf 50 levels below.
    let found = compat::check(Backward, &new, &[old]);
    let summary: Vec<(&str, &str, &str)> = found
        .iter()
        .map(|i| (i.kind.as_str(), i.path.as_str(), i.additional_info.as_str()))
        .collect();
    assert_eq!(
        summary,
        [(
            "MISSING_UNION_BRANCH",
            "/fields/0/type/1",
            "reader union lacking writer type: ARRAY"
        )]
    );
}
