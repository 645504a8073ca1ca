//! `route`: the output topic from a template of field values, a regex on
//! the topic (or a field), the record timestamp, or an expression.

use std::borrow::Cow;

use kbridge_codec::Value;
use kbridge_pipeline::PipelineRecord;
use regex::Regex;

use super::{Fail, Step};
use crate::expr::Expr;
use crate::path::{FieldPath, Lookup};
use crate::schema::SchemaDoc;
use crate::spec::Spec;
use crate::template::{Template, write_text};

enum How {
    Template(Template),
    Regex {
        regex: Regex,
        replacement: String,
        field: Option<FieldPath>,
    },
    Expression(Expr),
}

pub(crate) struct Route {
    how: How,
    buf: String,
}

/// Whether `t` is a legal Kafka topic name.
pub(crate) fn valid_topic(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 249
        && t != "."
        && t != ".."
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

pub(crate) fn build(spec: &mut Spec<'_>) -> Option<Route> {
    spec.allow(&[
        "topic",
        "regex",
        "replacement",
        "field",
        "timestamp_pattern",
        "expression",
    ]);
    let how = match spec.one_key(&["topic", "regex", "timestamp_pattern", "expression"])? {
        which @ ("topic" | "timestamp_pattern") => {
            let text = spec.req_str(which)?;
            match Template::parse(text, which == "timestamp_pattern") {
                Ok(t) => How::Template(t),
                Err(e) => {
                    spec.problem(Some(which), e);
                    return None;
                }
            }
        }
        "regex" => {
            let text = spec.req_str("regex")?;
            let replacement = spec.req_str("replacement");
            let field = match spec.str("field") {
                Some(f) => Some(spec.path_of("field", f)?),
                None => None,
            };
            // validated as written (so errors point into the user's text),
            // then anchored like Kafka Connect's RegexRouter (`matches()`)
            if let Err(e) = Regex::new(text) {
                spec.problem(Some("regex"), format!("invalid regex: {e}"));
                return None;
            }
            let regex = match Regex::new(&format!("^(?:{text})$")) {
                Ok(r) => r,
                Err(e) => {
                    spec.problem(Some("regex"), format!("invalid regex: {e}"));
                    return None;
                }
            };
            How::Regex {
                regex,
                replacement: replacement?.to_string(),
                field,
            }
        }
        _ => How::Expression(spec.expr("expression")?),
    };
    if !matches!(how, How::Regex { .. }) {
        for k in ["replacement", "field"] {
            if spec.has(k) {
                spec.problem(Some(k), "only a `regex` route takes this key");
                return None;
            }
        }
    }
    Some(Route {
        how,
        buf: String::new(),
    })
}

impl Step for Route {
    fn value_fields(&self) -> Option<Vec<String>> {
        match &self.how {
            How::Template(t) => super::top_names(t.fields()),
            How::Regex { field, .. } => super::top_names(field),
            How::Expression(e) => e.value_fields(),
        }
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        let topic: String = match &self.how {
            How::Template(t) => {
                t.render(record, &mut self.buf)?;
                self.buf.clone()
            }
            How::Regex {
                regex,
                replacement,
                field,
            } => {
                let input: &str = match field {
                    None => record.topic.as_deref().unwrap_or(record.source.topic),
                    Some(p) => match p.get(&record.value) {
                        Lookup::Found(v) => {
                            self.buf.clear();
                            write_text(v, &mut self.buf).map_err(|m| {
                                Fail::new("InvalidValue", format!("route: value {m}")).at(p)
                            })?;
                            &self.buf
                        }
                        Lookup::Null => return Ok(true),
                        Lookup::Missing => return Err(Fail::missing(p)),
                    },
                };
                if !regex.is_match(input) {
                    return Ok(true);
                }
                regex.replace(input, replacement.as_str()).into_owned()
            }
            How::Expression(e) => match e.eval(record).map_err(Fail::expr)? {
                Value::String(s) => s.into_owned(),
                other => {
                    return Err(Fail::expr(format!(
                        "expression `{}` returned {}, not a topic name",
                        e.source(),
                        other.type_name()
                    )));
                }
            },
        };
        if !valid_topic(&topic) {
            return Err(Fail::new(
                "InvalidTopic",
                format!(
                    "`{topic}` is not a valid topic name (letters, digits, `.`, `_`, `-`; at most 249)"
                ),
            ));
        }
        record.topic = Some(Cow::Owned(topic));
        Ok(true)
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        match &self.how {
            How::Template(t) => t.fields().try_for_each(|p| doc.type_at(p).map(|_| ())),
            How::Regex { field: Some(p), .. } => doc.type_at(p).map(|_| ()),
            _ => Ok(()),
        }
    }
}
