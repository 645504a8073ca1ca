//! `cast`: change field types (Kafka Connect's `Cast`), with timestamps.

use std::borrow::Cow;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, NaiveDateTime, Utc};
use kbridge_codec::{JsonStyle, Value};
use kbridge_pipeline::PipelineRecord;
use serde_json::{Value as Json, json};

use super::{Fail, Step};
use crate::path::{FieldPath, Lookup};
use crate::schema::{self, SchemaDoc};
use crate::spec::Spec;

/// A cast target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    String,
    Int,
    Long,
    Float,
    Double,
    Boolean,
    TimestampMillis,
    TimestampMicros,
}

pub(crate) const TARGETS: &[&str] = &[
    "string",
    "int",
    "long",
    "float",
    "double",
    "boolean",
    "timestamp-millis",
    "timestamp-micros",
];

impl Target {
    fn parse(s: &str) -> Option<Target> {
        Some(match s {
            "string" => Target::String,
            "int" => Target::Int,
            "long" => Target::Long,
            "float" => Target::Float,
            "double" => Target::Double,
            "boolean" => Target::Boolean,
            "timestamp-millis" => Target::TimestampMillis,
            "timestamp-micros" => Target::TimestampMicros,
            _ => return None,
        })
    }

    fn avro(self) -> Json {
        match self {
            Target::String => json!("string"),
            Target::Int => json!("int"),
            Target::Long => json!("long"),
            Target::Float => json!("float"),
            Target::Double => json!("double"),
            Target::Boolean => json!("boolean"),
            Target::TimestampMillis => json!({"type": "long", "logicalType": "timestamp-millis"}),
            Target::TimestampMicros => json!({"type": "long", "logicalType": "timestamp-micros"}),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Target::String => "string",
            Target::Int => "int",
            Target::Long => "long",
            Target::Float => "float",
            Target::Double => "double",
            Target::Boolean => "boolean",
            Target::TimestampMillis => "timestamp-millis",
            Target::TimestampMicros => "timestamp-micros",
        }
    }
}

/// How timestamps are written as and read from strings.
#[derive(Debug, Clone)]
pub(crate) enum TimeFormat {
    /// RFC 3339 (`2026-01-01T00:00:00.000Z`).
    Rfc3339,
    /// A `strftime` pattern, in UTC.
    Pattern(Vec<Item<'static>>, String),
}

impl TimeFormat {
    /// Parses a pattern; `None` when it has an invalid specifier.
    pub(crate) fn pattern(p: &str) -> Option<TimeFormat> {
        let items = StrftimeItems::new(p).parse_to_owned().ok()?;
        Some(TimeFormat::Pattern(items, p.to_string()))
    }

    pub(crate) fn format_micros(&self, micros: i64) -> Option<String> {
        let t = DateTime::<Utc>::from_timestamp_micros(micros)?;
        Some(match self {
            TimeFormat::Rfc3339 if micros % 1000 == 0 => {
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            }
            TimeFormat::Rfc3339 => t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            TimeFormat::Pattern(items, _) => t.format_with_items(items.iter()).to_string(),
        })
    }

    /// Parses a timestamp string to microseconds since the epoch.
    pub(crate) fn parse_micros(&self, s: &str) -> Result<i64, String> {
        let s = s.trim();
        match self {
            TimeFormat::Rfc3339 => parse_iso_micros(s),
            TimeFormat::Pattern(_, p) => DateTime::parse_from_str(s, p)
                .map(|t| t.timestamp_micros())
                .or_else(|_| {
                    NaiveDateTime::parse_from_str(s, p).map(|t| t.and_utc().timestamp_micros())
                })
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(s, p).map(|d| {
                        d.and_hms_opt(0, 0, 0)
                            .map(|t| t.and_utc().timestamp_micros())
                            .unwrap_or(0)
                    })
                })
                .map_err(|e| format!("{s:?} does not match the format {p:?}: {e}")),
        }
    }
}

/// RFC 3339 / ISO 8601 (`2026-01-01T10:00:00Z`, `…+02:00`, a space instead
/// of `T`, no zone meaning UTC, a bare date) to microseconds.
pub(crate) fn parse_iso_micros(s: &str) -> Result<i64, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_micros());
    }
    let t = s.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&t) {
        return Ok(t.timestamp_micros());
    }
    for p in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(&t, p) {
            return Ok(n.and_utc().timestamp_micros());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(n) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(n.and_utc().timestamp_micros());
    }
    Err(format!("{s:?} is not an ISO 8601 timestamp"))
}

fn float_text(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        x.to_string()
    }
}

/// Microseconds of a timestamp-like value (and whether it was one).
fn micros_of(v: &Value<'_>) -> Option<i64> {
    Some(match *v {
        Value::TimestampMillis(n) | Value::LocalTimestampMillis(n) => n.checked_mul(1000)?,
        Value::TimestampMicros(n) | Value::LocalTimestampMicros(n) => n,
        Value::TimestampNanos(n) | Value::LocalTimestampNanos(n) => n.div_euclid(1000),
        Value::Date(d) => i64::from(d) * 86_400_000_000,
        _ => return None,
    })
}

/// Casts one value. `Err` says why (the caller adds the path).
pub(crate) fn cast<'a>(v: Value<'a>, to: Target, fmt: &TimeFormat) -> Result<Value<'a>, String> {
    let fail =
        |v: &Value<'_>| format!("cannot cast {} {} to {}", v.type_name(), show(v), to.name());
    if v.is_null() {
        return Ok(Value::Null);
    }
    let int_of_f64 = |x: f64| -> Option<i64> {
        (-9.223_372_036_854_776e18..9.223_372_036_854_776e18)
            .contains(&x)
            .then_some(x.trunc() as i64)
    };
    let as_long = |v: &Value<'_>| -> Option<i64> {
        match v {
            Value::Boolean(b) => Some(i64::from(*b)),
            Value::Float(f) => int_of_f64(f64::from(*f)),
            Value::Double(d) => int_of_f64(*d),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            Value::Decimal(d) => d.to_string().split('.').next()?.parse::<i64>().ok(),
            _ => v.as_i64(),
        }
    };
    let as_f64 = |v: &Value<'_>| -> Option<f64> {
        match v {
            Value::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            Value::Decimal(d) => d.to_string().parse::<f64>().ok(),
            _ => v.as_f64().or_else(|| v.as_i64().map(|i| i as f64)),
        }
    };
    Ok(match to {
        Target::String => match v {
            Value::String(s) => Value::String(s),
            Value::Enum(_, s) => Value::String(s),
            Value::Bytes(b) | Value::Fixed(b) => match b {
                Cow::Borrowed(b) => {
                    Value::String(Cow::Borrowed(std::str::from_utf8(b).map_err(|_| {
                        "cannot cast bytes that are not UTF-8 to string".to_string()
                    })?))
                }
                Cow::Owned(b) => {
                    Value::String(Cow::Owned(String::from_utf8(b).map_err(|_| {
                        "cannot cast bytes that are not UTF-8 to string".to_string()
                    })?))
                }
            },
            Value::Boolean(b) => Value::String(Cow::Borrowed(if b { "true" } else { "false" })),
            Value::Int(i) => Value::String(Cow::Owned(i.to_string())),
            Value::Long(i) => Value::String(Cow::Owned(i.to_string())),
            Value::Float(f) => Value::String(Cow::Owned(float_text(f64::from(f)))),
            Value::Double(d) => Value::String(Cow::Owned(float_text(d))),
            Value::Uuid(u) => Value::String(Cow::Owned(u.to_string())),
            Value::Decimal(d) => Value::String(Cow::Owned(d.to_string())),
            Value::Date(d) => Value::String(Cow::Owned(
                chrono::NaiveDate::from_num_days_from_ce_opt(d + 719_163)
                    .map(|x| x.to_string())
                    .ok_or_else(|| fail(&v))?,
            )),
            ref other => match micros_of(other) {
                Some(us) => Value::String(Cow::Owned(
                    fmt.format_micros(us).ok_or_else(|| fail(other))?,
                )),
                None => return Err(fail(other)),
            },
        },
        Target::Int => {
            let l = as_long(&v).ok_or_else(|| fail(&v))?;
            Value::Int(i32::try_from(l).map_err(|_| format!("{l} is out of range for int"))?)
        }
        Target::Long => Value::Long(as_long(&v).ok_or_else(|| fail(&v))?),
        Target::Float => Value::Float(as_f64(&v).ok_or_else(|| fail(&v))? as f32),
        Target::Double => Value::Double(as_f64(&v).ok_or_else(|| fail(&v))?),
        Target::Boolean => Value::Boolean(match &v {
            Value::Boolean(b) => *b,
            Value::String(s) if s.trim().eq_ignore_ascii_case("true") => true,
            Value::String(s) if s.trim().eq_ignore_ascii_case("false") => false,
            Value::Int(_) | Value::Long(_) => v.as_i64() != Some(0),
            Value::Float(_) | Value::Double(_) => v.as_f64() != Some(0.0),
            other => return Err(fail(other)),
        }),
        Target::TimestampMillis | Target::TimestampMicros => {
            let micros = match &v {
                Value::Int(_) | Value::Long(_) => {
                    let n = v.as_i64().unwrap_or(0);
                    if to == Target::TimestampMillis {
                        return Ok(Value::TimestampMillis(n));
                    }
                    return Ok(Value::TimestampMicros(n));
                }
                Value::String(s) => fmt.parse_micros(s)?,
                Value::Double(_) | Value::Float(_) => {
                    let n = as_long(&v).ok_or_else(|| fail(&v))?;
                    if to == Target::TimestampMillis {
                        return Ok(Value::TimestampMillis(n));
                    }
                    return Ok(Value::TimestampMicros(n));
                }
                other => micros_of(other).ok_or_else(|| fail(other))?,
            };
            if to == Target::TimestampMillis {
                Value::TimestampMillis(micros.div_euclid(1000))
            } else {
                Value::TimestampMicros(micros)
            }
        }
    })
}

fn show(v: &Value<'_>) -> String {
    let s = kbridge_codec::json::to_json_string(v, None, JsonStyle::Natural).unwrap_or_default();
    if s.len() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

pub(crate) struct Cast {
    fields: Vec<(FieldPath, Target)>,
    format: TimeFormat,
    ignore_missing: bool,
}

pub(crate) fn build(spec: &mut Spec<'_>) -> Option<Cast> {
    spec.allow(&["fields", "timestamp_format", "ignore_missing"]);
    let ignore_missing = spec.bool("ignore_missing", false);
    let format = match spec.str("timestamp_format") {
        None => TimeFormat::Rfc3339,
        Some(p) => match TimeFormat::pattern(p) {
            Some(f) => f,
            None => {
                spec.problem(
                    Some("timestamp_format"),
                    format!("invalid strftime pattern `{p}`"),
                );
                return None;
            }
        },
    };
    let table = spec.str_table("fields")?;
    let mut fields = Vec::with_capacity(table.len());
    for (path, to) in table {
        let key = format!("fields.{path}");
        let p = spec.path_of(&key, path)?;
        let Some(t) = Target::parse(to) else {
            let hint = crate::spec::closest(to, TARGETS.iter().copied())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            spec.problem(
                Some(&key),
                format!(
                    "unknown type `{to}`, expected {}{hint}",
                    crate::spec::one_of(TARGETS)
                ),
            );
            return None;
        };
        fields.push((p, t));
    }
    Some(Cast {
        fields,
        format,
        ignore_missing,
    })
}

impl Step for Cast {
    fn value_fields(&self) -> Option<Vec<String>> {
        super::top_names(self.fields.iter().map(|(p, _)| p))
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        for (p, to) in &self.fields {
            match p.get_mut(&mut record.value) {
                Lookup::Found(slot) => {
                    let v = std::mem::replace(slot, Value::Null);
                    *slot =
                        cast(v, *to, &self.format).map_err(|m| Fail::new("CastFailed", m).at(p))?;
                }
                Lookup::Null => {}
                Lookup::Missing if self.ignore_missing => {}
                Lookup::Missing => return Err(Fail::missing(p)),
            }
        }
        Ok(true)
    }

    fn changes_schema(&self) -> bool {
        true
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        for (p, to) in &self.fields {
            let loc = match doc.locate(p) {
                Ok(l) => l,
                Err(_) if self.ignore_missing => continue,
                Err(e) => return Err(e),
            };
            let Some(i) = loc.field else {
                if loc.kind == crate::schema::ParentKind::Record && !self.ignore_missing {
                    doc.existing_field(p)?;
                }
                if loc.kind != crate::schema::ParentKind::Record {
                    return Err(format!(
                        "`{p}` is a map entry or array item; cast changes record fields"
                    ));
                }
                continue;
            };
            let rec = doc.at_mut(&loc.parent)?;
            let field = rec
                .get_mut("fields")
                .and_then(|f| f.get_mut(i))
                .and_then(Json::as_object_mut)
                .ok_or("record without fields")?;
            let old = field.get("type").cloned().unwrap_or(Json::Null);
            for (_, b) in schema::non_null(&old) {
                if matches!(schema::kind(b), "record" | "error" | "array" | "map") {
                    return Err(format!(
                        "`{p}` is {}, which cannot be cast to {}",
                        schema::describe(b),
                        to.name()
                    ));
                }
            }
            let new = match &old {
                Json::Array(branches) => {
                    let mut out = Vec::new();
                    for b in branches {
                        if schema::is_null(b) {
                            out.push(b.clone());
                        } else if !out.iter().any(|x| !schema::is_null(x)) {
                            out.push(to.avro());
                        }
                    }
                    if out.len() == 1 {
                        out.remove(0)
                    } else {
                        Json::Array(out)
                    }
                }
                _ => to.avro(),
            };
            // the default follows the cast when it can
            if let Some(d) = field.get("default").cloned() {
                let first_is_null =
                    matches!(&new, Json::Array(b) if b.first().is_some_and(schema::is_null));
                let cast_default = if d.is_null() {
                    first_is_null.then_some(Json::Null)
                } else if first_is_null {
                    None
                } else {
                    kbridge_codec::json::parse_json(d.to_string().as_bytes())
                        .ok()
                        .and_then(|v| cast(v, *to, &self.format).ok())
                        .and_then(|v| {
                            kbridge_codec::json::to_json_string(&v, None, JsonStyle::Avro).ok()
                        })
                        .and_then(|t| serde_json::from_str::<Json>(&t).ok())
                };
                match cast_default {
                    Some(d) => field.insert("default".into(), d),
                    None => field.remove("default"),
                };
            }
            field.insert("type".into(), new);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_between_scalars() {
        let f = TimeFormat::Rfc3339;
        let c = |v: Value<'static>, t| cast(v, t, &f);
        assert_eq!(
            c(Value::Long(42), Target::String).unwrap(),
            Value::from("42")
        );
        assert_eq!(
            c(Value::Double(72.0), Target::String).unwrap(),
            Value::from("72.0")
        );
        assert_eq!(c(Value::from(" 17 "), Target::Int).unwrap(), Value::Int(17));
        assert_eq!(
            c(Value::Double(-2.9), Target::Long).unwrap(),
            Value::Long(-2)
        );
        assert_eq!(
            c(Value::Long(1 << 40), Target::Int).unwrap_err(),
            "1099511627776 is out of range for int"
        );
        assert_eq!(
            c(Value::from("abc"), Target::Int).unwrap_err(),
            "cannot cast string \"abc\" to int"
        );
        assert_eq!(
            c(Value::from("TRUE"), Target::Boolean).unwrap(),
            Value::Boolean(true)
        );
        assert_eq!(c(Value::Null, Target::Int).unwrap(), Value::Null);
        assert_eq!(
            c(Value::TimestampMillis(1_767_225_600_123), Target::String).unwrap(),
            Value::from("2026-01-01T00:00:00.123Z")
        );
        assert_eq!(
            c(
                Value::from("2026-01-01T01:00:00+01:00"),
                Target::TimestampMillis
            )
            .unwrap(),
            Value::TimestampMillis(1_767_225_600_000)
        );
        assert_eq!(
            c(Value::TimestampMicros(1_500), Target::TimestampMillis).unwrap(),
            Value::TimestampMillis(1)
        );
        let day = TimeFormat::pattern("%Y/%m/%d %H:%M").unwrap();
        assert_eq!(
            cast(
                Value::from("2026/01/01 00:01"),
                Target::TimestampMillis,
                &day
            )
            .unwrap(),
            Value::TimestampMillis(1_767_225_660_000)
        );
    }
}
