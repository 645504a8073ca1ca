//! Text templates for topic names and header values:
//! `orders-{region}`, `{$topic}-clean`, `{device.model}`,
//! `{$timestamp:%Y-%m-%d}`. `{{` and `}}` are literal braces.
//!
//! Placeholders: a field path of the value, or `$topic` (the output topic
//! so far, else the source topic), `$partition`, `$offset` (source),
//! `$key` (the key as text), `$timestamp` (the record timestamp, RFC 3339
//! or `$timestamp:<strftime>`, UTC).

use std::fmt::Write as _;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Utc};
use kbridge_codec::{JsonStyle, Value};
use kbridge_pipeline::PipelineRecord;

use crate::builtin::Fail;
use crate::path::{FieldPath, Lookup};

#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    /// Literal text that is a strftime pattern of the record timestamp.
    Stamp(Vec<Item<'static>>),
    Field(FieldPath),
    Topic,
    Partition,
    Offset,
    Key,
    Timestamp(Option<Vec<Item<'static>>>),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    parts: Vec<Part>,
    text: String,
}

fn strftime(p: &str) -> Result<Vec<Item<'static>>, String> {
    StrftimeItems::new(p)
        .parse_to_owned()
        .map_err(|_| format!("invalid strftime pattern `{p}`"))
}

impl Template {
    /// Parses `text`. With `stamp`, literal text is a strftime pattern of
    /// the record timestamp (`events-%Y-%m-%d`).
    pub(crate) fn parse(text: &str, stamp: bool) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.char_indices().peekable();
        let push_lit = |lit: &mut String, parts: &mut Vec<Part>| -> Result<(), String> {
            if !lit.is_empty() {
                let l = std::mem::take(lit);
                parts.push(if stamp {
                    Part::Stamp(strftime(&l)?)
                } else {
                    Part::Lit(l)
                });
            }
            Ok(())
        };
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|x| x.1) == Some('{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().map(|x| x.1) == Some('}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let end = rest
                        .find('}')
                        .ok_or_else(|| format!("unclosed `{{` in `{text}`"))?;
                    let inner = rest[..end].trim();
                    for _ in 0..=end {
                        chars.next();
                    }
                    push_lit(&mut lit, &mut parts)?;
                    parts.push(match inner {
                        "$topic" => Part::Topic,
                        "$partition" => Part::Partition,
                        "$offset" => Part::Offset,
                        "$key" => Part::Key,
                        "$timestamp" => Part::Timestamp(None),
                        t if t.starts_with("$timestamp:") => {
                            Part::Timestamp(Some(strftime(&t["$timestamp:".len()..])?))
                        }
                        t if t.starts_with('$') => {
                            return Err(format!(
                                "unknown placeholder `{{{t}}}`; use a field path or one of \
                                 $topic, $partition, $offset, $key, $timestamp"
                            ));
                        }
                        t => Part::Field(FieldPath::parse(t)?),
                    });
                }
                '}' => return Err(format!("unmatched `}}` in `{text}` (write `}}}}`)")),
                c => lit.push(c),
            }
        }
        push_lit(&mut lit, &mut parts)?;
        Ok(Template {
            parts,
            text: text.to_string(),
        })
    }

    /// The field paths it reads.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &FieldPath> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(f) => Some(f),
            _ => None,
        })
    }

    /// Whether the template is constant text.
    pub(crate) fn constant(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Lit(l)] => Some(l),
            _ => None,
        }
    }

    /// Renders into `out` (cleared first).
    pub(crate) fn render(&self, record: &PipelineRecord<'_>, out: &mut String) -> Result<(), Fail> {
        out.clear();
        let stamp = || -> Result<DateTime<Utc>, Fail> {
            record
                .timestamp
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(|| Fail::new("MissingTimestamp", "the record has no timestamp"))
        };
        for part in &self.parts {
            match part {
                Part::Lit(l) => out.push_str(l),
                Part::Stamp(items) => {
                    let _ = write!(out, "{}", stamp()?.format_with_items(items.iter()));
                }
                Part::Topic => out.push_str(record.topic.as_deref().unwrap_or(record.source.topic)),
                Part::Partition => {
                    let _ = write!(out, "{}", record.source.partition);
                }
                Part::Offset => {
                    let _ = write!(out, "{}", record.source.offset);
                }
                Part::Key => write_text(&record.key, out)
                    .map_err(|m| Fail::new("InvalidValue", format!("key {m}")))?,
                Part::Timestamp(None) => {
                    out.push_str(&stamp()?.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                }
                Part::Timestamp(Some(items)) => {
                    let _ = write!(out, "{}", stamp()?.format_with_items(items.iter()));
                }
                Part::Field(p) => match p.get(&record.value) {
                    Lookup::Found(v) => write_text(v, out).map_err(|m| {
                        Fail::new(
                            "InvalidValue",
                            format!("template `{}`: value {m}", self.text),
                        )
                        .at(p)
                    })?,
                    Lookup::Null => {
                        return Err(Fail::new(
                            "InvalidValue",
                            format!("template `{}`: a parent is null", self.text),
                        )
                        .at(p));
                    }
                    Lookup::Missing => return Err(Fail::missing(p)),
                },
            }
        }
        Ok(())
    }
}

/// A scalar as text (strings as they are).
pub(crate) fn write_text(v: &Value<'_>, out: &mut String) -> Result<(), String> {
    match v {
        Value::String(s) | Value::Enum(_, s) => out.push_str(s),
        Value::Null => return Err("is null".to_string()),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Long(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::Double(f) => {
            let _ = write!(out, "{f}");
        }
        Value::Bytes(b) | Value::Fixed(b) => {
            out.push_str(
                std::str::from_utf8(b).map_err(|_| "is bytes that are not UTF-8".to_string())?,
            );
        }
        Value::Array(_) | Value::Map(_) | Value::Record(_) => {
            return Err(format!("is {}, not a scalar", v.type_name()));
        }
        other => {
            let j = kbridge_codec::json::to_json_string(other, None, JsonStyle::Natural)
                .map_err(|e| e.to_string())?;
            out.push_str(j.trim_matches('"'));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbridge_codec::Record;
    use kbridge_pipeline::SourceMeta;
    use kbridge_source::TimestampType;

    fn record() -> PipelineRecord<'static> {
        let mut r = PipelineRecord::new(
            Value::Record(Record::from_fields([
                ("region", Value::from("eu")),
                ("n", Value::Long(3)),
                ("dev", Value::Null),
            ])),
            SourceMeta {
                topic: "orders",
                partition: 2,
                offset: 41,
                timestamp: Some(1_767_225_600_000),
                timestamp_type: TimestampType::CreateTime,
            },
        );
        r.key = Value::from("k1");
        r
    }

    fn render(t: &str, stamp: bool) -> Result<String, String> {
        let t = Template::parse(t, stamp)?;
        let mut out = String::new();
        t.render(&record(), &mut out)
            .map_err(|f| format!("{} {:?}", f.message, f.path))?;
        Ok(out)
    }

    #[test]
    fn templates_render_fields_and_metadata() {
        assert_eq!(render("orders-{region}", false).unwrap(), "orders-eu");
        assert_eq!(
            render("{$topic}.{$partition}.{$offset}.{$key}.{n}", false).unwrap(),
            "orders.2.41.k1.3"
        );
        assert_eq!(render("{{x}}", false).unwrap(), "{x}");
        assert_eq!(
            render("e-{$timestamp:%Y%m%d}", false).unwrap(),
            "e-20260101"
        );
        assert_eq!(
            render("{$topic}-%Y-%m-%d", true).unwrap(),
            "orders-2026-01-01"
        );
        assert_eq!(
            render("{dev.model}", false).unwrap_err(),
            "template `{dev.model}`: a parent is null Some(\"dev.model\")"
        );
        assert_eq!(
            render("{nope}", false).unwrap_err(),
            "missing field Some(\"nope\")"
        );
        assert!(
            Template::parse("{$nope}", false)
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(
            Template::parse("a{b", false)
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(
            Template::parse("%Q", true)
                .unwrap_err()
                .contains("strftime")
        );
    }
}
