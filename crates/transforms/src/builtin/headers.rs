//! `set_headers` and `drop_headers`.

use std::borrow::Cow;

use kbridge_pipeline::PipelineRecord;
use serde_json::Value as Json;

use super::{Fail, Step};
use crate::expr::Expr;
use crate::intern::intern;
use crate::schema::SchemaDoc;
use crate::spec::Spec;
use crate::template::{Template, write_text};

enum HeaderValue {
    Constant(&'static str),
    Template(Template),
    Expression(Expr),
}

pub(crate) struct SetHeaders {
    headers: Vec<(&'static str, HeaderValue)>,
    buf: String,
}

pub(crate) fn build_set(spec: &mut Spec<'_>) -> Option<SetHeaders> {
    spec.allow(&["headers"]);
    let table = spec.table("headers")?;
    if table.is_empty() {
        spec.problem(Some("headers"), "must not be empty");
        return None;
    }
    let mut headers = Vec::with_capacity(table.len());
    for (name, v) in table {
        let key = format!("headers.{name}");
        let value = match v {
            Json::String(t) => match Template::parse(t, false) {
                Ok(t) => match t.constant() {
                    Some(c) => HeaderValue::Constant(intern(c)),
                    None => HeaderValue::Template(t),
                },
                Err(e) => {
                    spec.problem(Some(&key), e);
                    return None;
                }
            },
            Json::Object(o) if o.len() == 1 && o.get("expression").is_some_and(Json::is_string) => {
                let text = o.get("expression").and_then(Json::as_str).unwrap_or("");
                HeaderValue::Expression(spec.expr_of(&format!("{key}.expression"), text)?)
            }
            _ => {
                spec.problem(
                    Some(&key),
                    "expected a template string or { expression = \"...\" }",
                );
                return None;
            }
        };
        headers.push((intern(name), value));
    }
    Some(SetHeaders {
        headers,
        buf: String::new(),
    })
}

impl Step for SetHeaders {
    fn value_fields(&self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for (_, v) in &self.headers {
            match v {
                HeaderValue::Constant(_) => {}
                HeaderValue::Template(t) => out.extend(super::top_names(t.fields())?),
                HeaderValue::Expression(e) => out.extend(e.value_fields()?),
            }
        }
        Some(out)
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        for (name, value) in &self.headers {
            let bytes: Option<Cow<'_, [u8]>> = match value {
                HeaderValue::Constant(c) => Some(Cow::Borrowed(c.as_bytes())),
                HeaderValue::Template(t) => {
                    t.render(record, &mut self.buf)?;
                    Some(Cow::Owned(self.buf.as_bytes().to_vec()))
                }
                HeaderValue::Expression(e) => {
                    let v = e.eval(record).map_err(Fail::expr)?;
                    match v {
                        kbridge_codec::Value::Null => None,
                        kbridge_codec::Value::Bytes(b) => Some(Cow::Owned(b.into_owned())),
                        v => {
                            self.buf.clear();
                            write_text(&v, &mut self.buf).map_err(|m| {
                                Fail::new(
                                    "InvalidValue",
                                    format!("header `{name}`: expression result {m}"),
                                )
                            })?;
                            Some(Cow::Owned(self.buf.as_bytes().to_vec()))
                        }
                    }
                }
            };
            record.headers.retain(|(n, _)| n != name);
            record.headers.push((Cow::Borrowed(*name), bytes));
        }
        Ok(true)
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        for (_, v) in &self.headers {
            if let HeaderValue::Template(t) = v {
                for p in t.fields() {
                    doc.type_at(p)?;
                }
            }
        }
        Ok(())
    }
}

pub(crate) struct DropHeaders {
    exact: Vec<&'static str>,
    prefixes: Vec<&'static str>,
}

pub(crate) fn build_drop(spec: &mut Spec<'_>) -> Option<DropHeaders> {
    spec.allow(&["headers"]);
    let names = spec.req_str_list("headers")?;
    let mut exact = Vec::new();
    let mut prefixes = Vec::new();
    for n in names {
        match n.strip_suffix('*') {
            Some(p) => prefixes.push(intern(p)),
            None => exact.push(intern(n)),
        }
    }
    Some(DropHeaders { exact, prefixes })
}

impl Step for DropHeaders {
    fn value_fields(&self) -> Option<Vec<String>> {
        Some(Vec::new())
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        record.headers.retain(|(n, _)| {
            !self.exact.iter().any(|e| n == e) && !self.prefixes.iter().any(|p| n.starts_with(p))
        });
        Ok(true)
    }
}
