//! Field edits: `insert_field`, `rename_fields`, `drop_fields`,
//! `keep_fields`, `flatten`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use kbridge_codec::{AvroSchema, Field, Fields, JsonStyle, Record, Value};
use kbridge_pipeline::PipelineRecord;
use serde_json::{Value as Json, json};

use super::{Fail, Step, top_names, union};
use crate::expr::Expr;
use crate::intern::intern;
use crate::path::{FieldPath, Lookup, Seg};
use crate::schema::{self, ParentKind, SchemaDoc};
use crate::spec::Spec;

// ------------------------------------------------------------ constants

/// Copies every string of `v` into the interner (build time only).
pub(crate) fn intern_value(v: Value<'_>) -> Value<'static> {
    match v {
        Value::String(s) => Value::String(Cow::Borrowed(intern(&s))),
        Value::Enum(i, s) => Value::Enum(i, Cow::Borrowed(intern(&s))),
        Value::Array(a) => Value::Array(a.into_iter().map(intern_value).collect()),
        Value::Map(m) => Value::Map(intern_fields(m)),
        Value::Record(r) => Value::Record(Record {
            name: r.name,
            fields: intern_fields(r.fields),
        }),
        other => other.into_owned(),
    }
}

fn intern_fields(f: Fields<'_>) -> Fields<'static> {
    Fields(
        f.0.into_iter()
            .map(|f| Field {
                name: Cow::Borrowed(intern(&f.name)),
                value: intern_value(f.value),
            })
            .collect(),
    )
}

/// A constant from the configuration, typed by `schema` when given.
pub(crate) fn static_value(
    v: &Json,
    schema: Option<&AvroSchema>,
) -> Result<Value<'static>, String> {
    let text = v.to_string();
    let value = match schema {
        Some(s) => s
            .value_from_json(&text, JsonStyle::Natural)
            .map_err(|e| format!("{v} does not fit the schema: {e}"))?,
        None => kbridge_codec::json::parse_json(text.as_bytes())
            .map_err(|e| e.to_string())?
            .into_owned(),
    };
    Ok(intern_value(value))
}

/// Reads the `schema` key: an Avro type (`"string"`,
/// `{ type = "long", logicalType = "timestamp-millis" }`, `["null", "string"]`).
pub(crate) fn schema_key(spec: &mut Spec<'_>) -> Option<Option<(Json, AvroSchema)>> {
    let Some(j) = spec.raw("schema") else {
        return Some(None);
    };
    match AvroSchema::parse(&j.to_string()) {
        Ok(s) => Some(Some((j.clone(), s))),
        Err(e) => {
            spec.problem(Some("schema"), format!("not an avro type: {e}"));
            None
        }
    }
}

/// Converts an expression's result to the declared type.
pub(crate) fn coerce(
    v: Value<'static>,
    schema: &(Json, AvroSchema),
) -> Result<Value<'static>, String> {
    let k = schema::kind(&schema.0);
    let fast = match (k, &v) {
        ("string", Value::String(_))
        | ("long", Value::Long(_))
        | ("double", Value::Double(_))
        | ("boolean", Value::Boolean(_))
        | ("bytes", Value::Bytes(_)) => return Ok(v),
        ("int", Value::Long(l)) => i32::try_from(*l).ok().map(Value::Int),
        ("float", Value::Double(d)) => Some(Value::Float(*d as f32)),
        ("timestamp-millis", Value::Long(l)) => Some(Value::TimestampMillis(*l)),
        ("timestamp-millis", Value::TimestampMillis(_)) => return Ok(v),
        ("timestamp-micros", Value::Long(l)) => Some(Value::TimestampMicros(*l)),
        ("timestamp-micros", Value::TimestampMillis(l)) => Some(Value::TimestampMicros(l * 1000)),
        _ => None,
    };
    if let Some(x) = fast {
        return Ok(x);
    }
    let text = kbridge_codec::json::to_json_string(&v, None, JsonStyle::Natural)
        .map_err(|e| e.to_string())?;
    schema
        .1
        .value_from_json(&text, JsonStyle::Natural)
        .map_err(|e| {
            format!(
                "returned {text}, which does not fit {}: {e}",
                schema::describe(&schema.0)
            )
        })
}

// --------------------------------------------------------- insert_field

enum Source {
    Static(Value<'static>),
    Topic,
    Partition,
    Offset,
    Timestamp,
    ProcessingTime,
    Key,
    Expression(Expr),
}

pub(crate) struct Insert {
    path: FieldPath,
    leaf: &'static str,
    source: Source,
    schema: Option<(Json, AvroSchema)>,
}

const FROM: &[&str] = &[
    "topic",
    "partition",
    "offset",
    "timestamp",
    "processing_time",
    "key",
];

pub(crate) fn build_insert(spec: &mut Spec<'_>) -> Option<Insert> {
    spec.allow(&["field", "value", "from", "expression", "schema"]);
    let path = spec.req_path("field");
    let schema = schema_key(spec)?;
    let which = spec.one_key(&["value", "from", "expression"])?;
    let source = match which {
        "value" => {
            let v = spec.raw("value")?;
            match static_value(v, schema.as_ref().map(|s| &s.1)) {
                Ok(v) => Source::Static(v),
                Err(e) => {
                    spec.problem(Some("value"), e);
                    return None;
                }
            }
        }
        "from" => match spec.choice("from", FROM, "") {
            "topic" => Source::Topic,
            "partition" => Source::Partition,
            "offset" => Source::Offset,
            "timestamp" => Source::Timestamp,
            "processing_time" => Source::ProcessingTime,
            "key" => Source::Key,
            _ => return None,
        },
        _ => Source::Expression(spec.expr("expression")?),
    };
    let path = path?;
    let leaf = match path.leaf() {
        Seg::Name(n) => intern(n),
        Seg::Index(_) => {
            spec.problem(Some("field"), "must name a field, not an array item");
            return None;
        }
    };
    Some(Insert {
        path,
        leaf,
        source,
        schema,
    })
}

impl Insert {
    fn avro_type(&self) -> Result<Json, String> {
        if let Some((j, _)) = &self.schema {
            return Ok(j.clone());
        }
        let ts = json!({"type": "long", "logicalType": "timestamp-millis"});
        Ok(match &self.source {
            Source::Topic => json!("string"),
            Source::Partition => json!("int"),
            Source::Offset => json!("long"),
            Source::Timestamp | Source::ProcessingTime => ts,
            Source::Static(v) => {
                match kbridge_codec::json::to_json_string(v, None, JsonStyle::Natural)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Json>(&t).ok())
                    .and_then(|j| schema::infer_type(&j))
                {
                    Some(t) => t,
                    None => {
                        return Err(format!(
                            "cannot tell the avro type of the value of `{}`; set `schema`",
                            self.path
                        ));
                    }
                }
            }
            Source::Key | Source::Expression(_) => {
                return Err(format!(
                    "`schema` is needed to derive the type of `{}` (computed values have no declared type)",
                    self.path
                ));
            }
        })
    }

    fn value<'a>(&self, record: &PipelineRecord<'a>) -> Result<Value<'a>, Fail> {
        Ok(match &self.source {
            Source::Static(v) => v.clone(),
            Source::Topic => Value::String(match &record.topic {
                Some(t) => t.clone(),
                None => Cow::Borrowed(record.source.topic),
            }),
            Source::Partition => Value::Int(record.source.partition),
            Source::Offset => Value::Long(record.source.offset),
            Source::Timestamp => match record.timestamp {
                Some(t) => Value::TimestampMillis(t),
                None => return Err(Fail::new("MissingTimestamp", "the record has no timestamp")),
            },
            Source::ProcessingTime => {
                Value::TimestampMillis(kbridge_pipeline::transform::epoch_ms())
            }
            Source::Key => record.key.clone(),
            Source::Expression(e) => {
                let v = e.eval(record).map_err(Fail::expr)?;
                match &self.schema {
                    Some(s) => coerce(v, s).map_err(|m| {
                        Fail::new("InvalidValue", format!("expression `{}` {m}", e.source()))
                            .at(&self.path)
                    })?,
                    None => v,
                }
            }
        })
    }
}

impl Step for Insert {
    fn value_fields(&self) -> Option<Vec<String>> {
        let read = match &self.source {
            Source::Expression(e) => e.value_fields(),
            // metadata, the key and constants: nothing of the value
            Source::Static(_)
            | Source::Topic
            | Source::Partition
            | Source::Offset
            | Source::Timestamp
            | Source::ProcessingTime
            | Source::Key => Some(Vec::new()),
        };
        union(top_names([&self.path]), read)
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        let value = self.value(record)?;
        match self.path.parent_mut(&mut record.value) {
            Lookup::Found(parent) => match (self.path.leaf(), parent) {
                (Seg::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                    Some(slot) => *slot = value,
                    None => return Err(Fail::missing(&self.path)),
                },
                (_, p) => match p.as_fields_mut() {
                    Some(f) => {
                        f.insert(Cow::Borrowed(self.leaf), value);
                    }
                    None => {
                        return Err(Fail::new(
                            "InvalidValue",
                            format!("the parent is {}, not a record", p.type_name()),
                        )
                        .at(&self.path));
                    }
                },
            },
            Lookup::Null => {}
            Lookup::Missing => return Err(Fail::missing(&self.path)),
        }
        Ok(true)
    }

    fn changes_schema(&self) -> bool {
        true
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        let t = self.avro_type()?;
        let loc = doc.locate(&self.path)?;
        match loc.kind {
            ParentKind::Record => {
                let rec = doc.at_mut(&loc.parent)?;
                let mut field = serde_json::Map::new();
                field.insert("name".into(), json!(self.leaf));
                if matches!(&t, Json::Array(b) if b.first().is_some_and(schema::is_null)) {
                    field.insert("type".into(), t);
                    field.insert("default".into(), Json::Null);
                } else {
                    field.insert("type".into(), t);
                }
                let fields = rec
                    .get_mut("fields")
                    .and_then(Json::as_array_mut)
                    .ok_or("record without fields")?;
                match loc.field {
                    Some(i) => {
                        // keep doc/aliases of the field it replaces
                        if let Some(old) = fields.get_mut(i).and_then(Json::as_object_mut) {
                            old.remove("default");
                            old.extend(field);
                        }
                    }
                    None => fields.push(Json::Object(field)),
                }
                Ok(())
            }
            ParentKind::Map => {
                let map = doc.at_mut(&loc.parent)?;
                let values = map.get("values").cloned().unwrap_or(Json::Null);
                if values == t {
                    Ok(())
                } else {
                    Err(format!(
                        "`{}` is a map entry of type {}; the inserted value is {}",
                        self.path,
                        schema::describe(&values),
                        schema::describe(&t)
                    ))
                }
            }
            ParentKind::Array => Err(format!(
                "`{}` is an array item; insert_field sets record fields",
                self.path
            )),
        }
    }
}

// -------------------------------------------------------- rename_fields

pub(crate) struct Rename {
    renames: Vec<(FieldPath, &'static str)>,
    ignore_missing: bool,
}

pub(crate) fn build_rename(spec: &mut Spec<'_>) -> Option<Rename> {
    spec.allow(&["renames", "ignore_missing"]);
    let ignore_missing = spec.bool("ignore_missing", false);
    let table = spec.str_table("renames")?;
    let mut renames = Vec::with_capacity(table.len());
    for (from, to) in table {
        let path = spec.path_of(&format!("renames.{from}"), from)?;
        if path.leaf_name().is_none() {
            spec.problem(Some(&format!("renames.{from}")), "must name a field");
            return None;
        }
        if to.is_empty() || to.contains(['.', '[']) {
            spec.problem(
                Some(&format!("renames.{from}")),
                format!("`{to}` must be a plain field name (a rename keeps the field where it is)"),
            );
            return None;
        }
        renames.push((path, intern(to)));
    }
    Some(Rename {
        renames,
        ignore_missing,
    })
}

impl Step for Rename {
    fn value_fields(&self) -> Option<Vec<String>> {
        let mut out = top_names(self.renames.iter().map(|(p, _)| p))?;
        // a top-level rename also replaces a field of the new name; a
        // nested one stays inside its top-level field
        for (p, to) in &self.renames {
            if p.segs().len() == 1 {
                out.push((*to).to_string());
            }
        }
        Some(out)
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        for (path, to) in &self.renames {
            let done = match path.parent_mut(&mut record.value) {
                Lookup::Found(p) => match p.as_fields_mut() {
                    Some(f) => match path.leaf_index(f) {
                        Some(mut i) => {
                            // an existing field of the new name is replaced
                            if let Some(j) = f.position(to)
                                && j != i
                            {
                                f.0.remove(j);
                                if j < i {
                                    i -= 1;
                                }
                            }
                            f.0[i].name = Cow::Borrowed(*to);
                            true
                        }
                        None => false,
                    },
                    None => false,
                },
                Lookup::Null => true,
                Lookup::Missing => false,
            };
            if !done && !self.ignore_missing {
                return Err(Fail::missing(path));
            }
        }
        Ok(true)
    }

    fn changes_schema(&self) -> bool {
        true
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        for (path, to) in &self.renames {
            let loc = match doc.locate(path) {
                Ok(l) => l,
                Err(_) if self.ignore_missing => continue,
                Err(e) => return Err(e),
            };
            if loc.kind != ParentKind::Record {
                continue;
            }
            let Some(i) = loc.field else {
                if self.ignore_missing {
                    continue;
                }
                doc.existing_field(path)?;
                continue;
            };
            if !schema::valid_name(to) {
                return Err(format!("`{to}` is not a valid avro field name"));
            }
            let rec = doc.at_mut(&loc.parent)?;
            let fields = rec
                .get_mut("fields")
                .and_then(Json::as_array_mut)
                .ok_or("record without fields")?;
            // an existing field of the new name is replaced
            let mut i = i;
            if let Some(j) = fields.iter().position(|f| f["name"] == *to)
                && j != i
            {
                fields.remove(j);
                if j < i {
                    i -= 1;
                }
            }
            if let Some(f) = fields.get_mut(i) {
                f["name"] = json!(to);
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------- drop_fields

pub(crate) struct Drop {
    paths: Vec<FieldPath>,
    /// `paths` grouped by parent (indices into `paths`), so that fields of
    /// one record go in one pass.
    groups: Vec<Vec<usize>>,
}

pub(crate) fn build_drop(spec: &mut Spec<'_>) -> Option<Drop> {
    spec.allow(&["fields"]);
    let paths = spec.req_paths("fields")?;
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let parent = &p.segs()[..p.segs().len() - 1];
        match groups
            .iter_mut()
            .find(|g| &paths[g[0]].segs()[..paths[g[0]].segs().len() - 1] == parent)
        {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    Some(Drop { paths, groups })
}

impl Drop {
    /// Removes the group's leaves from their parent in one pass (by their
    /// positions before any removal). False when it cannot (more than 64
    /// fields or items): then one by one.
    fn remove_group(&self, group: &[usize], value: &mut Value<'_>) -> bool {
        let first = &self.paths[group[0]];
        let Lookup::Found(parent) = first.parent_mut(value) else {
            return true;
        };
        let mut mask = 0u64;
        match parent {
            Value::Record(Record { fields, .. }) | Value::Map(fields) => {
                for &i in group {
                    if let Some(k) = self.paths[i].leaf_index(fields) {
                        if k >= 64 {
                            return false;
                        }
                        mask |= 1 << k;
                    }
                }
                if mask != 0 {
                    let mut k = 0;
                    fields.0.retain(|_| {
                        let keep = k >= 64 || mask & (1 << k) == 0;
                        k += 1;
                        keep
                    });
                }
            }
            Value::Array(items) => {
                for &i in group {
                    if let Seg::Index(k) = self.paths[i].leaf() {
                        if *k >= 64 {
                            return false;
                        }
                        if *k < items.len() {
                            mask |= 1 << k;
                        }
                    }
                }
                let mut k = 0;
                items.retain(|_| {
                    let keep = k >= 64 || mask & (1 << k) == 0;
                    k += 1;
                    keep
                });
            }
            _ => {}
        }
        true
    }
}

impl Step for Drop {
    fn value_fields(&self) -> Option<Vec<String>> {
        top_names(&self.paths)
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        for g in &self.groups {
            if g.len() == 1 || !self.remove_group(g, &mut record.value) {
                for &i in g {
                    self.paths[i].remove(&mut record.value);
                }
            }
        }
        Ok(true)
    }

    fn changes_schema(&self) -> bool {
        true
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        for p in &self.paths {
            // a field the schema does not have is nothing to drop
            let Ok(loc) = doc.locate(p) else { continue };
            if let (ParentKind::Record, Some(i)) = (loc.kind, loc.field) {
                let rec = doc.at_mut(&loc.parent)?;
                if let Some(fields) = rec.get_mut("fields").and_then(Json::as_array_mut) {
                    fields.remove(i);
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------- keep_fields

/// The fields to keep, as a tree: a leaf keeps the whole value.
#[derive(Debug, Default)]
struct KeepTree(BTreeMap<String, Option<KeepTree>>);

impl KeepTree {
    fn add(&mut self, segs: &[Seg]) {
        let Some((Seg::Name(first), rest)) = segs.split_first() else {
            return;
        };
        let slot = self
            .0
            .entry(first.clone())
            .or_insert_with(|| Some(KeepTree::default()));
        match (
            rest.is_empty() || matches!(rest.first(), Some(Seg::Index(_))),
            slot,
        ) {
            (true, s) => *s = None,
            (false, Some(t)) => t.add(rest),
            (false, None) => {}
        }
    }

    fn apply(&self, fields: &mut Fields<'_>) {
        fields.0.retain_mut(|f| match self.0.get(&*f.name) {
            None => false,
            Some(None) => true,
            Some(Some(sub)) => {
                if let Some(inner) = f.value.as_fields_mut() {
                    sub.apply(inner);
                }
                true
            }
        });
    }

    fn derive(&self, record: &mut Json) {
        let Some(fields) = record.get_mut("fields").and_then(Json::as_array_mut) else {
            return;
        };
        fields.retain_mut(|f| {
            let name = f
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            match self.0.get(&name) {
                None => false,
                Some(None) => true,
                Some(Some(sub)) => {
                    let t = &mut f["type"];
                    let idx = match t {
                        Json::Array(_) => {
                            let nn = schema::non_null(t);
                            (nn.len() == 1).then(|| nn[0].0)
                        }
                        _ => None,
                    };
                    let inner = match idx {
                        Some(i) => &mut t[i],
                        None => t,
                    };
                    if matches!(schema::kind(inner), "record" | "error") {
                        sub.derive(inner);
                    }
                    true
                }
            }
        });
    }
}

pub(crate) struct Keep {
    tree: KeepTree,
}

pub(crate) fn build_keep(spec: &mut Spec<'_>) -> Option<Keep> {
    spec.allow(&["fields"]);
    let paths = spec.req_paths("fields")?;
    let mut tree = KeepTree::default();
    for p in &paths {
        if !matches!(p.segs().first(), Some(Seg::Name(_))) {
            spec.problem(
                Some("fields"),
                format!("`{p}` must start with a field name"),
            );
            return None;
        }
        tree.add(p.segs());
    }
    Some(Keep { tree })
}

impl Step for Keep {
    /// The whole value: it removes every field it does not list.
    fn value_fields(&self) -> Option<Vec<String>> {
        None
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        if let Some(f) = record.value.as_fields_mut() {
            self.tree.apply(f);
        }
        Ok(true)
    }

    fn changes_schema(&self) -> bool {
        true
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        if !matches!(schema::kind(&doc.root), "record" | "error") {
            return Err("keep_fields needs a record value".into());
        }
        self.tree.derive(&mut doc.root);
        Ok(())
    }
}

// -------------------------------------------------------------- flatten

pub(crate) struct Flatten {
    separator: &'static str,
}

pub(crate) fn build_flatten(spec: &mut Spec<'_>) -> Option<Flatten> {
    spec.allow(&["separator"]);
    let separator = intern(spec.str("separator").unwrap_or("_"));
    Some(Flatten { separator })
}

impl Flatten {
    fn flatten_into<'a>(&self, prefix: &str, fields: Fields<'a>, out: &mut Fields<'a>) {
        for f in fields.0 {
            let name: Cow<'a, str> = if prefix.is_empty() {
                f.name
            } else {
                Cow::Owned(format!("{prefix}{}{}", self.separator, f.name))
            };
            match f.value {
                Value::Record(r) => self.flatten_into(&name, r.fields, out),
                v => {
                    out.insert(name, v);
                }
            }
        }
    }

    fn derive_into(
        &self,
        prefix: &str,
        fields: &[Json],
        optional: bool,
        out: &mut Vec<Json>,
    ) -> Result<(), String> {
        for f in fields {
            let name = f.get("name").and_then(Json::as_str).unwrap_or("");
            let full = if prefix.is_empty() {
                name.to_string()
            } else {
                format!("{prefix}{}{name}", self.separator)
            };
            let t = &f["type"];
            let branches = schema::non_null(t);
            let records = branches
                .iter()
                .filter(|(_, b)| matches!(schema::kind(b), "record" | "error"))
                .count();
            match (records, branches.as_slice()) {
                (1, [(_, rec)]) => {
                    let inner = rec
                        .get("fields")
                        .and_then(Json::as_array)
                        .cloned()
                        .unwrap_or_default();
                    self.derive_into(&full, &inner, optional || schema::is_nullable(t), out)?;
                }
                (0, _) => {
                    let mut g = f.clone();
                    g["name"] = json!(full);
                    let g = if optional {
                        schema::optional_field(&g)
                    } else {
                        g
                    };
                    if out.iter().any(|x| x["name"] == g["name"]) {
                        return Err(format!("flattening makes two fields called `{full}`"));
                    }
                    if !schema::valid_name(&full) {
                        return Err(format!(
                            "flattened name `{full}` is not a valid avro name (separator `{}`)",
                            self.separator
                        ));
                    }
                    out.push(g);
                }
                _ => {
                    return Err(format!(
                        "`{full}` is the union {}, which flatten cannot split into fields",
                        schema::describe(t)
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Step for Flatten {
    /// The whole value: it rebuilds the record from every nested record.
    fn value_fields(&self) -> Option<Vec<String>> {
        None
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        if let Value::Record(r) = &mut record.value
            && r.fields.iter().any(|f| matches!(f.value, Value::Record(_)))
        {
            let fields = std::mem::take(&mut r.fields);
            let mut out = Fields::with_capacity(fields.len() + 8);
            self.flatten_into("", fields, &mut out);
            r.fields = out;
        }
        Ok(true)
    }

    fn changes_schema(&self) -> bool {
        true
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        if !matches!(schema::kind(&doc.root), "record" | "error") {
            return Err("flatten needs a record value".into());
        }
        let fields = doc
            .root
            .get("fields")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::new();
        self.derive_into("", &fields, false, &mut out)?;
        doc.root["fields"] = Json::Array(out);
        Ok(())
    }
}
