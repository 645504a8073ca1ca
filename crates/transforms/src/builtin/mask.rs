//! `mask_fields`: replace values with a fixed mask or a salted SHA-256,
//! keeping each value's type (so the schema does not change).

use std::borrow::Cow;

use kbridge_codec::{Decimal, Value};
use kbridge_pipeline::PipelineRecord;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::{Fail, Step};
use crate::intern::intern;
use crate::path::{FieldPath, Lookup};
use crate::schema::{self, SchemaDoc};
use crate::spec::Spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fixed,
    Hash,
}

pub(crate) struct Mask {
    paths: Vec<FieldPath>,
    mode: Mode,
    replacement: Option<String>,
    text: &'static str,
    number: Option<f64>,
    boolean: Option<bool>,
    salt: Vec<u8>,
    ignore_missing: bool,
}

pub(crate) fn build(spec: &mut Spec<'_>) -> Option<Mask> {
    spec.allow(&[
        "fields",
        "mode",
        "replacement",
        "salt",
        "salt_env",
        "ignore_missing",
    ]);
    let paths = spec.req_paths("fields");
    let mode = match spec.choice("mode", &["fixed", "hash"], "fixed") {
        "hash" => Mode::Hash,
        _ => Mode::Fixed,
    };
    let ignore_missing = spec.bool("ignore_missing", false);
    // the salt from the environment keeps it out of the file and of
    // `kbridge config show`
    let salt_env = spec.str("salt_env");
    let from_env = match salt_env {
        Some(var) if spec.has("salt") => {
            spec.problem(
                Some("salt_env"),
                format!("`salt` and `salt_env` cannot both be set (salt_env = {var:?})"),
            );
            return None;
        }
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Some(v),
            _ => {
                spec.problem(
                    Some("salt_env"),
                    format!("environment variable {var} is not set"),
                );
                return None;
            }
        },
        None => None,
    };
    let salt = from_env.as_deref().or(spec.str("salt")).unwrap_or("");
    let replacement = spec.raw("replacement").cloned();
    if mode == Mode::Hash && replacement.is_some() {
        spec.problem(
            Some("replacement"),
            "only `mode = \"fixed\"` takes a replacement",
        );
        return None;
    }
    if mode == Mode::Fixed && (spec.has("salt") || salt_env.is_some()) {
        spec.problem(Some("salt"), "only `mode = \"hash\"` takes a salt");
        return None;
    }
    let (text, number, boolean) = match &replacement {
        None => ("****", Some(0.0), Some(false)),
        Some(Json::String(s)) => (intern(s), s.parse::<f64>().ok(), s.parse::<bool>().ok()),
        Some(Json::Number(n)) => (intern(&n.to_string()), n.as_f64(), None),
        Some(Json::Bool(b)) => (if *b { "true" } else { "false" }, None, Some(*b)),
        Some(other) => {
            spec.problem(
                Some("replacement"),
                format!("expected a string, number or boolean, found {other}"),
            );
            return None;
        }
    };
    let replacement = replacement.map(|r| r.to_string());
    Some(Mask {
        paths: paths?,
        mode,
        replacement,
        text,
        number,
        boolean,
        salt: salt.as_bytes().to_vec(),
        ignore_missing,
    })
}

impl Mask {
    fn hash(&self, data: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(&self.salt);
        h.update(data);
        h.finalize().into()
    }

    fn no_fit(&self, what: &str) -> Fail {
        Fail::new(
            "InvalidValue",
            format!(
                "replacement {} does not fit {what}",
                self.replacement.as_deref().unwrap_or("(default)")
            ),
        )
    }

    fn number<T>(&self, what: &str, f: impl FnOnce(f64) -> Option<T>) -> Result<T, Fail> {
        self.number.and_then(f).ok_or_else(|| self.no_fit(what))
    }

    fn masked<'a>(&self, v: &Value<'a>) -> Result<Value<'a>, Fail> {
        if self.mode == Mode::Hash {
            return Ok(match v {
                Value::Null => Value::Null,
                Value::String(s) | Value::Enum(_, s) => {
                    Value::String(Cow::Owned(hex::encode(self.hash(s.as_bytes()))))
                }
                Value::Bytes(b) => Value::Bytes(Cow::Owned(self.hash(b).to_vec())),
                other => {
                    return Err(Fail::new(
                        "InvalidValue",
                        format!(
                            "a hash mask needs a string or bytes, found {}",
                            other.type_name()
                        ),
                    ));
                }
            });
        }
        let int = |x: f64| (x.fract() == 0.0 && x.abs() < 9.0e15).then_some(x as i64);
        Ok(match v {
            Value::Null => Value::Null,
            Value::String(_) | Value::Enum(..) | Value::Uuid(_) => {
                Value::String(Cow::Borrowed(self.text))
            }
            Value::Bytes(_) => Value::Bytes(Cow::Borrowed(self.text.as_bytes())),
            Value::Fixed(b) => Value::Fixed(Cow::Owned(vec![0; b.len()])),
            Value::Boolean(_) => {
                Value::Boolean(self.boolean.ok_or_else(|| self.no_fit("a boolean"))?)
            }
            Value::Int(_) => {
                Value::Int(self.number("an int", |x| int(x).and_then(|i| i32::try_from(i).ok()))?)
            }
            Value::Long(_) => Value::Long(self.number("a long", int)?),
            Value::Float(_) => Value::Float(self.number("a float", |x| Some(x as f32))?),
            Value::Double(_) => Value::Double(self.number("a double", Some)?),
            Value::Decimal(d) => Value::Decimal(Decimal {
                unscaled: Cow::Borrowed(&[0]),
                scale: d.scale,
            }),
            Value::Date(_) => Value::Date(0),
            Value::TimeMillis(_) => Value::TimeMillis(0),
            Value::TimeMicros(_) => Value::TimeMicros(0),
            Value::TimestampMillis(_) => Value::TimestampMillis(0),
            Value::TimestampMicros(_) => Value::TimestampMicros(0),
            Value::TimestampNanos(_) => Value::TimestampNanos(0),
            Value::LocalTimestampMillis(_) => Value::LocalTimestampMillis(0),
            Value::LocalTimestampMicros(_) => Value::LocalTimestampMicros(0),
            Value::LocalTimestampNanos(_) => Value::LocalTimestampNanos(0),
            Value::Duration(_) => Value::Duration(Default::default()),
            Value::Array(_) => Value::Array(Vec::new()),
            Value::Map(_) => Value::Map(Default::default()),
            Value::Record(_) => {
                return Err(Fail::new(
                    "InvalidValue",
                    "a record cannot be masked as a whole; mask its fields",
                ));
            }
        })
    }

    fn check_type(&self, path: &FieldPath, t: &Json) -> Result<(), String> {
        for (_, b) in schema::non_null(t) {
            let k = schema::kind(b);
            let ok = match (self.mode, k) {
                (_, "record" | "error") => false,
                (Mode::Hash, "string" | "bytes") => true,
                (Mode::Hash, _) => false,
                (Mode::Fixed, "enum") => b
                    .get("symbols")
                    .and_then(Json::as_array)
                    .is_some_and(|s| s.iter().any(|x| x == self.text)),
                (Mode::Fixed, "string" | "bytes" | "uuid") => true,
                (Mode::Fixed, "boolean") => self.boolean.is_some(),
                (Mode::Fixed, "int" | "long" | "float" | "double") => self.number.is_some(),
                (Mode::Fixed, _) => true,
            };
            if !ok {
                let why = match (self.mode, k) {
                    (_, "record" | "error") => {
                        "a record cannot be masked as a whole; mask its fields".to_string()
                    }
                    (Mode::Hash, _) => "a hash mask needs a string or bytes field".to_string(),
                    (Mode::Fixed, "enum") => {
                        format!("replacement `{}` is not a symbol of the enum", self.text)
                    }
                    _ => format!("replacement `{}` does not fit", self.text),
                };
                return Err(format!("`{path}` is {}: {why}", schema::describe(b)));
            }
        }
        Ok(())
    }
}

impl Step for Mask {
    fn value_fields(&self) -> Option<Vec<String>> {
        super::top_names(&self.paths)
    }

    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail> {
        for p in &self.paths {
            match p.get_mut(&mut record.value) {
                Lookup::Found(v) => *v = self.masked(v).map_err(|f| f.at(p))?,
                Lookup::Null => {}
                Lookup::Missing if self.ignore_missing => {}
                Lookup::Missing => return Err(Fail::missing(p)),
            }
        }
        Ok(true)
    }

    fn derive(&self, doc: &mut SchemaDoc) -> Result<(), String> {
        for p in &self.paths {
            match doc.type_at(p) {
                Ok((t, _)) => self.check_type(p, t)?,
                Err(_) if self.ignore_missing => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
