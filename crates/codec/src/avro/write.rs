//! Encoding a [`Value`] under a compiled schema into a caller's buffer.
//! Record fields are matched by name (position first, so a value decoded
//! with the same or a similar schema costs one string compare per field);
//! fields the schema does not have are left out, missing ones take the
//! schema default. Union branches are chosen from the value's type.

use std::borrow::Cow;

use super::graph::{FixedNode, Node, NodeId, SchemaGraph};
use super::read::MAX_DEPTH;
use crate::error::{CodecError, PathSegment};
use crate::value::{Decimal, Field, Value};

#[inline]
pub(crate) fn write_long(out: &mut Vec<u8>, v: i64) {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Field names are interned (`crate::intern`): a decoded field and the
/// schema's field usually share one allocation, so compare addresses
/// before bytes.
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

#[inline]
fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_long(out, b.len() as i64);
    out.extend_from_slice(b);
}

fn mismatch(v: &Value<'_>, want: &str) -> CodecError {
    CodecError::encode(format!(
        "value of type {} does not fit schema type {want}",
        v.type_name()
    ))
}

impl SchemaGraph {
    /// Appends the Avro binary encoding of `value` to `out`. On error `out`
    /// may hold a partial datum: truncate it to its old length.
    pub fn encode(&self, value: &Value<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.write(self.root, value, out, 0)
    }

    pub(crate) fn write(
        &self,
        id: NodeId,
        v: &Value<'_>,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::encode("value nested too deeply"));
        }
        match self.node(id) {
            Node::Null => match v {
                Value::Null => {}
                _ => return Err(mismatch(v, "null")),
            },
            Node::Boolean => match v {
                Value::Boolean(b) => out.push(u8::from(*b)),
                _ => return Err(mismatch(v, "boolean")),
            },
            Node::Int => write_long(out, i64::from(int_of(v, "int")?)),
            Node::Date => match v {
                Value::Date(d) => write_long(out, i64::from(*d)),
                _ => write_long(out, i64::from(int_of(v, "date")?)),
            },
            Node::TimeMillis => match v {
                Value::TimeMillis(d) => write_long(out, i64::from(*d)),
                _ => write_long(out, i64::from(int_of(v, "time-millis")?)),
            },
            Node::Long | Node::TimeMicros => match v.as_i64() {
                Some(n) => write_long(out, n),
                None => return Err(mismatch(v, "long")),
            },
            Node::TimestampMillis => write_long(out, ts_of(v, Unit::Millis, false)?),
            Node::TimestampMicros => write_long(out, ts_of(v, Unit::Micros, false)?),
            Node::TimestampNanos => write_long(out, ts_of(v, Unit::Nanos, false)?),
            Node::LocalTimestampMillis => write_long(out, ts_of(v, Unit::Millis, true)?),
            Node::LocalTimestampMicros => write_long(out, ts_of(v, Unit::Micros, true)?),
            Node::LocalTimestampNanos => write_long(out, ts_of(v, Unit::Nanos, true)?),
            Node::Float => {
                let f = match *v {
                    Value::Float(f) => f,
                    Value::Double(d) => d as f32,
                    Value::Int(i) => i as f32,
                    Value::Long(l) => l as f32,
                    _ => return Err(mismatch(v, "float")),
                };
                out.extend_from_slice(&f.to_le_bytes());
            }
            Node::Double => {
                let f = match *v {
                    Value::Double(d) => d,
                    Value::Float(f) => f64::from(f),
                    Value::Int(i) => f64::from(i),
                    Value::Long(l) => l as f64,
                    _ => return Err(mismatch(v, "double")),
                };
                out.extend_from_slice(&f.to_le_bytes());
            }
            Node::Bytes => match v {
                Value::Bytes(b) | Value::Fixed(b) => write_bytes(out, b),
                Value::String(s) => write_bytes(out, s.as_bytes()),
                _ => return Err(mismatch(v, "bytes")),
            },
            Node::String => match v {
                Value::String(s) | Value::Enum(_, s) => write_bytes(out, s.as_bytes()),
                Value::Uuid(u) => write_bytes(
                    out,
                    u.hyphenated()
                        .encode_lower(&mut uuid::Uuid::encode_buffer())
                        .as_bytes(),
                ),
                _ => return Err(mismatch(v, "string")),
            },
            Node::UuidString => match v {
                Value::Uuid(u) => write_bytes(
                    out,
                    u.hyphenated()
                        .encode_lower(&mut uuid::Uuid::encode_buffer())
                        .as_bytes(),
                ),
                Value::String(s) => {
                    let u = uuid::Uuid::try_parse(s)
                        .map_err(|e| CodecError::encode(format!("{s:?} is not a uuid: {e}")))?;
                    write_bytes(
                        out,
                        u.hyphenated()
                            .encode_lower(&mut uuid::Uuid::encode_buffer())
                            .as_bytes(),
                    );
                }
                _ => return Err(mismatch(v, "uuid")),
            },
            Node::UuidFixed(f) => match v {
                Value::Uuid(u) => write_fixed(out, f, u.as_bytes())?,
                Value::String(s) => {
                    let u = uuid::Uuid::try_parse(s)
                        .map_err(|e| CodecError::encode(format!("{s:?} is not a uuid: {e}")))?;
                    write_fixed(out, f, u.as_bytes())?;
                }
                Value::Fixed(b) | Value::Bytes(b) => write_fixed(out, f, b)?,
                _ => return Err(mismatch(v, "uuid")),
            },
            Node::Fixed(f) => match v {
                Value::Fixed(b) | Value::Bytes(b) => write_fixed(out, f, b)?,
                Value::Uuid(u) => write_fixed(out, f, u.as_bytes())?,
                Value::Duration(d) => write_fixed(out, f, &duration_bytes(d))?,
                _ => return Err(mismatch(v, "fixed")),
            },
            Node::Duration(f) => match v {
                Value::Duration(d) => write_fixed(out, f, &duration_bytes(d))?,
                Value::Fixed(b) | Value::Bytes(b) => write_fixed(out, f, b)?,
                _ => return Err(mismatch(v, "duration")),
            },
            Node::Decimal {
                scale,
                precision,
                fixed,
            } => {
                let d = decimal_of(v, *scale, *precision)?;
                match fixed {
                    None => write_bytes(out, &d.unscaled),
                    Some(f) => {
                        // sign-extend to the fixed size
                        let b = &d.unscaled;
                        if b.len() > f.size {
                            return Err(CodecError::encode(format!(
                                "decimal {} needs {} bytes, fixed {} has {}",
                                d,
                                b.len(),
                                f.name,
                                f.size
                            )));
                        }
                        let pad = if b.first().is_some_and(|x| x & 0x80 != 0) {
                            0xff
                        } else {
                            0
                        };
                        out.extend(std::iter::repeat_n(pad, f.size - b.len()));
                        out.extend_from_slice(b);
                    }
                }
            }
            Node::Enum(e) => {
                let sym: &str = match v {
                    Value::Enum(i, s) => {
                        if let Some(x) = e.symbols.get(*i as usize)
                            && *x == s.as_ref()
                        {
                            write_long(out, i64::from(*i));
                            return Ok(());
                        }
                        s
                    }
                    Value::String(s) => s,
                    _ => return Err(mismatch(v, "enum")),
                };
                match e
                    .symbols
                    .iter()
                    .position(|x| *x == sym)
                    .or(e.default.map(|d| d as usize))
                {
                    Some(i) => write_long(out, i as i64),
                    None => {
                        return Err(CodecError::encode(format!(
                            "{sym:?} is not a symbol of enum {}",
                            e.name
                        )));
                    }
                }
            }
            Node::Array(item) => match v {
                Value::Array(a) => {
                    if !a.is_empty() {
                        write_long(out, a.len() as i64);
                        for (i, x) in a.iter().enumerate() {
                            self.write(*item, x, out, depth + 1)
                                .map_err(|e| e.within(PathSegment::Index(i)))?;
                        }
                    }
                    out.push(0);
                }
                _ => return Err(mismatch(v, "array")),
            },
            Node::Map(vn) => match v {
                Value::Map(m) | Value::Record(crate::value::Record { fields: m, .. }) => {
                    if !m.is_empty() {
                        write_long(out, m.len() as i64);
                        for f in m.iter() {
                            write_bytes(out, f.name.as_bytes());
                            self.write(*vn, &f.value, out, depth + 1)
                                .map_err(|e| e.within(PathSegment::Key(f.name.to_string())))?;
                        }
                    }
                    out.push(0);
                }
                _ => return Err(mismatch(v, "map")),
            },
            Node::Record(r) => {
                let fields: &[Field<'_>] = match v {
                    Value::Record(rec) => &rec.fields.0,
                    Value::Map(m) => &m.0,
                    _ => return Err(mismatch(v, &format!("record {}", r.name))),
                };
                for (i, f) in r.fields.iter().enumerate() {
                    let found = match fields.get(i) {
                        Some(x) if same_name(&x.name, f.name) => Some(&x.value),
                        _ => fields
                            .iter()
                            .find(|x| same_name(&x.name, f.name))
                            .map(|x| &x.value),
                    };
                    let res = match (found, &f.default) {
                        (Some(x), _) => self.write(f.node, x, out, depth + 1),
                        (None, Some(d)) => self.write(f.node, d, out, depth + 1),
                        (None, None) => Err(CodecError::encode("missing field (no default)")),
                    };
                    res.map_err(|e| e.within(PathSegment::Field(f.name.to_string())))?;
                }
            }
            Node::Union(branches) => {
                let Some((i, b)) = self.branch_for(branches, v) else {
                    let names: Vec<&str> = branches
                        .iter()
                        .map(|b| self.node(*b).json_branch_name())
                        .collect();
                    return Err(CodecError::encode(format!(
                        "value of type {} fits no branch of union [{}]",
                        v.type_name(),
                        names.join(", ")
                    )));
                };
                write_long(out, i as i64);
                self.write(b, v, out, depth + 1)?;
            }
        }
        Ok(())
    }

    /// The union branch a value goes to: an exact type match first, then
    /// one the value converts to.
    pub(crate) fn branch_for(&self, branches: &[NodeId], v: &Value<'_>) -> Option<(usize, NodeId)> {
        branches
            .iter()
            .enumerate()
            .find(|(_, b)| self.fits(**b, v, true))
            .or_else(|| {
                branches
                    .iter()
                    .enumerate()
                    .find(|(_, b)| self.fits(**b, v, false))
            })
            .map(|(i, b)| (i, *b))
    }

    /// Whether `v` can be written as node `id` (`exact`: same type).
    pub(crate) fn fits(&self, id: NodeId, v: &Value<'_>, exact: bool) -> bool {
        let n = self.node(id);
        let same = match (n, v) {
            (Node::Null, Value::Null)
            | (Node::Boolean, Value::Boolean(_))
            | (Node::Int, Value::Int(_))
            | (Node::Long, Value::Long(_))
            | (Node::Float, Value::Float(_))
            | (Node::Double, Value::Double(_))
            | (Node::Bytes, Value::Bytes(_))
            | (Node::String, Value::String(_))
            | (Node::Array(_), Value::Array(_))
            | (Node::Map(_), Value::Map(_))
            | (Node::UuidString | Node::UuidFixed(_), Value::Uuid(_))
            | (Node::Date, Value::Date(_))
            | (Node::TimeMillis, Value::TimeMillis(_))
            | (Node::TimeMicros, Value::TimeMicros(_))
            | (Node::TimestampMillis, Value::TimestampMillis(_))
            | (Node::TimestampMicros, Value::TimestampMicros(_))
            | (Node::TimestampNanos, Value::TimestampNanos(_))
            | (Node::LocalTimestampMillis, Value::LocalTimestampMillis(_))
            | (Node::LocalTimestampMicros, Value::LocalTimestampMicros(_))
            | (Node::LocalTimestampNanos, Value::LocalTimestampNanos(_))
            | (Node::Duration(_), Value::Duration(_)) => true,
            (Node::Fixed(f), Value::Fixed(b)) => f.size == b.len(),
            (Node::Decimal { scale, .. }, Value::Decimal(d)) => *scale == d.scale,
            (Node::Enum(e), Value::Enum(_, s)) => e.symbols.iter().any(|x| *x == s.as_ref()),
            (Node::Record(r), Value::Record(rec)) => match rec.name {
                Some(name) => name == r.name,
                None => false,
            },
            _ => false,
        };
        if same || exact {
            return same;
        }
        match (n, v) {
            (Node::Long | Node::Float | Node::Double, Value::Int(_))
            | (Node::Float | Node::Double, Value::Long(_))
            | (Node::Double, Value::Float(_))
            | (Node::Float, Value::Double(_)) => true,
            (Node::Int | Node::Date | Node::TimeMillis, Value::Long(l)) => {
                i32::try_from(*l).is_ok()
            }
            (Node::Int, Value::Date(_) | Value::TimeMillis(_)) => true,
            (Node::Date | Node::TimeMillis, Value::Int(_)) => true,
            (
                Node::TimeMicros
                | Node::TimestampMillis
                | Node::TimestampMicros
                | Node::TimestampNanos
                | Node::LocalTimestampMillis
                | Node::LocalTimestampMicros
                | Node::LocalTimestampNanos,
                Value::Int(_) | Value::Long(_),
            ) => true,
            (Node::Long, _) => v.as_i64().is_some(),
            (Node::String, Value::Enum(..) | Value::Uuid(_)) => true,
            (Node::Enum(e), Value::String(s)) => e.symbols.iter().any(|x| *x == s.as_ref()),
            (Node::UuidString | Node::UuidFixed(_), Value::String(s)) => {
                uuid::Uuid::try_parse(s).is_ok()
            }
            (Node::Bytes, Value::Fixed(_)) => true,
            (
                Node::Fixed(f) | Node::Duration(f) | Node::UuidFixed(f),
                Value::Bytes(b) | Value::Fixed(b),
            ) => f.size == b.len(),
            (Node::Decimal { .. }, Value::Decimal(_) | Value::Int(_) | Value::Long(_)) => true,
            (Node::Record(r), Value::Record(rec)) => {
                // an unnamed (JSON) record goes to a record branch whose
                // required fields it has
                rec.name.is_none()
                    && r.fields
                        .iter()
                        .all(|f| f.default.is_some() || rec.fields.get(f.name).is_some())
            }
            (Node::Record(r), Value::Map(m)) => r
                .fields
                .iter()
                .all(|f| f.default.is_some() || m.get(f.name).is_some()),
            (Node::Map(_), Value::Record(_)) => true,
            _ => false,
        }
    }
}

fn write_fixed(out: &mut Vec<u8>, f: &FixedNode, b: &[u8]) -> Result<(), CodecError> {
    if b.len() != f.size {
        return Err(CodecError::encode(format!(
            "{} bytes do not fit fixed {} of size {}",
            b.len(),
            f.name,
            f.size
        )));
    }
    out.extend_from_slice(b);
    Ok(())
}

fn duration_bytes(d: &crate::value::Duration) -> [u8; 12] {
    let mut a = [0u8; 12];
    a[0..4].copy_from_slice(&d.months.to_le_bytes());
    a[4..8].copy_from_slice(&d.days.to_le_bytes());
    a[8..12].copy_from_slice(&d.millis.to_le_bytes());
    a
}

fn int_of(v: &Value<'_>, want: &str) -> Result<i32, CodecError> {
    match *v {
        Value::Int(i) | Value::Date(i) | Value::TimeMillis(i) => Ok(i),
        Value::Long(l) => i32::try_from(l)
            .map_err(|_| CodecError::encode(format!("{l} is out of range for {want}"))),
        _ => Err(mismatch(v, want)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn per_second(self) -> i64 {
        match self {
            Unit::Millis => 1_000,
            Unit::Micros => 1_000_000,
            Unit::Nanos => 1_000_000_000,
        }
    }
}

/// A timestamp in `unit`: plain integers as they are, timestamps of another
/// unit converted exactly (an inexact conversion is an error).
fn ts_of(v: &Value<'_>, unit: Unit, local: bool) -> Result<i64, CodecError> {
    let (n, from, is_local) = match *v {
        Value::Long(n) => return Ok(n),
        Value::Int(n) => return Ok(i64::from(n)),
        Value::TimestampMillis(n) => (n, Unit::Millis, false),
        Value::TimestampMicros(n) => (n, Unit::Micros, false),
        Value::TimestampNanos(n) => (n, Unit::Nanos, false),
        Value::LocalTimestampMillis(n) => (n, Unit::Millis, true),
        Value::LocalTimestampMicros(n) => (n, Unit::Micros, true),
        Value::LocalTimestampNanos(n) => (n, Unit::Nanos, true),
        _ => {
            return Err(mismatch(
                v,
                if local {
                    "local-timestamp"
                } else {
                    "timestamp"
                },
            ));
        }
    };
    if is_local != local {
        return Err(mismatch(
            v,
            if local {
                "local-timestamp"
            } else {
                "timestamp"
            },
        ));
    }
    let (a, b) = (from.per_second(), unit.per_second());
    if a == b {
        Ok(n)
    } else if b > a {
        n.checked_mul(b / a)
            .ok_or_else(|| CodecError::encode(format!("timestamp {n} overflows when converted")))
    } else if n % (a / b) == 0 {
        Ok(n / (a / b))
    } else {
        Err(CodecError::encode(format!(
            "timestamp {n} loses precision when converted"
        )))
    }
}

fn decimal_of<'v>(
    v: &'v Value<'_>,
    scale: u32,
    precision: usize,
) -> Result<Cow<'v, Decimal<'v>>, CodecError> {
    let d: Cow<'v, Decimal<'v>> = match v {
        // already at the schema's scale (decoded, or parsed under the
        // schema, which checks precision): written as is, so whatever
        // decodes re-encodes
        Value::Decimal(d) if d.scale == scale => return Ok(Cow::Borrowed(d)),
        Value::Decimal(d) if d.scale < scale => {
            let n = d.unscaled_bigint() * num_bigint::BigInt::from(10u32).pow(scale - d.scale);
            Cow::Owned(Decimal::from_bigint(&n, scale))
        }
        Value::Decimal(d) => {
            return Err(CodecError::encode(format!(
                "decimal {d} has scale {}, more than the schema's {scale}",
                d.scale
            )));
        }
        Value::Int(_) | Value::Long(_) => {
            let i = v.as_i64().unwrap_or(0);
            let n = num_bigint::BigInt::from(i) * num_bigint::BigInt::from(10u32).pow(scale);
            Cow::Owned(Decimal::from_bigint(&n, scale))
        }
        Value::String(s) => Cow::Owned(Decimal::parse(s, scale).map_err(CodecError::encode)?),
        _ => return Err(mismatch(v, "decimal")),
    };
    // converted values must fit the declared precision
    if precision > 0 && d.digits() > precision {
        return Err(CodecError::encode(format!(
            "decimal {d} has more than {precision} digits"
        )));
    }
    Ok(d)
}
