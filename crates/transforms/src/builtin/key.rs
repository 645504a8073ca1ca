//! `set_key`: the record key from value fields or an expression (Kafka
//! Connect's `ValueToKey` + `ExtractField$Key`).

use std::borrow::Cow;

use kbridge_codec::{Fields, JsonStyle, Record, Value};
use kbridge_pipeline::PipelineRecord;

use super::{Fail, Step};
use crate::expr::Expr;
use crate::intern::intern;
use crate::path::{FieldPath, Lookup};
use crate::schema::SchemaDoc;
use crate::spec::Spec;

enum From {
    Field(FieldPath),
    Fields(Vec<(FieldPath, &'static str)>),
    Expression(Expr),
}

pub(crate) struct SetKey {
    from: From,
    as_string: bool,
}

pub(crate) fn build(spec: &mut Spec<'_>) -> Option<SetKey> {
    spec.allow(&["field", "fields", "expression", "format"]);
    let as_string = spec.choice("format", &["value", "string"], "value") == "string";
    let from = match spec.one_key(&["field", "fields", "expression"])? {
        "field" => From::Field(spec.req_path("field")?),
        "fields" => {
            let paths = spec.req_paths("fields")?;
            let mut out: Vec<(FieldPath, &'static str)> = Vec::with_capacity(paths.len());
            for p in paths {
                let Some(leaf) = p.leaf_name() else {
                    spec.problem(Some("fields"), format!("`{p}` must end with a field name"));
                    return None;
                };
                if out.iter().any(|(_, n)| *n == leaf) {
                    spec.problem(
                        Some("fields"),
                        format!("two key fields are called `{leaf}`"),
                    );
                    return None;
                }
                let leaf = intern(leaf);
                out.push((p, leaf));
            }
            From::Fields(out)
        }
        _ => From::Expression(spec.expr("expression")?),
    };
    Some(SetKey { from, as_string })
}

fn field<'a>(value: &Value<'a>, p: &FieldPath) -> Result<Value<'a>, Fail> {
    match p.get(value) {
        Lookup::Found(v) => Ok(v.clone()),
        Lookup::Null => Ok(Value::Null),
        Lookup::Missing => Err(Fail::missing(p)),
    }
}

/// A value as key text: strings as they are, other scalars printed,
/// records and lists as JSON.
pub(crate) fn text<'a>(v: Value<'a>) -> Result<Value<'a>, Fail> {
    Ok(match v {
        Value::Null => Value::Null,
        Value::String(s) | Value::Enum(_, s) => Value::String(s),
        other => Value::String(Cow::Owned(
            kbridge_codec::json::to_json_string(&other, None, JsonStyle::Natural)
                .map_err(|e| Fail::new("InvalidValue", e.to_string()))?,
        )),
    })
}

impl Step for SetKey {
    fn value_fields(&self) -> Option<Vec<String>> {
        match &self.from {
            From::Field(p) => super::top_names([p]),
            From::Fields(ps) => super::top_names(ps.iter().map(|(p, _)| p)),
            From::Expression(e) => e.value_fields(),
        }
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        let key = match &self.from {
            From::Field(p) => field(&record.value, p)?,
            From::Fields(ps) => {
                let mut fields = Fields::with_capacity(ps.len());
                for (p, name) in ps {
                    fields.push(Cow::Borrowed(*name), field(&record.value, p)?);
                }
                Value::Record(Record { name: None, fields })
            }
            From::Expression(e) => e.eval(record).map_err(Fail::expr)?,
        };
        record.key = if self.as_string { text(key)? } else { key };
        Ok(true)
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        match &self.from {
            From::Field(p) => doc.type_at(p).map(|_| ()),
            From::Fields(ps) => ps.iter().try_for_each(|(p, _)| doc.type_at(p).map(|_| ())),
            From::Expression(_) => Ok(()),
        }
    }
}
