//! JSON <-> values: rendering (the Avro JSON encoding, or "natural" JSON
//! for humans), schema-directed parsing with errors that name the field
//! path, and schemaless zero-copy parsing of plain JSON payloads.
//!
//! | Avro type | [`JsonStyle::Avro`] | [`JsonStyle::Natural`] |
//! |---|---|---|
//! | union | `null` or `{"branch": value}` | the value |
//! | bytes, fixed | string of code points U+0000..U+00FF | base64 string |
//! | decimal | underlying bytes/fixed | exact decimal string `"12.30"` |
//! | uuid | underlying string/fixed | `"6ba7b810-9dad-11d1-80b4-00c04fd430c8"` |
//! | date | int | `"2026-01-01"` |
//! | time-millis / -micros | int / long | `"12:30:05.250"` |
//! | timestamp-* | long | RFC 3339 UTC: `"2026-01-01T00:00:00.000Z"` |
//! | local-timestamp-* | long | `"2026-01-01T00:00:00.000"` |
//! | duration | underlying fixed | `{"months":1,"days":2,"millis":3}` |
//! | NaN, ±infinity | `"NaN"`, `"Infinity"`, `"-Infinity"` | same |
//!
//! Parsing accepts both forms of a logical type (the string and the raw
//! number) in either style; natural parsing also accepts a wrapped union.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};

use crate::avro::graph::{Node, NodeId, SchemaGraph};
use crate::error::{CodecError, FieldPath, PathSegment};
use crate::value::{Decimal, Duration, Field, Fields, Record, Value};

/// Which JSON form to render or parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonStyle {
    /// Human-friendly: unions without wrappers, logical types as readable
    /// strings, bytes as base64.
    #[default]
    Natural,
    /// The Avro specification's JSON encoding.
    Avro,
}

// ================================================================ rendering

/// Renders `value` as JSON into `out` (appending). With `schema`, the Avro
/// style wraps union values in their branch name; without, both styles
/// render unions unwrapped.
pub fn write_json(
    value: &Value<'_>,
    schema: Option<&SchemaGraph>,
    style: JsonStyle,
    out: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let view = View {
        v: value,
        ctx: schema.map(|g| (g, g.root)),
        style,
    };
    serde_json::to_writer(out, &view).map_err(|e| CodecError::EncodeJson {
        reason: e.to_string(),
        path: FieldPath::root(),
    })
}

/// Renders `value` as a JSON string (see [`write_json`]).
pub fn to_json_string(
    value: &Value<'_>,
    schema: Option<&SchemaGraph>,
    style: JsonStyle,
) -> Result<String, CodecError> {
    let mut out = Vec::with_capacity(256);
    write_json(value, schema, style, &mut out)?;
    String::from_utf8(out).map_err(|e| CodecError::EncodeJson {
        reason: e.to_string(),
        path: FieldPath::root(),
    })
}

struct View<'v, 'a> {
    v: &'v Value<'a>,
    ctx: Option<(&'v SchemaGraph, NodeId)>,
    style: JsonStyle,
}

impl<'v, 'a> View<'v, 'a> {
    fn child(&self, v: &'v Value<'a>, node: Option<NodeId>) -> View<'v, 'a> {
        View {
            v,
            ctx: self.ctx.and_then(|(g, _)| node.map(|n| (g, n))),
            style: self.style,
        }
    }
    fn node(&self) -> Option<&'v Node> {
        self.ctx.map(|(g, n)| g.node(n))
    }
}

struct Latin1<'b>(&'b [u8]);
impl Serialize for Latin1<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text: String = self.0.iter().map(|&b| char::from(b)).collect();
        s.serialize_str(&text)
    }
}

fn float_json<S: serde::Serializer>(f: f64, s: S) -> Result<S::Ok, S::Error> {
    if f.is_nan() {
        s.serialize_str("NaN")
    } else if f.is_infinite() {
        s.serialize_str(if f > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        s.serialize_f64(f)
    }
}

impl Serialize for View<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // a union in the schema: choose the branch by the value
        if let Some((g, id)) = self.ctx
            && let Node::Union(branches) = g.node(id)
        {
            let Some((_, b)) = g.branch_for(branches, self.v) else {
                return Err(S::Error::custom(format!(
                    "value of type {} fits no union branch",
                    self.v.type_name()
                )));
            };
            let inner = View {
                v: self.v,
                ctx: Some((g, b)),
                style: self.style,
            };
            if self.style == JsonStyle::Avro && !self.v.is_null() {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(g.node(b).json_branch_name(), &inner)?;
                return m.end();
            }
            return inner.serialize(s);
        }
        let avro = self.style == JsonStyle::Avro;
        match self.v {
            Value::Null => s.serialize_unit(),
            Value::Boolean(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i32(*i),
            Value::Long(l) => s.serialize_i64(*l),
            Value::Float(f) => {
                if f.is_finite() {
                    s.serialize_f32(*f)
                } else {
                    float_json(f64::from(*f), s)
                }
            }
            Value::Double(d) => float_json(*d, s),
            Value::Bytes(b) | Value::Fixed(b) => {
                if avro {
                    Latin1(b).serialize(s)
                } else {
                    s.serialize_str(&base64_encode(b))
                }
            }
            Value::String(t) | Value::Enum(_, t) => s.serialize_str(t),
            Value::Array(a) => {
                let item = match self.node() {
                    Some(Node::Array(i)) => Some(*i),
                    _ => None,
                };
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&self.child(x, item))?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let vn = match self.node() {
                    Some(Node::Map(v)) => Some(*v),
                    _ => None,
                };
                let mut map = s.serialize_map(Some(m.len()))?;
                for f in m.iter() {
                    map.serialize_entry(f.name.as_ref(), &self.child(&f.value, vn))?;
                }
                map.end()
            }
            Value::Record(r) => {
                let rn = match self.node() {
                    Some(Node::Record(rn)) => Some(rn),
                    _ => None,
                };
                let mut map = s.serialize_map(Some(r.fields.len()))?;
                for (i, f) in r.fields.iter().enumerate() {
                    let node = rn.and_then(|rn| match rn.fields.get(i) {
                        Some(sf) if sf.name == f.name => Some(sf.node),
                        _ => rn
                            .fields
                            .iter()
                            .find(|sf| sf.name == f.name)
                            .map(|sf| sf.node),
                    });
                    map.serialize_entry(f.name.as_ref(), &self.child(&f.value, node))?;
                }
                map.end()
            }
            Value::Decimal(d) => {
                if avro {
                    match self.node() {
                        // a fixed decimal renders its fixed-size, sign-extended bytes
                        Some(Node::Decimal { fixed: Some(f), .. }) if d.unscaled.len() < f.size => {
                            let pad = if d.unscaled.first().is_some_and(|x| x & 0x80 != 0) {
                                0xff
                            } else {
                                0
                            };
                            let mut b = vec![pad; f.size - d.unscaled.len()];
                            b.extend_from_slice(&d.unscaled);
                            Latin1(&b).serialize(s)
                        }
                        _ => Latin1(&d.unscaled).serialize(s),
                    }
                } else {
                    s.collect_str(d)
                }
            }
            Value::Uuid(u) => {
                if avro && matches!(self.node(), Some(Node::UuidFixed(_))) {
                    Latin1(u.as_bytes()).serialize(s)
                } else {
                    s.collect_str(&u.hyphenated())
                }
            }
            Value::Duration(d) => {
                if avro {
                    let mut b = [0u8; 12];
                    b[0..4].copy_from_slice(&d.months.to_le_bytes());
                    b[4..8].copy_from_slice(&d.days.to_le_bytes());
                    b[8..12].copy_from_slice(&d.millis.to_le_bytes());
                    Latin1(&b).serialize(s)
                } else {
                    let mut m = s.serialize_map(Some(3))?;
                    m.serialize_entry("months", &d.months)?;
                    m.serialize_entry("days", &d.days)?;
                    m.serialize_entry("millis", &d.millis)?;
                    m.end()
                }
            }
            Value::Date(d) => {
                if avro {
                    s.serialize_i32(*d)
                } else {
                    s.collect_str(&DateFmt(*d))
                }
            }
            Value::TimeMillis(t) => {
                if avro {
                    s.serialize_i32(*t)
                } else {
                    s.collect_str(&TimeFmt(i64::from(*t) * 1_000_000, 3))
                }
            }
            Value::TimeMicros(t) => {
                if avro {
                    s.serialize_i64(*t)
                } else {
                    s.collect_str(&TimeFmt(t.saturating_mul(1_000), 6))
                }
            }
            Value::TimestampMillis(t) => ts(s, avro, *t, 1_000, 3, true),
            Value::TimestampMicros(t) => ts(s, avro, *t, 1_000_000, 6, true),
            Value::TimestampNanos(t) => ts(s, avro, *t, 1_000_000_000, 9, true),
            Value::LocalTimestampMillis(t) => ts(s, avro, *t, 1_000, 3, false),
            Value::LocalTimestampMicros(t) => ts(s, avro, *t, 1_000_000, 6, false),
            Value::LocalTimestampNanos(t) => ts(s, avro, *t, 1_000_000_000, 9, false),
        }
    }
}

fn ts<S: serde::Serializer>(
    s: S,
    avro: bool,
    t: i64,
    per_sec: i64,
    digits: usize,
    utc: bool,
) -> Result<S::Ok, S::Error> {
    if avro {
        return s.serialize_i64(t);
    }
    let secs = t.div_euclid(per_sec);
    let sub = t.rem_euclid(per_sec);
    let nanos = (sub * (1_000_000_000 / per_sec)) as u32;
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(dt) => {
            let base = dt.naive_utc().format("%Y-%m-%dT%H:%M:%S");
            let frac = match digits {
                3 => format!("{:03}", nanos / 1_000_000),
                6 => format!("{:06}", nanos / 1_000),
                _ => format!("{nanos:09}"),
            };
            s.collect_str(&format_args!("{base}.{frac}{}", if utc { "Z" } else { "" }))
        }
        // out of chrono's range: the raw number
        None => s.serialize_i64(t),
    }
}

struct DateFmt(i32);
impl fmt::Display for DateFmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        match epoch.checked_add_signed(chrono::TimeDelta::days(i64::from(self.0))) {
            Some(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            None => write!(f, "{}", self.0),
        }
    }
}

struct TimeFmt(i64, usize);
impl fmt::Display for TimeFmt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0;
        if !(0..86_400_000_000_000).contains(&nanos) {
            return write!(f, "{}", nanos / 10i64.pow(9 - self.1 as u32));
        }
        let secs = nanos / 1_000_000_000;
        let frac = nanos % 1_000_000_000;
        write!(
            f,
            "{:02}:{:02}:{:02}.",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        )?;
        if self.1 == 3 {
            write!(f, "{:03}", frac / 1_000_000)
        } else {
            write!(f, "{:06}", frac / 1_000)
        }
    }
}

// ================================================================== base64

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = match *chunk {
            [a, b, c] => (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c),
            [a, b] => (u32::from(a) << 16) | (u32::from(b) << 8),
            [a] => u32::from(a) << 16,
            _ => 0,
        };
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Decodes standard base64 (padding optional).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let t = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(t.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in t.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

// ========================================================= schemaless parse

/// Parses a JSON document without a schema; strings borrow from `text`
/// when they have no escapes. Objects become unnamed [`Value::Record`]s,
/// integers [`Value::Long`], other numbers [`Value::Double`].
pub fn parse_json(text: &[u8]) -> Result<Value<'_>, CodecError> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let v = <Json as serde::Deserialize>::deserialize(&mut de).map_err(json_err)?;
    de.end().map_err(json_err)?;
    Ok(v.0)
}

fn json_err(e: serde_json::Error) -> CodecError {
    CodecError::DecodeJson {
        reason: e.to_string(),
        path: FieldPath::root(),
        line: e.line(),
        column: e.column(),
    }
}

struct Json<'a>(Value<'a>);
struct JsonKey<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for JsonKey<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = JsonKey<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonKey(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonKey(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> serde::Deserialize<'de> for Json<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Json<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Json(Value::Null))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Json(Value::Boolean(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Json(Value::Long(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Json(
                    i64::try_from(v).map_or(Value::Double(v as f64), Value::Long),
                ))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Json(Value::Double(v)))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Json(Value::String(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Json(Value::String(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Json(Value::String(Cow::Owned(v))))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(a.size_hint().unwrap_or(0).min(1024));
                while let Some(Json(v)) = a.next_element()? {
                    out.push(v);
                }
                Ok(Json(Value::Array(out)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(a.size_hint().unwrap_or(0).min(1024));
                while let Some(JsonKey(k)) = a.next_key()? {
                    let Json(v) = a.next_value()?;
                    out.push(Field { name: k, value: v });
                }
                Ok(Json(Value::Record(Record {
                    name: None,
                    fields: Fields(out),
                })))
            }
        }
        d.deserialize_any(V)
    }
}

// ======================================================= schema-directed parse

/// Parses JSON text under a schema (see the module docs for the accepted
/// forms). Errors name the field path and the line and column.
pub fn parse_json_with_schema(
    text: &str,
    g: &SchemaGraph,
    style: JsonStyle,
) -> Result<Value<'static>, CodecError> {
    let j: serde_json::Value = serde_json::from_str(text).map_err(json_err)?;
    json_to_value(g, g.root, &j, style)
}

/// Converts a parsed JSON value under node `id` of `g`.
pub(crate) fn json_to_value(
    g: &SchemaGraph,
    id: NodeId,
    j: &serde_json::Value,
    style: JsonStyle,
) -> Result<Value<'static>, CodecError> {
    Conv {
        g,
        style,
        default: false,
    }
    .conv(id, j, 0)
    .map_err(|(path, reason)| CodecError::DecodeJson {
        reason,
        path,
        line: 0,
        column: 0,
    })
}

/// A field default (Avro JSON encoding; a union's default belongs to one of
/// its branches, normally the first).
pub(crate) fn avro_default_to_value(
    g: &SchemaGraph,
    id: NodeId,
    j: &serde_json::Value,
) -> Result<Value<'static>, String> {
    Conv {
        g,
        style: JsonStyle::Avro,
        default: true,
    }
    .conv(id, j, 0)
    .map_err(|(p, r)| format!("{r} at {p}"))
}

struct Conv<'g> {
    g: &'g SchemaGraph,
    style: JsonStyle,
    default: bool,
}

type CErr = (FieldPath, String);

fn found(j: &serde_json::Value) -> String {
    match j {
        serde_json::Value::Null => "null".to_string(),
        serde_json::Value::Bool(b) => format!("boolean {b}"),
        serde_json::Value::Number(n) => format!("number {n}"),
        serde_json::Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            format!("string {short:?}")
        }
        serde_json::Value::Array(_) => "an array".to_string(),
        serde_json::Value::Object(_) => "an object".to_string(),
    }
}

fn expected<T>(what: &str, j: &serde_json::Value) -> Result<T, CErr> {
    Err((
        FieldPath::root(),
        format!("expected {what}, found {}", found(j)),
    ))
}

fn in_seg<T>(r: Result<T, CErr>, seg: PathSegment) -> Result<T, CErr> {
    r.map_err(|(mut p, why)| {
        p.push_front(seg);
        (p, why)
    })
}

fn json_f64(j: &serde_json::Value) -> Option<f64> {
    match j {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

impl Conv<'_> {
    fn bytes(&self, j: &serde_json::Value, what: &str) -> Result<Vec<u8>, CErr> {
        let serde_json::Value::String(s) = j else {
            return expected(what, j);
        };
        let r = match self.style {
            JsonStyle::Avro => latin1(s),
            JsonStyle::Natural => base64_decode(s).or_else(|| latin1(s)),
        };
        r.ok_or_else(|| {
            (
                FieldPath::root(),
                format!(
                    "expected {what} ({}), found {}",
                    match self.style {
                        JsonStyle::Avro => "code points U+0000..U+00FF",
                        JsonStyle::Natural => "base64",
                    },
                    found(j)
                ),
            )
        })
    }

    fn int(&self, j: &serde_json::Value, what: &str) -> Result<i64, CErr> {
        match j.as_i64() {
            Some(v) => Ok(v),
            None => match j.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
                _ => expected(what, j),
            },
        }
    }

    fn conv(
        &self,
        id: NodeId,
        j: &serde_json::Value,
        depth: usize,
    ) -> Result<Value<'static>, CErr> {
        use serde_json::Value as J;
        if depth > crate::avro::read::MAX_DEPTH {
            return Err((FieldPath::root(), "json nested too deeply".into()));
        }
        let node = self.g.node(id);
        Ok(match node {
            Node::Null => match j {
                J::Null => Value::Null,
                _ => return expected("null", j),
            },
            Node::Boolean => match j {
                J::Bool(b) => Value::Boolean(*b),
                _ => return expected("boolean", j),
            },
            Node::Int => {
                let v = self.int(j, "int")?;
                Value::Int(
                    i32::try_from(v)
                        .map_err(|_| (FieldPath::root(), format!("{v} is out of range for int")))?,
                )
            }
            Node::Long => Value::Long(self.int(j, "long")?),
            Node::Float => {
                Value::Float(json_f64(j).ok_or(()).or_else(|_| expected("float", j))? as f32)
            }
            Node::Double => {
                Value::Double(json_f64(j).ok_or(()).or_else(|_| expected("double", j))?)
            }
            Node::String => match j {
                J::String(s) => Value::String(Cow::Owned(s.clone())),
                _ => return expected("string", j),
            },
            Node::Bytes => Value::Bytes(Cow::Owned(self.bytes(j, "bytes")?)),
            Node::Fixed(f) => {
                let b = self.bytes(j, "fixed")?;
                if b.len() != f.size {
                    return Err((
                        FieldPath::root(),
                        format!(
                            "expected {} bytes for fixed {}, found {}",
                            f.size,
                            f.name,
                            b.len()
                        ),
                    ));
                }
                Value::Fixed(Cow::Owned(b))
            }
            Node::Enum(e) => match j {
                J::String(s) => match e.symbols.iter().position(|x| x == s) {
                    Some(i) => Value::Enum(i as u32, Cow::Borrowed(e.symbols[i])),
                    None => {
                        return Err((
                            FieldPath::root(),
                            format!(
                                "{s:?} is not a symbol of enum {} ({})",
                                e.name,
                                e.symbols.join(", ")
                            ),
                        ));
                    }
                },
                _ => return expected(&format!("a symbol of enum {}", e.name), j),
            },
            Node::Array(item) => match j {
                J::Array(a) => {
                    let mut out = Vec::with_capacity(a.len());
                    for (i, x) in a.iter().enumerate() {
                        out.push(in_seg(
                            self.conv(*item, x, depth + 1),
                            PathSegment::Index(i),
                        )?);
                    }
                    Value::Array(out)
                }
                _ => return expected("an array", j),
            },
            Node::Map(vn) => match j {
                J::Object(m) => {
                    let mut out = Vec::with_capacity(m.len());
                    for (k, x) in m {
                        let v = in_seg(self.conv(*vn, x, depth + 1), PathSegment::Key(k.clone()))?;
                        out.push(Field {
                            name: Cow::Owned(k.clone()),
                            value: v,
                        });
                    }
                    Value::Map(Fields(out))
                }
                _ => return expected("an object (map)", j),
            },
            Node::Record(r) => match j {
                J::Object(m) => {
                    let mut out = Vec::with_capacity(r.fields.len());
                    for f in r.fields.iter() {
                        let v = match m.get(f.name) {
                            Some(x) => in_seg(
                                self.conv(f.node, x, depth + 1),
                                PathSegment::Field(f.name.to_string()),
                            )?,
                            None => match &f.default {
                                Some(d) => d.clone(),
                                None if self.default => {
                                    return Err((
                                        FieldPath::root(),
                                        format!("missing field {}", f.name),
                                    ));
                                }
                                None => {
                                    let mut p = FieldPath::root();
                                    p.push(PathSegment::Field(f.name.to_string()));
                                    return Err((
                                        p,
                                        "missing required field (it has no default)".into(),
                                    ));
                                }
                            },
                        };
                        out.push(Field {
                            name: Cow::Borrowed(f.name),
                            value: v,
                        });
                    }
                    if let Some(k) = m
                        .keys()
                        .find(|k| !r.fields.iter().any(|f| f.name == k.as_str()))
                    {
                        let mut p = FieldPath::root();
                        p.push(PathSegment::Field(k.clone()));
                        return Err((p, format!("record {} has no such field", r.name)));
                    }
                    Value::Record(Record {
                        name: Some(r.name),
                        fields: Fields(out),
                    })
                }
                _ => return expected(&format!("an object (record {})", r.name), j),
            },
            Node::Union(branches) => return self.union(branches, j, depth),
            Node::Decimal {
                scale,
                precision,
                fixed,
            } => match (j, self.style) {
                (J::String(s), JsonStyle::Natural) if Decimal::parse(s, *scale).is_ok() => {
                    Value::Decimal(check_precision(
                        Decimal::parse(s, *scale).map_err(|e| (FieldPath::root(), e))?,
                        *precision,
                    )?)
                }
                (J::Number(n), _) => Value::Decimal(check_precision(
                    Decimal::parse(&n.to_string(), *scale).map_err(|e| (FieldPath::root(), e))?,
                    *precision,
                )?),
                _ => {
                    let b = self.bytes(j, "decimal")?;
                    if let Some(f) = fixed
                        && b.len() != f.size
                    {
                        return Err((
                            FieldPath::root(),
                            format!("expected {} bytes for decimal fixed {}", f.size, f.name),
                        ));
                    }
                    Value::Decimal(Decimal {
                        unscaled: Cow::Owned(b),
                        scale: *scale,
                    })
                }
            },
            Node::UuidString => match j {
                J::String(s) => Value::Uuid(
                    uuid::Uuid::try_parse(s)
                        .map_err(|e| (FieldPath::root(), format!("{s:?} is not a uuid: {e}")))?,
                ),
                _ => return expected("a uuid string", j),
            },
            Node::UuidFixed(_) => match j {
                J::String(s) if s.len() == 36 => Value::Uuid(
                    uuid::Uuid::try_parse(s)
                        .map_err(|e| (FieldPath::root(), format!("{s:?} is not a uuid: {e}")))?,
                ),
                _ => {
                    let b = self.bytes(j, "uuid")?;
                    let a: [u8; 16] = b.try_into().map_err(|_| {
                        (FieldPath::root(), "expected 16 bytes for uuid".to_string())
                    })?;
                    Value::Uuid(uuid::Uuid::from_bytes(a))
                }
            },
            Node::Date => match j {
                J::String(s) => {
                    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| {
                        (
                            FieldPath::root(),
                            format!("{s:?} is not a date (YYYY-MM-DD): {e}"),
                        )
                    })?;
                    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
                    let days = (d - epoch).num_days();
                    Value::Date(
                        i32::try_from(days)
                            .map_err(|_| (FieldPath::root(), "date out of range".to_string()))?,
                    )
                }
                _ => Value::Date(
                    i32::try_from(self.int(j, "date")?)
                        .map_err(|_| (FieldPath::root(), "date out of range".to_string()))?,
                ),
            },
            Node::TimeMillis => match j {
                J::String(s) => Value::TimeMillis((parse_time(s)? / 1_000_000) as i32),
                _ => Value::TimeMillis(
                    i32::try_from(self.int(j, "time-millis")?)
                        .map_err(|_| (FieldPath::root(), "time out of range".to_string()))?,
                ),
            },
            Node::TimeMicros => match j {
                J::String(s) => Value::TimeMicros(parse_time(s)? / 1_000),
                _ => Value::TimeMicros(self.int(j, "time-micros")?),
            },
            Node::TimestampMillis => Value::TimestampMillis(self.ts(j, 1_000, true)?),
            Node::TimestampMicros => Value::TimestampMicros(self.ts(j, 1_000_000, true)?),
            Node::TimestampNanos => Value::TimestampNanos(self.ts(j, 1_000_000_000, true)?),
            Node::LocalTimestampMillis => Value::LocalTimestampMillis(self.ts(j, 1_000, false)?),
            Node::LocalTimestampMicros => {
                Value::LocalTimestampMicros(self.ts(j, 1_000_000, false)?)
            }
            Node::LocalTimestampNanos => {
                Value::LocalTimestampNanos(self.ts(j, 1_000_000_000, false)?)
            }
            Node::Duration(_) => match j {
                J::Object(m) => {
                    let get = |k: &str| -> Result<u32, CErr> {
                        m.get(k)
                            .and_then(serde_json::Value::as_u64)
                            .and_then(|v| u32::try_from(v).ok())
                            .ok_or_else(|| {
                                (
                                    FieldPath::root(),
                                    format!("duration needs an unsigned 32-bit {k:?}"),
                                )
                            })
                    };
                    Value::Duration(Duration {
                        months: get("months")?,
                        days: get("days")?,
                        millis: get("millis")?,
                    })
                }
                _ => {
                    let b = self.bytes(j, "duration")?;
                    if b.len() != 12 {
                        return Err((FieldPath::root(), "expected 12 bytes for duration".into()));
                    }
                    let u = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
                    Value::Duration(Duration {
                        months: u(0),
                        days: u(4),
                        millis: u(8),
                    })
                }
            },
        })
    }

    fn ts(&self, j: &serde_json::Value, per_sec: i64, utc: bool) -> Result<i64, CErr> {
        let serde_json::Value::String(s) = j else {
            return self.int(j, "a timestamp");
        };
        let bad =
            |e: &dyn fmt::Display| (FieldPath::root(), format!("{s:?} is not a timestamp: {e}"));
        let (secs, nanos) = if utc {
            let dt = chrono::DateTime::parse_from_rfc3339(s).map_err(|e| bad(&e))?;
            (dt.timestamp(), i64::from(dt.timestamp_subsec_nanos()))
        } else {
            let dt = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .map_err(|e| bad(&e))?;
            let u = dt.and_utc();
            (u.timestamp(), i64::from(u.timestamp_subsec_nanos()))
        };
        let unit = 1_000_000_000 / per_sec;
        if nanos % unit != 0 {
            return Err(bad(&"more sub-second digits than the type holds"));
        }
        secs.checked_mul(per_sec)
            .and_then(|v| v.checked_add(nanos / unit))
            .ok_or_else(|| bad(&"out of range"))
    }

    fn union(
        &self,
        branches: &[NodeId],
        j: &serde_json::Value,
        depth: usize,
    ) -> Result<Value<'static>, CErr> {
        use serde_json::Value as J;
        if j.is_null() {
            if branches
                .iter()
                .any(|b| matches!(self.g.node(*b), Node::Null))
            {
                return Ok(Value::Null);
            }
            return expected("a non-null value (the union has no null branch)", j);
        }
        // the Avro JSON encoding: {"branch name": value}
        let wrapped = |m: &serde_json::Map<String, serde_json::Value>| -> Option<Result<Value<'static>, CErr>> {
            if m.len() != 1 {
                return None;
            }
            let (k, v) = m.iter().next()?;
            let b = branches.iter().find(|b| {
                let n = self.g.node(**b);
                n.json_branch_name() == k.as_str() || n.name().is_some_and(|full| full.rsplit('.').next() == Some(k.as_str()))
            })?;
            Some(in_seg(self.conv(*b, v, depth + 1), PathSegment::Field(k.clone())))
        };
        if self.style == JsonStyle::Avro && !self.default {
            return match j {
                J::Object(m) => match wrapped(m) {
                    Some(r) => r,
                    None => expected("a union wrapper {\"<branch type>\": value}", j),
                },
                _ => expected("a union wrapper {\"<branch type>\": value} or null", j),
            };
        }
        // natural (and defaults): the first branch the value converts to
        let mut first_err = None;
        for &b in branches {
            if matches!(self.g.node(b), Node::Null) {
                continue;
            }
            match self.conv(b, j, depth + 1) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let J::Object(m) = j
            && let Some(r) = wrapped(m)
        {
            return r;
        }
        let names: Vec<&str> = branches
            .iter()
            .map(|b| self.g.node(*b).json_branch_name())
            .collect();
        match first_err {
            Some((p, why)) if branches.len() <= 2 => Err((p, why)),
            _ => Err((
                FieldPath::root(),
                format!(
                    "{} fits no branch of union [{}]",
                    found(j),
                    names.join(", ")
                ),
            )),
        }
    }
}

fn check_precision(d: Decimal<'static>, precision: usize) -> Result<Decimal<'static>, CErr> {
    if precision > 0 && d.digits() > precision {
        return Err((
            FieldPath::root(),
            format!("decimal {d} has more than {precision} digits"),
        ));
    }
    Ok(d)
}

fn parse_time(s: &str) -> Result<i64, CErr> {
    let t = chrono::NaiveTime::parse_from_str(s, "%H:%M:%S%.f").map_err(|e| {
        (
            FieldPath::root(),
            format!("{s:?} is not a time of day (HH:MM:SS.fff): {e}"),
        )
    })?;
    use chrono::Timelike;
    Ok(i64::from(t.num_seconds_from_midnight()) * 1_000_000_000 + i64::from(t.nanosecond()))
}
