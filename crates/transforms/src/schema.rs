//! Output-schema derivation: an Avro schema as an editable JSON document.
//!
//! [`SchemaDoc::from_avro`] expands every named-type reference into a copy
//! of its definition (names fully qualified, so a definition can move
//! without changing meaning; recursive references stay references), the
//! transforms edit the document by field path, and
//! [`SchemaDoc::into_avro`] folds repeated identical definitions back into
//! references and compiles the result. A named type that the edits made
//! different in two places keeps its name where it appears first; later
//! variants get `<name>_2`, `<name>_3`, …

use std::collections::HashMap;

use kbridge_codec::{AvroSchema, SchemaKind};
use serde_json::{Map, Value as Json, json};

use crate::path::{FieldPath, Seg};
use crate::spec::closest;

const PRIMITIVES: &[&str] = &[
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// An Avro schema being edited.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SchemaDoc {
    pub(crate) root: Json,
}

/// What holds the last step of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParentKind {
    /// A record: the leaf is one of its fields.
    Record,
    /// A map: the leaf is an entry.
    Map,
    /// An array: the leaf is an item.
    Array,
}

/// Where a path's parent is in the document.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    /// JSON pointer to the parent type object.
    pub(crate) parent: String,
    /// What the parent is.
    pub(crate) kind: ParentKind,
    /// Whether a null-able type was passed on the way (the parent may be
    /// absent in a record).
    pub(crate) optional: bool,
    /// For a record parent: the index of the leaf field, if it exists.
    pub(crate) field: Option<usize>,
}

fn fullname(name: &str, namespace: Option<&str>, enclosing: Option<&str>) -> String {
    if name.contains('.') {
        return name.to_string();
    }
    match namespace.filter(|n| !n.is_empty()).or(enclosing) {
        Some(ns) if !ns.is_empty() => format!("{ns}.{name}"),
        _ => name.to_string(),
    }
}

fn namespace_of(full: &str) -> Option<&str> {
    full.rsplit_once('.').map(|(ns, _)| ns)
}

struct Expander {
    defs: HashMap<String, (Json, Option<String>)>,
    stack: Vec<String>,
}

impl Expander {
    fn reference(&mut self, name: &str, ns: Option<&str>) -> Result<Json, String> {
        let candidates = [fullname(name, None, ns), name.to_string()];
        let Some(full) = candidates
            .iter()
            .find(|c| self.defs.contains_key(*c))
            .cloned()
        else {
            return Err(format!("unknown type `{name}`"));
        };
        if self.stack.contains(&full) {
            return Ok(Json::String(full));
        }
        let (def, def_ns) = self.defs.get(&full).cloned().unwrap_or((Json::Null, None));
        self.expand(&def, def_ns.as_deref())
    }

    fn expand(&mut self, j: &Json, ns: Option<&str>) -> Result<Json, String> {
        match j {
            Json::String(s) if PRIMITIVES.contains(&s.as_str()) => Ok(j.clone()),
            Json::String(s) => self.reference(s, ns),
            Json::Array(branches) => branches
                .iter()
                .map(|b| self.expand(b, ns))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array),
            Json::Object(o) => {
                let t = o.get("type").cloned().unwrap_or(Json::Null);
                match t.as_str() {
                    Some("record" | "error" | "enum" | "fixed") => {
                        let name = o
                            .get("name")
                            .and_then(Json::as_str)
                            .ok_or("a named type has no name")?;
                        let full = fullname(name, o.get("namespace").and_then(Json::as_str), ns);
                        self.defs
                            .entry(full.clone())
                            .or_insert_with(|| (j.clone(), ns.map(str::to_string)));
                        let mut out = o.clone();
                        out.remove("namespace");
                        out.insert("name".into(), Json::String(full.clone()));
                        if matches!(t.as_str(), Some("record" | "error")) {
                            self.stack.push(full.clone());
                            let inner_ns = namespace_of(&full).map(str::to_string);
                            let mut fields = Vec::new();
                            for f in o
                                .get("fields")
                                .and_then(Json::as_array)
                                .into_iter()
                                .flatten()
                            {
                                let mut f =
                                    f.as_object().cloned().ok_or("a field is not an object")?;
                                let ft = f.get("type").cloned().unwrap_or(Json::Null);
                                f.insert("type".into(), self.expand(&ft, inner_ns.as_deref())?);
                                fields.push(Json::Object(f));
                            }
                            self.stack.pop();
                            out.insert("fields".into(), Json::Array(fields));
                        }
                        Ok(Json::Object(out))
                    }
                    Some("array") => {
                        let mut out = o.clone();
                        let items = o.get("items").cloned().unwrap_or(Json::Null);
                        out.insert("items".into(), self.expand(&items, ns)?);
                        Ok(Json::Object(out))
                    }
                    Some("map") => {
                        let mut out = o.clone();
                        let values = o.get("values").cloned().unwrap_or(Json::Null);
                        out.insert("values".into(), self.expand(&values, ns)?);
                        Ok(Json::Object(out))
                    }
                    Some(p) if PRIMITIVES.contains(&p) => Ok(j.clone()),
                    Some(other) => self.reference(other, ns),
                    None => self.expand(&t, ns),
                }
            }
            _ => Err(format!("invalid schema node {j}")),
        }
    }
}

/// Folds repeated definitions back into references (see the module docs).
fn collapse(j: &mut Json, seen: &mut HashMap<String, Json>) {
    match j {
        Json::Array(branches) => branches.iter_mut().for_each(|b| collapse(b, seen)),
        Json::Object(o) => {
            let t = o.get("type").and_then(Json::as_str).map(str::to_string);
            match t.as_deref() {
                Some("record" | "error" | "enum" | "fixed") => {
                    let name = o
                        .get("name")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string();
                    let me = Json::Object(o.clone());
                    match seen.get(&name) {
                        Some(prev) if *prev == me => {
                            *j = Json::String(name);
                            return;
                        }
                        Some(_) => {
                            let mut n = 2;
                            while seen.contains_key(&format!("{name}_{n}")) {
                                n += 1;
                            }
                            let renamed = format!("{name}_{n}");
                            o.insert("name".into(), Json::String(renamed.clone()));
                            seen.insert(renamed, Json::Object(o.clone()));
                        }
                        None => {
                            seen.insert(name, me);
                        }
                    }
                    if let Some(Json::Array(fields)) = o.get_mut("fields") {
                        for f in fields {
                            if let Some(ft) = f.get_mut("type") {
                                collapse(ft, seen);
                            }
                        }
                    }
                }
                Some("array") => {
                    if let Some(items) = o.get_mut("items") {
                        collapse(items, seen);
                    }
                }
                Some("map") => {
                    if let Some(values) = o.get_mut("values") {
                        collapse(values, seen);
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// The non-null branches of a union (or the type itself).
pub(crate) fn non_null(t: &Json) -> Vec<(usize, &Json)> {
    match t {
        Json::Array(b) => b.iter().enumerate().filter(|(_, x)| !is_null(x)).collect(),
        _ => vec![(0, t)],
    }
}

/// Whether `t` is `null`.
pub(crate) fn is_null(t: &Json) -> bool {
    t == "null" || t.get("type").is_some_and(|x| x == "null")
}

/// Whether `t` is a union that holds `null`.
pub(crate) fn is_nullable(t: &Json) -> bool {
    matches!(t, Json::Array(b) if b.iter().any(is_null))
}

/// The type's kind: `record`, `map`, `array`, `enum`, `fixed`, a primitive,
/// `union`, or the logical type name.
pub(crate) fn kind(t: &Json) -> &str {
    match t {
        Json::String(s) => s,
        Json::Array(_) => "union",
        Json::Object(o) => o
            .get("logicalType")
            .and_then(Json::as_str)
            .or_else(|| o.get("type").and_then(Json::as_str))
            .unwrap_or("?"),
        _ => "?",
    }
}

/// A short description of a type for messages.
pub(crate) fn describe(t: &Json) -> String {
    match t {
        Json::Array(b) => format!(
            "[{}]",
            b.iter().map(describe).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(o) => match o.get("name").and_then(Json::as_str) {
            Some(n) => format!("{} {n}", kind(t)),
            None => kind(t).to_string(),
        },
        _ => kind(t).to_string(),
    }
}

/// `t` made null-able: `["null", t]` (unions gain a `null` branch first).
pub(crate) fn nullable(t: Json) -> Json {
    match t {
        Json::Array(mut b) => {
            if !b.iter().any(is_null) {
                b.insert(0, json!("null"));
            }
            Json::Array(b)
        }
        t if is_null(&t) => t,
        t => json!(["null", t]),
    }
}

/// Whether `name` is a valid Avro name.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl SchemaDoc {
    /// The schema of `schema`, named types expanded.
    pub(crate) fn from_avro(schema: &AvroSchema) -> Result<SchemaDoc, String> {
        let resolved = schema.resolved();
        let root: Json = serde_json::from_str(resolved.text())
            .map_err(|e| format!("the input schema is not JSON: {e}"))?;
        let mut ex = Expander {
            defs: HashMap::new(),
            stack: Vec::new(),
        };
        if let SchemaKind::Avro { references, .. } = resolved.kind() {
            for r in references {
                let j = serde_json::to_value(r)
                    .map_err(|e| format!("cannot read a referenced schema: {e}"))?;
                ex.expand(&j, None)?;
            }
        }
        Ok(SchemaDoc {
            root: ex.expand(&root, None)?,
        })
    }

    /// The document as a standalone JSON text (repeated definitions folded).
    pub(crate) fn to_text(&self) -> String {
        let mut j = self.root.clone();
        collapse(&mut j, &mut HashMap::new());
        j.to_string()
    }

    /// Compiles the document.
    pub(crate) fn into_avro(self) -> Result<AvroSchema, String> {
        let text = self.to_text();
        AvroSchema::parse(&text).map_err(|e| format!("{e} (schema: {text})"))
    }

    /// Finds the parent of `path`'s last step.
    pub(crate) fn locate(&self, path: &FieldPath) -> Result<Located, String> {
        let mut ptr = String::new();
        let mut t = &self.root;
        let mut optional = false;
        let segs = path.segs();
        let (last, parents) = segs.split_last().ok_or("empty path")?;
        for (i, seg) in parents.iter().enumerate() {
            let (p, inner, opt) = unwrap_union(t, &ptr, path)?;
            optional |= opt;
            ptr = p;
            t = inner;
            let here = || render_segs(&segs[..=i]);
            match (seg, kind(t)) {
                (Seg::Name(n), "record" | "error") => {
                    let idx = field_index(t, n)
                        .ok_or_else(|| no_field(t, n, &render_segs(&segs[..i])))?;
                    ptr = format!("{ptr}/fields/{idx}/type");
                    t = &t["fields"][idx]["type"];
                }
                (Seg::Name(_), "map") => {
                    ptr.push_str("/values");
                    t = &t["values"];
                }
                (Seg::Index(_), "array") => {
                    ptr.push_str("/items");
                    t = &t["items"];
                }
                (_, k) => {
                    return Err(format!(
                        "`{}` is {} `{}`, which has no `{}`",
                        here(),
                        article(k),
                        k,
                        render_segs(&segs[i + 1..=i + 1])
                    ));
                }
            }
        }
        let (p, t, opt) = unwrap_union(t, &ptr, path)?;
        optional |= opt;
        let (kind_, field) = match (last, kind(t)) {
            (Seg::Name(n), "record" | "error") => (ParentKind::Record, field_index(t, n)),
            (Seg::Name(_), "map") => (ParentKind::Map, None),
            (Seg::Index(_), "array") => (ParentKind::Array, None),
            (_, k) => {
                let at = render_segs(parents);
                return Err(if at.is_empty() {
                    format!("the value is {} `{k}`, not a record", article(k))
                } else {
                    format!(
                        "`{at}` is {} `{k}`, which has no `{}`",
                        article(k),
                        render_segs(std::slice::from_ref(last))
                    )
                });
            }
        };
        Ok(Located {
            parent: p,
            kind: kind_,
            optional,
            field,
        })
    }

    /// Like [`SchemaDoc::locate`], but the leaf must be an existing field of
    /// a record (map entries and array items are reported as `None`).
    pub(crate) fn existing_field(
        &self,
        path: &FieldPath,
    ) -> Result<Option<(String, bool)>, String> {
        let loc = self.locate(path)?;
        match loc.kind {
            ParentKind::Record => {
                let name = path.leaf_name().unwrap_or_default();
                match loc.field {
                    Some(i) => Ok(Some((format!("{}/fields/{i}", loc.parent), loc.optional))),
                    None => {
                        let parent = self.root.pointer(&loc.parent).unwrap_or(&Json::Null);
                        let at = path.as_str().strip_suffix(name).unwrap_or("");
                        Err(no_field(parent, name, at.trim_end_matches('.')))
                    }
                }
            }
            ParentKind::Map | ParentKind::Array => Ok(None),
        }
    }

    /// The type at `path` (for a map entry: the map's values; for an array
    /// item: the items).
    pub(crate) fn type_at(&self, path: &FieldPath) -> Result<(&Json, bool), String> {
        let loc = self.locate(path)?;
        let parent = self.root.pointer(&loc.parent).ok_or("bad pointer")?;
        Ok(match loc.kind {
            ParentKind::Record => match loc.field {
                Some(i) => (&parent["fields"][i]["type"], loc.optional),
                None => {
                    let name = path.leaf_name().unwrap_or_default();
                    return Err(no_field(parent, name, ""));
                }
            },
            ParentKind::Map => (&parent["values"], loc.optional),
            ParentKind::Array => (&parent["items"], loc.optional),
        })
    }

    /// The JSON object at a pointer, mutable.
    pub(crate) fn at_mut(&mut self, ptr: &str) -> Result<&mut Map<String, Json>, String> {
        self.root
            .pointer_mut(ptr)
            .and_then(Json::as_object_mut)
            .ok_or_else(|| format!("schema node {ptr} is not an object"))
    }
}

fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn render_segs(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Name(n) if n.contains(['.', '[']) => s.push_str(&format!("[\"{n}\"]")),
            Seg::Name(n) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(n);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Index of field `name` in record type `t`.
pub(crate) fn field_index(t: &Json, name: &str) -> Option<usize> {
    t.get("fields")?
        .as_array()?
        .iter()
        .position(|f| f.get("name").is_some_and(|n| n == name))
}

fn no_field(record: &Json, name: &str, at: &str) -> String {
    let names: Vec<&str> = record
        .get("fields")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("name").and_then(Json::as_str))
        .collect();
    let rec = record.get("name").and_then(Json::as_str).unwrap_or("?");
    let hint = closest(name, names.iter().copied())
        .map(|c| {
            format!(
                "; did you mean `{}`?",
                if at.is_empty() {
                    c.to_string()
                } else {
                    format!("{at}.{c}")
                }
            )
        })
        .unwrap_or_default();
    format!("record {rec} has no field `{name}`{hint}")
}

/// Steps into the single non-null branch of a union.
fn unwrap_union<'j>(
    t: &'j Json,
    ptr: &str,
    path: &FieldPath,
) -> Result<(String, &'j Json, bool), String> {
    let (ptr, t, optional) = match t {
        Json::Array(_) => {
            let branches = non_null(t);
            match branches.as_slice() {
                [(i, b)] => (format!("{ptr}/{i}"), *b, true),
                _ => {
                    return Err(format!(
                        "`{}` goes through the union {}, which has several non-null branches",
                        path,
                        describe(t)
                    ));
                }
            }
        }
        _ => (ptr.to_string(), t, false),
    };
    match t {
        Json::String(s) if !PRIMITIVES.contains(&s.as_str()) => Err(format!(
            "`{path}` goes through the recursive type {s}, which cannot be edited"
        )),
        _ => Ok((ptr, t, optional)),
    }
}

/// A type that holds the values of both `a` and `b`: records of the same
/// name merge field by field (a field only one side has becomes null-able
/// with default null), anything else becomes a union of both.
pub(crate) fn merge(a: &Json, b: &Json) -> Json {
    if a == b {
        return a.clone();
    }
    let same_record = matches!(kind(a), "record" | "error")
        && matches!(kind(b), "record" | "error")
        && a.get("name") == b.get("name");
    if same_record {
        let empty = Vec::new();
        let fa = a.get("fields").and_then(Json::as_array).unwrap_or(&empty);
        let fb = b.get("fields").and_then(Json::as_array).unwrap_or(&empty);
        let by_name = |fs: &[Json], n: &Json| fs.iter().find(|f| f.get("name") == Some(n)).cloned();
        let mut fields = Vec::new();
        for f in fa {
            let name = f.get("name").cloned().unwrap_or(Json::Null);
            let field = match by_name(fb, &name) {
                Some(g) if g == *f => f.clone(),
                Some(g) => {
                    let t = merge(&f["type"], &g["type"]);
                    let mut m = f.as_object().cloned().unwrap_or_default();
                    if t != f["type"] {
                        m.remove("default");
                        if matches!(&t, Json::Array(br) if br.first().is_some_and(is_null)) {
                            m.insert("default".into(), Json::Null);
                        }
                    }
                    m.insert("type".into(), t);
                    Json::Object(m)
                }
                None => optional_field(f),
            };
            fields.push(field);
        }
        for g in fb {
            let name = g.get("name").cloned().unwrap_or(Json::Null);
            if by_name(fa, &name).is_none() {
                fields.push(optional_field(g));
            }
        }
        let mut out = a.as_object().cloned().unwrap_or_default();
        out.insert("fields".into(), Json::Array(fields));
        return Json::Object(out);
    }
    let mut branches: Vec<Json> = Vec::new();
    for t in [a, b] {
        let items = match t {
            Json::Array(br) => br.clone(),
            other => vec![other.clone()],
        };
        for item in items {
            if let Some(pos) = branches.iter().position(|x| {
                matches!(kind(x), "record" | "error")
                    && x.get("name").is_some()
                    && x.get("name") == item.get("name")
            }) {
                let merged = merge(&branches[pos], &item);
                branches[pos] = merged;
            } else if !branches.contains(&item) {
                branches.push(item);
            }
        }
    }
    if let Some(pos) = branches.iter().position(is_null) {
        let n = branches.remove(pos);
        branches.insert(0, n);
    }
    Json::Array(branches)
}

/// A field made null-able, default null.
pub(crate) fn optional_field(f: &Json) -> Json {
    let mut m = f.as_object().cloned().unwrap_or_default();
    let t = m.remove("type").unwrap_or(Json::Null);
    let t = match nullable(t) {
        Json::Array(mut br) => {
            if let Some(pos) = br.iter().position(is_null) {
                let n = br.remove(pos);
                br.insert(0, n);
            }
            Json::Array(br)
        }
        other => other,
    };
    m.insert("type".into(), t);
    m.insert("default".into(), Json::Null);
    Json::Object(m)
}

/// The Avro type of a static JSON value, when it has an obvious one.
pub(crate) fn infer_type(v: &Json) -> Option<Json> {
    Some(match v {
        Json::Bool(_) => json!("boolean"),
        Json::Number(n) if n.is_i64() || n.is_u64() => json!("long"),
        Json::Number(_) => json!("double"),
        Json::String(_) => json!("string"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
        {"name":"id","type":"long"},
        {"name":"billing","type":{"type":"record","name":"Address","fields":[
            {"name":"city","type":"string"},{"name":"zip","type":"string"}]}},
        {"name":"shipping","type":["null","Address"],"default":null},
        {"name":"tags","type":{"type":"map","values":"string"}},
        {"name":"next","type":["null","Order"],"default":null}]}"#;

    fn doc() -> SchemaDoc {
        SchemaDoc::from_avro(&AvroSchema::parse(NESTED).unwrap()).unwrap()
    }

    #[test]
    fn expansion_inlines_references_and_collapse_restores_them() {
        let d = doc();
        assert_eq!(d.root["name"], "shop.Order");
        assert_eq!(d.root["fields"][2]["type"][1]["name"], "shop.Address");
        assert_eq!(d.root["fields"][4]["type"][1], "shop.Order");
        let back = d.clone().into_avro().unwrap();
        let orig = AvroSchema::parse(NESTED).unwrap();
        assert_eq!(back.fingerprint(), orig.fingerprint());
    }

    #[test]
    fn an_edited_copy_of_a_named_type_gets_a_new_name() {
        let mut d = doc();
        let loc = d
            .locate(&FieldPath::parse("shipping.zip").unwrap())
            .unwrap();
        assert!(loc.optional);
        let i = loc.field.unwrap();
        let rec = d.at_mut(&loc.parent).unwrap();
        rec["fields"].as_array_mut().unwrap().remove(i);
        let text = d.to_text();
        assert!(text.contains(r#""name":"shop.Address_2""#), "{text}");
        d.into_avro().unwrap();
    }

    #[test]
    fn locate_explains_wrong_paths() {
        let d = doc();
        let err = |p: &str| d.locate(&FieldPath::parse(p).unwrap()).unwrap_err();
        assert_eq!(
            err("biling.city"),
            "record shop.Order has no field `biling`; did you mean `billing`?"
        );
        assert_eq!(err("id.x"), "`id` is a `long`, which has no `x`");
        assert_eq!(
            err("next.next.id"),
            "`next.next.id` goes through the recursive type shop.Order, which cannot be edited"
        );
        let t = d.type_at(&FieldPath::parse("tags.tz").unwrap()).unwrap();
        assert_eq!(t.0, "string");
        assert_eq!(
            d.type_at(&FieldPath::parse("billing.cty").unwrap())
                .unwrap_err(),
            "record shop.Address has no field `cty`; did you mean `city`?"
        );
    }
}
