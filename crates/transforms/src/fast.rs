//! A fast path for the common shapes of CEL expressions, compiled from the
//! `cel` crate's parsed AST (never from text: the parser is CEL's).
//!
//! The `cel` interpreter costs about a microsecond per evaluation on a
//! record (it allocates while resolving names and boxing values), which is
//! most of a pipeline's per-record budget. Conditions are mostly field
//! comparisons joined by `&&`, `||`, `!`: this module evaluates those
//! directly on the record's values. It only answers on the happy path —
//! fields present, operands of the types the operator takes, no overflow,
//! no NaN. Anything else (a missing field, a null on the way, mixed types,
//! a function it does not know) makes it give up, and the caller evaluates
//! the same expression with the CEL interpreter, which gives CEL's answer
//! and CEL's error. So the fast path never changes a result; tests check
//! it against the interpreter.

use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;

use cel::IdedExpr;
use cel::common::ast::{Expr, LiteralValue};
use kbridge_codec::Value;
use kbridge_pipeline::PipelineRecord;

/// A compiled expression.
#[derive(Debug)]
pub(crate) enum Node {
    Lit(Lit),
    Path(Root, Box<[Step]>),
    Meta(Meta),
    Has(Root, Box<[Step]>, String),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Cmp(Cmp, Box<Node>, Box<Node>),
    In(Box<Node>, Box<[Lit]>),
    Arith(Arith, Box<Node>, Box<Node>),
    Neg(Box<Node>),
    Str(StrFn, Box<Node>, Box<Node>),
    Size(Box<Node>),
    Matches(Box<Node>, regex::Regex),
    /// `s.upperAscii()` (`true`) or `s.lowerAscii()` (`false`).
    AsciiCase(bool, Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
    Null,
    /// `timestamp('...')`: microseconds since the epoch.
    Ts(i64),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Root {
    Value,
    Key,
}

#[derive(Debug)]
pub(crate) enum Step {
    /// A field or map key, with a position hint.
    Field(String, Cell<u32>),
    Index(usize),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Meta {
    Topic,
    Partition,
    Offset,
    Timestamp,
    Now,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum StrFn {
    StartsWith,
    EndsWith,
    Contains,
}

/// A value during fast evaluation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fv<'r> {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(Cow<'r, str>),
    Null,
    /// A timestamp: microseconds since the epoch (UTC).
    Ts(i64),
}

/// The fast path gave up: ask the interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GiveUp;

type R<'r> = Result<Fv<'r>, GiveUp>;

/// Compiles what the fast path can evaluate; `None` for anything else.
pub(crate) fn compile(e: &IdedExpr) -> Option<Node> {
    Some(match &e.expr {
        Expr::Literal(l) => Node::Lit(lit(l)?),
        Expr::Ident(name) => match name.as_str() {
            "value" => Node::Path(Root::Value, Box::new([])),
            "key" => Node::Path(Root::Key, Box::new([])),
            "topic" => Node::Meta(Meta::Topic),
            "partition" => Node::Meta(Meta::Partition),
            "offset" => Node::Meta(Meta::Offset),
            "timestamp" => Node::Meta(Meta::Timestamp),
            "now" => Node::Meta(Meta::Now),
            _ => return None,
        },
        Expr::Select(s) => {
            let Node::Path(root, steps) = compile(&s.operand)? else {
                return None;
            };
            if s.test {
                Node::Has(root, steps, s.field.clone())
            } else {
                let mut steps = steps.into_vec();
                steps.push(Step::Field(s.field.clone(), Cell::new(0)));
                Node::Path(root, steps.into_boxed_slice())
            }
        }
        Expr::Call(call) => {
            let args = &call.args;
            let bin = |args: &[IdedExpr]| -> Option<(Box<Node>, Box<Node>)> {
                match args {
                    [a, b] => Some((Box::new(compile(a)?), Box::new(compile(b)?))),
                    _ => None,
                }
            };
            match (call.func_name.as_str(), &call.target) {
                ("_&&_", None) => {
                    let (a, b) = bin(args)?;
                    Node::And(a, b)
                }
                ("_||_", None) => {
                    let (a, b) = bin(args)?;
                    Node::Or(a, b)
                }
                ("!_", None) => match args.as_slice() {
                    [a] => Node::Not(Box::new(compile(a)?)),
                    _ => return None,
                },
                ("-_", None) => match args.as_slice() {
                    [a] => Node::Neg(Box::new(compile(a)?)),
                    _ => return None,
                },
                ("_?_:_", None) => match args.as_slice() {
                    [c, a, b] => Node::Cond(
                        Box::new(compile(c)?),
                        Box::new(compile(a)?),
                        Box::new(compile(b)?),
                    ),
                    _ => return None,
                },
                (op @ ("_==_" | "_!=_" | "_<_" | "_<=_" | "_>_" | "_>=_"), None) => {
                    let (a, b) = bin(args)?;
                    let c = match op {
                        "_==_" => Cmp::Eq,
                        "_!=_" => Cmp::Ne,
                        "_<_" => Cmp::Lt,
                        "_<=_" => Cmp::Le,
                        "_>_" => Cmp::Gt,
                        _ => Cmp::Ge,
                    };
                    Node::Cmp(c, a, b)
                }
                (op @ ("_+_" | "_-_" | "_*_" | "_/_" | "_%_"), None) => {
                    let (a, b) = bin(args)?;
                    let o = match op {
                        "_+_" => Arith::Add,
                        "_-_" => Arith::Sub,
                        "_*_" => Arith::Mul,
                        "_/_" => Arith::Div,
                        _ => Arith::Rem,
                    };
                    Node::Arith(o, a, b)
                }
                ("@in", None) => match args.as_slice() {
                    [x, list] => {
                        let Expr::List(l) = &list.expr else {
                            return None;
                        };
                        if !l.optional_indices.is_empty() {
                            return None;
                        }
                        let items = l
                            .elements
                            .iter()
                            .map(|i| match &i.expr {
                                Expr::Literal(v) => lit(v),
                                _ => None,
                            })
                            .collect::<Option<Vec<_>>>()?;
                        Node::In(Box::new(compile(x)?), items.into_boxed_slice())
                    }
                    _ => return None,
                },
                ("_[_]", None) => match args.as_slice() {
                    [operand, idx] => {
                        let Node::Path(root, steps) = compile(operand)? else {
                            return None;
                        };
                        let step = match &idx.expr {
                            Expr::Literal(LiteralValue::String(s)) => {
                                Step::Field(s.inner().to_string(), Cell::new(0))
                            }
                            Expr::Literal(LiteralValue::Int(i)) => {
                                Step::Index(usize::try_from(*i.inner()).ok()?)
                            }
                            _ => return None,
                        };
                        let mut steps = steps.into_vec();
                        steps.push(step);
                        Node::Path(root, steps.into_boxed_slice())
                    }
                    _ => return None,
                },
                (f @ ("startsWith" | "endsWith" | "contains"), Some(target)) => {
                    match args.as_slice() {
                        [arg] => Node::Str(
                            match f {
                                "startsWith" => StrFn::StartsWith,
                                "endsWith" => StrFn::EndsWith,
                                _ => StrFn::Contains,
                            },
                            Box::new(compile(target)?),
                            Box::new(compile(arg)?),
                        ),
                        _ => return None,
                    }
                }
                ("timestamp", None) => match args.as_slice() {
                    [
                        IdedExpr {
                            expr: Expr::Literal(LiteralValue::String(t)),
                            ..
                        },
                    ] => Node::Lit(Lit::Ts(
                        chrono::DateTime::parse_from_rfc3339(t.inner())
                            .ok()?
                            .timestamp_micros(),
                    )),
                    _ => return None,
                },
                ("size", None) => match args.as_slice() {
                    [x] => Node::Size(Box::new(compile(x)?)),
                    _ => return None,
                },
                ("size", Some(target)) if args.is_empty() => Node::Size(Box::new(compile(target)?)),
                (f @ ("upperAscii" | "lowerAscii"), Some(target)) if args.is_empty() => {
                    Node::AsciiCase(f == "upperAscii", Box::new(compile(target)?))
                }
                ("matches", Some(target)) => match args.as_slice() {
                    [
                        IdedExpr {
                            expr: Expr::Literal(LiteralValue::String(re)),
                            ..
                        },
                    ] => Node::Matches(
                        Box::new(compile(target)?),
                        regex::Regex::new(re.inner()).ok()?,
                    ),
                    _ => return None,
                },
                _ => return None,
            }
        }
        _ => return None,
    })
}

fn lit(l: &LiteralValue) -> Option<Lit> {
    Some(match l {
        LiteralValue::Boolean(b) => Lit::Bool(*b.inner()),
        LiteralValue::Int(i) => Lit::Int(*i.inner()),
        LiteralValue::Double(d) => Lit::Double(*d.inner()),
        LiteralValue::String(s) => Lit::Str(s.inner().to_string()),
        LiteralValue::Null => Lit::Null,
        LiteralValue::UInt(_) | LiteralValue::Bytes(_) => return None,
    })
}

fn lit_value(l: &Lit) -> Fv<'_> {
    match l {
        Lit::Bool(b) => Fv::Bool(*b),
        Lit::Int(i) => Fv::Int(*i),
        Lit::Double(d) => Fv::Double(*d),
        Lit::Str(s) => Fv::Str(Cow::Borrowed(s)),
        Lit::Null => Fv::Null,
        Lit::Ts(t) => Fv::Ts(*t),
    }
}

fn walk<'r>(
    record: &'r PipelineRecord<'_>,
    root: Root,
    steps: &[Step],
) -> Result<&'r Value<'r>, GiveUp> {
    let mut v: &Value<'_> = match root {
        Root::Value => &record.value,
        Root::Key => &record.key,
    };
    for s in steps {
        v = match (s, v) {
            (Step::Field(n, hint), Value::Record(_) | Value::Map(_)) => {
                let fields = v.as_fields().ok_or(GiveUp)?;
                let i = crate::path::find(fields, n, hint).ok_or(GiveUp)?;
                &fields.0[i].value
            }
            (Step::Index(i), Value::Array(a)) => a.get(*i).ok_or(GiveUp)?,
            _ => return Err(GiveUp),
        };
    }
    Ok(v)
}

/// Exactly representable as a double.
fn exact(i: i64) -> Option<f64> {
    (i.unsigned_abs() <= 1 << 53).then_some(i as f64)
}

fn numbers(a: &Fv<'_>, b: &Fv<'_>) -> Option<(f64, f64)> {
    match (a, b) {
        (Fv::Double(x), Fv::Double(y)) => Some((*x, *y)),
        (Fv::Int(x), Fv::Double(y)) => Some((exact(*x)?, *y)),
        (Fv::Double(x), Fv::Int(y)) => Some((*x, exact(*y)?)),
        _ => None,
    }
    .filter(|(x, y)| !x.is_nan() && !y.is_nan())
}

fn order(a: &Fv<'_>, b: &Fv<'_>) -> Result<Ordering, GiveUp> {
    match (a, b) {
        (Fv::Int(x), Fv::Int(y)) => Ok(x.cmp(y)),
        (Fv::Str(x), Fv::Str(y)) => Ok(x.cmp(y)),
        (Fv::Ts(x), Fv::Ts(y)) => Ok(x.cmp(y)),
        _ => {
            let (x, y) = numbers(a, b).ok_or(GiveUp)?;
            x.partial_cmp(&y).ok_or(GiveUp)
        }
    }
}

fn equal(a: &Fv<'_>, b: &Fv<'_>) -> Result<bool, GiveUp> {
    match (a, b) {
        (Fv::Bool(x), Fv::Bool(y)) => Ok(x == y),
        (Fv::Null, Fv::Null) => Ok(true),
        // CEL's heterogeneous equality: null equals only null
        (Fv::Null, _) | (_, Fv::Null) => Ok(false),
        _ => order(a, b).map(|o| o == Ordering::Equal),
    }
}

impl Node {
    /// Evaluates, or gives up.
    pub(crate) fn eval<'r>(&'r self, record: &'r PipelineRecord<'_>) -> R<'r> {
        match self {
            Node::Lit(l) => Ok(lit_value(l)),
            Node::Meta(Meta::Topic) => Ok(Fv::Str(Cow::Borrowed(
                record.topic.as_deref().unwrap_or(record.source.topic),
            ))),
            Node::Meta(Meta::Partition) => Ok(Fv::Int(i64::from(record.source.partition))),
            Node::Meta(Meta::Offset) => Ok(Fv::Int(record.source.offset)),
            Node::Meta(Meta::Timestamp) => match record.timestamp {
                Some(ms) => ms.checked_mul(1000).map(Fv::Ts).ok_or(GiveUp),
                None => Ok(Fv::Null),
            },
            Node::Meta(Meta::Now) => Ok(Fv::Ts(chrono::Utc::now().timestamp_micros())),
            Node::Size(x) => match &**x {
                // containers: counted without converting their items
                Node::Path(root, steps) => match walk(record, *root, steps)? {
                    Value::String(s) | Value::Enum(_, s) => Ok(Fv::Int(s.chars().count() as i64)),
                    Value::Record(r) => Ok(Fv::Int(r.fields.len() as i64)),
                    Value::Map(m) => Ok(Fv::Int(m.len() as i64)),
                    Value::Array(a) => Ok(Fv::Int(a.len() as i64)),
                    _ => Err(GiveUp),
                },
                other => match other.eval(record)? {
                    Fv::Str(s) => Ok(Fv::Int(s.chars().count() as i64)),
                    _ => Err(GiveUp),
                },
            },
            Node::Matches(x, re) => match x.eval(record)? {
                Fv::Str(s) => Ok(Fv::Bool(re.is_match(&s))),
                _ => Err(GiveUp),
            },
            Node::Path(root, steps) => Ok(match walk(record, *root, steps)? {
                Value::Null => Fv::Null,
                Value::Boolean(b) => Fv::Bool(*b),
                Value::Int(i) => Fv::Int(i64::from(*i)),
                Value::Long(i) => Fv::Int(*i),
                Value::Float(f) => Fv::Double(f64::from(*f)),
                Value::Double(d) => Fv::Double(*d),
                Value::String(s) | Value::Enum(_, s) => Fv::Str(Cow::Borrowed(s)),
                Value::TimestampMillis(ms) | Value::LocalTimestampMillis(ms) => {
                    Fv::Ts(ms.checked_mul(1000).ok_or(GiveUp)?)
                }
                Value::TimestampMicros(us) | Value::LocalTimestampMicros(us) => Fv::Ts(*us),
                Value::Date(d) => Fv::Ts(i64::from(*d) * 86_400_000_000),
                _ => return Err(GiveUp),
            }),
            Node::Has(root, steps, field) => match walk(record, *root, steps)? {
                v @ (Value::Record(_) | Value::Map(_)) => Ok(Fv::Bool(v.get(field).is_some())),
                _ => Err(GiveUp),
            },
            Node::Not(a) => match a.eval(record)? {
                Fv::Bool(b) => Ok(Fv::Bool(!b)),
                _ => Err(GiveUp),
            },
            Node::And(a, b) => match a.eval(record)? {
                Fv::Bool(false) => Ok(Fv::Bool(false)),
                Fv::Bool(true) => match b.eval(record)? {
                    Fv::Bool(x) => Ok(Fv::Bool(x)),
                    _ => Err(GiveUp),
                },
                _ => Err(GiveUp),
            },
            Node::Or(a, b) => match a.eval(record)? {
                Fv::Bool(true) => Ok(Fv::Bool(true)),
                Fv::Bool(false) => match b.eval(record)? {
                    Fv::Bool(x) => Ok(Fv::Bool(x)),
                    _ => Err(GiveUp),
                },
                _ => Err(GiveUp),
            },
            Node::Cond(c, a, b) => match c.eval(record)? {
                Fv::Bool(true) => a.eval(record),
                Fv::Bool(false) => b.eval(record),
                _ => Err(GiveUp),
            },
            Node::Cmp(op, a, b) => {
                let (x, y) = (a.eval(record)?, b.eval(record)?);
                Ok(Fv::Bool(match op {
                    Cmp::Eq => equal(&x, &y)?,
                    Cmp::Ne => !equal(&x, &y)?,
                    Cmp::Lt => order(&x, &y)? == Ordering::Less,
                    Cmp::Le => order(&x, &y)? != Ordering::Greater,
                    Cmp::Gt => order(&x, &y)? == Ordering::Greater,
                    Cmp::Ge => order(&x, &y)? != Ordering::Less,
                }))
            }
            Node::In(x, items) => {
                let x = x.eval(record)?;
                let mut found = false;
                for i in items.iter() {
                    let same_kind = matches!(
                        (&x, i),
                        (Fv::Str(_), Lit::Str(_))
                            | (Fv::Bool(_), Lit::Bool(_))
                            | (Fv::Int(_), Lit::Int(_))
                    );
                    if !same_kind {
                        return Err(GiveUp);
                    }
                    found |= equal(&x, &lit_value(i))?;
                }
                Ok(Fv::Bool(found))
            }
            Node::Neg(a) => match a.eval(record)? {
                Fv::Int(i) => i.checked_neg().map(Fv::Int).ok_or(GiveUp),
                Fv::Double(d) => Ok(Fv::Double(-d)),
                _ => Err(GiveUp),
            },
            Node::Arith(op, a, b) => match (a.eval(record)?, b.eval(record)?) {
                (Fv::Int(x), Fv::Int(y)) => match op {
                    Arith::Add => x.checked_add(y),
                    Arith::Sub => x.checked_sub(y),
                    Arith::Mul => x.checked_mul(y),
                    Arith::Div => x.checked_div(y),
                    Arith::Rem => x.checked_rem(y),
                }
                .map(Fv::Int)
                .ok_or(GiveUp),
                (Fv::Double(x), Fv::Double(y)) => {
                    let r = match op {
                        Arith::Add => x + y,
                        Arith::Sub => x - y,
                        Arith::Mul => x * y,
                        Arith::Div if y != 0.0 => x / y,
                        _ => return Err(GiveUp),
                    };
                    if r.is_finite() {
                        Ok(Fv::Double(r))
                    } else {
                        Err(GiveUp)
                    }
                }
                (Fv::Str(x), Fv::Str(y)) if matches!(op, Arith::Add) => {
                    Ok(Fv::Str(Cow::Owned(format!("{x}{y}"))))
                }
                _ => Err(GiveUp),
            },
            Node::AsciiCase(upper, t) => match t.eval(record)? {
                Fv::Str(s) => {
                    let unchanged = if *upper {
                        !s.bytes().any(|b| b.is_ascii_lowercase())
                    } else {
                        !s.bytes().any(|b| b.is_ascii_uppercase())
                    };
                    Ok(Fv::Str(if unchanged {
                        s
                    } else if *upper {
                        Cow::Owned(s.to_ascii_uppercase())
                    } else {
                        Cow::Owned(s.to_ascii_lowercase())
                    }))
                }
                _ => Err(GiveUp),
            },
            Node::Str(f, t, a) => match (t.eval(record)?, a.eval(record)?) {
                (Fv::Str(t), Fv::Str(a)) => Ok(Fv::Bool(match f {
                    StrFn::StartsWith => t.starts_with(&*a),
                    StrFn::EndsWith => t.ends_with(&*a),
                    StrFn::Contains => t.contains(&*a),
                })),
                _ => Err(GiveUp),
            },
        }
    }
}

impl Fv<'_> {
    /// As a record value.
    pub(crate) fn into_value(self) -> Value<'static> {
        match self {
            Fv::Bool(b) => Value::Boolean(b),
            Fv::Int(i) => Value::Long(i),
            Fv::Double(d) => Value::Double(d),
            Fv::Str(s) => Value::String(Cow::Owned(s.into_owned())),
            Fv::Null => Value::Null,
            Fv::Ts(us) if us % 1000 == 0 => Value::TimestampMillis(us / 1000),
            Fv::Ts(us) => Value::TimestampMicros(us),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Expr;
    use kbridge_codec::{AvroSchema, JsonStyle};
    use kbridge_pipeline::SourceMeta;
    use kbridge_source::TimestampType;

    const SCHEMA: &str = r#"{"type":"record","name":"R","fields":[
        {"name":"i","type":"int"},{"name":"l","type":"long"},{"name":"f","type":"float"},
        {"name":"d","type":"double"},{"name":"s","type":"string"},{"name":"b","type":"boolean"},
        {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
        {"name":"n","type":["null","string"],"default":null},
        {"name":"m","type":{"type":"map","values":"long"}},
        {"name":"a","type":{"type":"array","items":"double"}},
        {"name":"r","type":["null",{"type":"record","name":"In","fields":[{"name":"x","type":"long"}]}]},
        {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"dt","type":{"type":"int","logicalType":"date"}},
        {"name":"lt","type":{"type":"long","logicalType":"local-timestamp-micros"}}]}"#;

    const RECORDS: &[&str] = &[
        r#"{"i":3,"l":-9,"f":1.5,"d":2.5,"s":"abc","b":true,"e":"A","n":null,"m":{"k":1},"a":[1.0,2.0],"r":{"x":4},"t":1767225600001,"dt":1,"lt":1767225600001001}"#,
        r#"{"i":-2147483648,"l":9223372036854775807,"f":-0.0,"d":-1e308,"s":"","b":false,"e":"B","n":"x","m":{},"a":[],"r":null,"t":0,"dt":-1,"lt":0}"#,
        r#"{"i":0,"l":9007199254740993,"f":3.0,"d":"NaN","s":"ß→😀","b":true,"e":"A","n":"","m":{"k":-5,"j":0},"a":[0.5],"r":{"x":-1},"t":1767225600000,"dt":20000,"lt":1767225600000000}"#,
    ];

    const EXPRESSIONS: &[&str] = &[
        "value.i == 3",
        "value.i < value.l",
        "value.l > 0",
        "value.f >= 1.5",
        "value.d < 0.0",
        "value.i == 3.0",
        "value.l == 9007199254740993.0",
        "value.d == value.d",
        "value.d != value.d",
        "value.s == 'abc'",
        "value.s < 'b'",
        "value.s.startsWith('a')",
        "value.s.endsWith('c')",
        "value.s.contains('b')",
        "value.e == 'A'",
        "value.e in ['A', 'C']",
        "value.i in [1, 3]",
        "value.n == null",
        "value.n != null",
        "value.n == 'x'",
        "null == value.n",
        "value.b",
        "!value.b",
        "value.b && value.i > 0",
        "value.b || value.nope",
        "value.nope || value.b",
        "!value.b && value.nope > 1",
        "value.m['k'] > 0",
        "value.m.k == 1",
        "has(value.m.k)",
        "has(value.n)",
        "has(value.zz)",
        "has(value.r.x)",
        "value.r.x > 0",
        "value.a[1] == 2.0",
        "value.a[0] > 0.1",
        "value.i + 1",
        "value.l + 1",
        "value.i - value.i",
        "value.i * 2",
        "value.i / 0",
        "value.i % 2",
        "value.d * 2.0",
        "value.d / 0.0",
        "-value.i",
        "-value.l",
        "value.s + '!'",
        "value.i + 1.0",
        "value.b ? value.s : 'no'",
        "value.i > 0 ? 1 : 2.5",
        "topic == 't' && partition == 1 && offset == 5",
        "key == 'k'",
        "value.s",
        "value.d",
        "value.f == 1.5",
        "value.i == 'x'",
        "value.s < 1",
        "value.b == true",
        "value.b < false",
        "value.e",
        "value.m",
        "value.nope",
        "size(value.s) == 3",
        "value.s.size() > 0",
        "size(value.m) >= 1",
        "size(value.a) == 2",
        "size(value.r) == 1",
        "size(value.i)",
        "value.s.matches('^a')",
        "value.s.matches('[0-9]')",
        "value.e.matches('A|B')",
        "value.t > timestamp('2026-01-01T00:00:00Z')",
        "value.t == timestamp('2026-01-01T00:00:00.001Z')",
        "value.dt < timestamp('1970-01-03T00:00:00Z')",
        "value.t < now",
        "timestamp == null",
        "value.t",
        "value.lt > value.t",
        "value.s.upperAscii()",
        "value.s.lowerAscii() == 'abc'",
        "value.e.lowerAscii()",
        "value.n.upperAscii()",
        "value.i.upperAscii()",
    ];

    /// Wherever the fast path answers, the interpreter gives the same answer.
    #[test]
    fn the_fast_path_agrees_with_the_interpreter() {
        let schema = AvroSchema::parse(SCHEMA).unwrap();
        let values: Vec<Value<'static>> = RECORDS
            .iter()
            .map(|r| schema.value_from_json(r, JsonStyle::Natural).unwrap())
            .chain(RECORDS.iter().map(|r| {
                kbridge_codec::json::parse_json(r.as_bytes())
                    .unwrap()
                    .into_owned()
            }))
            .collect();
        let (mut hits, mut compiled) = (0, 0);
        let mut disagreements = Vec::new();
        for text in EXPRESSIONS {
            let expr = Expr::compile(text).unwrap();
            let Some(fast) = compile(expr_ast(&expr)) else {
                continue;
            };
            compiled += 1;
            for v in &values {
                let mut rec = PipelineRecord::new(
                    v.clone(),
                    SourceMeta {
                        topic: "t",
                        partition: 1,
                        offset: 5,
                        timestamp: None,
                        timestamp_type: TimestampType::CreateTime,
                    },
                );
                rec.key = Value::from("k");
                if let Ok(f) = fast.eval(&rec) {
                    hits += 1;
                    let slow = expr.eval_interpreted(&rec);
                    // compared as text: NaN is not equal to itself
                    let fast_text = format!("{:?}", Ok::<_, String>(f.clone().into_value()));
                    if format!("{slow:?}") != fast_text {
                        disagreements.push(format!("{text} on {v:?}: fast {f:?}, cel {slow:?}"));
                    }
                }
            }
        }
        assert!(disagreements.is_empty(), "\n{}\n", disagreements.join("\n"));
        assert!(
            compiled >= 55,
            "{compiled} of {} compiled",
            EXPRESSIONS.len()
        );
        assert!(hits >= 250, "{hits} fast answers");
    }

    fn expr_ast(e: &Expr) -> &IdedExpr {
        e.ast()
    }
}
