//! `set_timestamp`: the record timestamp (event time) from a value field.

use kbridge_codec::Value;
use kbridge_pipeline::PipelineRecord;

use super::cast::{TimeFormat, parse_iso_micros};
use super::{Fail, Step};
use crate::path::{FieldPath, Lookup};
use crate::schema::{self, SchemaDoc};
use crate::spec::Spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

enum Format {
    Auto,
    Unit(Unit),
    Pattern(TimeFormat),
}

pub(crate) struct SetTimestamp {
    path: FieldPath,
    format: Format,
    keep_on_missing: bool,
}

pub(crate) fn build(spec: &mut Spec<'_>) -> Option<SetTimestamp> {
    spec.allow(&["field", "format", "on_missing"]);
    let path = spec.req_path("field");
    let keep_on_missing = spec.choice("on_missing", &["fail", "keep"], "fail") == "keep";
    let format = match spec.str("format").unwrap_or("auto") {
        "auto" | "iso8601" => Format::Auto,
        "seconds" => Format::Unit(Unit::Seconds),
        "millis" => Format::Unit(Unit::Millis),
        "micros" => Format::Unit(Unit::Micros),
        "nanos" => Format::Unit(Unit::Nanos),
        p if p.contains('%') => match TimeFormat::pattern(p) {
            Some(f) => Format::Pattern(f),
            None => {
                spec.problem(Some("format"), format!("invalid strftime pattern `{p}`"));
                return None;
            }
        },
        other => {
            spec.problem(
                Some("format"),
                format!(
                    "unknown format `{other}`, expected `auto`, `seconds`, `millis`, `micros`, `nanos` or a strftime pattern"
                ),
            );
            return None;
        }
    };
    Some(SetTimestamp {
        path: path?,
        format,
        keep_on_missing,
    })
}

fn scale(n: i64, unit: Unit) -> Option<i64> {
    match unit {
        Unit::Seconds => n.checked_mul(1000),
        Unit::Millis => Some(n),
        Unit::Micros => Some(n.div_euclid(1000)),
        Unit::Nanos => Some(n.div_euclid(1_000_000)),
    }
}

impl SetTimestamp {
    fn millis(&self, v: &Value<'_>) -> Result<i64, String> {
        let bad = || {
            format!(
                "cannot read a timestamp from {} {}",
                v.type_name(),
                short(v)
            )
        };
        let exact = match *v {
            Value::TimestampMillis(n) | Value::LocalTimestampMillis(n) => Some(n),
            Value::TimestampMicros(n) | Value::LocalTimestampMicros(n) => Some(n.div_euclid(1000)),
            Value::TimestampNanos(n) | Value::LocalTimestampNanos(n) => {
                Some(n.div_euclid(1_000_000))
            }
            Value::Date(d) => Some(i64::from(d) * 86_400_000),
            _ => None,
        };
        if let Some(ms) = exact {
            return Ok(ms);
        }
        match (&self.format, v) {
            (Format::Auto, Value::Int(_) | Value::Long(_)) => v.as_i64().ok_or_else(bad),
            (Format::Auto, Value::Double(d)) => Ok(d.trunc() as i64),
            (Format::Auto, Value::String(s)) => {
                parse_iso_micros(s.trim()).map(|us| us.div_euclid(1000))
            }
            (Format::Unit(u), Value::Int(_) | Value::Long(_)) => {
                v.as_i64().and_then(|n| scale(n, *u)).ok_or_else(bad)
            }
            (Format::Unit(u), Value::Double(d)) => {
                let ms = match u {
                    Unit::Seconds => d * 1000.0,
                    Unit::Millis => *d,
                    Unit::Micros => d / 1000.0,
                    Unit::Nanos => d / 1e6,
                };
                if ms.is_finite() {
                    Ok(ms.trunc() as i64)
                } else {
                    Err(bad())
                }
            }
            (Format::Unit(u), Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .ok()
                .and_then(|n| scale(n, *u))
                .ok_or_else(bad),
            (Format::Pattern(f), Value::String(s)) => {
                f.parse_micros(s).map(|us| us.div_euclid(1000))
            }
            _ => Err(bad()),
        }
    }
}

fn short(v: &Value<'_>) -> String {
    kbridge_codec::json::to_json_string(v, None, kbridge_codec::JsonStyle::Natural)
        .unwrap_or_default()
        .chars()
        .take(40)
        .collect()
}

impl Step for SetTimestamp {
    fn value_fields(&self) -> Option<Vec<String>> {
        super::top_names([&self.path])
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        let ms = match self.path.get(&record.value) {
            Lookup::Found(Value::Null) | Lookup::Null if self.keep_on_missing => return Ok(true),
            Lookup::Missing if self.keep_on_missing => return Ok(true),
            Lookup::Found(Value::Null) | Lookup::Null => {
                return Err(
                    Fail::new("MissingTimestamp", "the timestamp field is null").at(&self.path)
                );
            }
            Lookup::Missing => return Err(Fail::missing(&self.path)),
            Lookup::Found(v) => self
                .millis(v)
                .map_err(|m| Fail::new("InvalidTimestamp", m).at(&self.path))?,
        };
        record.timestamp = Some(ms);
        Ok(true)
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        let (t, _) = match doc.type_at(&self.path) {
            Ok(x) => x,
            Err(_) if self.keep_on_missing => return Ok(()),
            Err(e) => return Err(e),
        };
        for (_, b) in schema::non_null(t) {
            let ok = matches!(
                (&self.format, schema::kind(b)),
                (
                    _,
                    "timestamp-millis"
                        | "timestamp-micros"
                        | "timestamp-nanos"
                        | "local-timestamp-millis"
                        | "local-timestamp-micros"
                        | "local-timestamp-nanos"
                        | "date",
                ) | (
                    Format::Auto | Format::Unit(_),
                    "int" | "long" | "double" | "string"
                ) | (Format::Pattern(_), "string")
            );
            if !ok {
                return Err(format!(
                    "`{}` is {}, which holds no timestamp for format {}",
                    self.path,
                    schema::describe(b),
                    match &self.format {
                        Format::Auto => "`auto`",
                        Format::Unit(_) => "a unit",
                        Format::Pattern(_) => "a strftime pattern",
                    }
                ));
            }
        }
        Ok(())
    }
}
