//! Partial decoding and byte-copy encoding of top-level record fields.
//!
//! A [`SkimPlan`] reads a record written with one schema but builds values
//! only for the fields a caller asked for; every other field is checked as
//! the full reader would check it (bounds, varints, UTF-8, enum and union
//! indices) and its byte range is kept. A [`SplicePlan`] then writes the
//! record under an output schema: a kept field whose output type is the
//! writer's type is copied byte for byte, one whose type differs is decoded
//! from its bytes and encoded, and the rest come from the value.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use super::graph::{Node, NodeId, SchemaGraph};
use super::read::{Cursor, ReadPlan, SPARE_FIELDS};
use crate::error::{CodecError, DatumErrorKind as K, PathSegment};
use crate::value::{Field, Fields, Record, Value};

/// One writer field of a skimmed record.
#[derive(Debug)]
struct SkimField {
    name: &'static str,
    op: usize,
    node: NodeId,
    decode: bool,
}

/// Reads a record decoding only some of its top-level fields.
#[derive(Debug)]
pub(crate) struct SkimPlan {
    read: Arc<ReadPlan>,
    name: &'static str,
    fields: Box<[SkimField]>,
    decoded: usize,
}

impl SkimPlan {
    /// A plan for data read by `read` (an identity plan) that decodes the
    /// fields `keep` names. `None` when the root is not a record, or when
    /// every field is kept anyway.
    pub(crate) fn new(read: &Arc<ReadPlan>, keep: &HashSet<String>) -> Option<SkimPlan> {
        let (name, ops) = read.root_fields()?;
        let writer = read.writer();
        let Node::Record(r) = writer.node(writer.root) else {
            return None;
        };
        if r.fields.len() != ops.len() {
            return None;
        }
        let fields: Box<[SkimField]> = r
            .fields
            .iter()
            .zip(ops)
            .map(|(f, (n, op))| SkimField {
                name: n,
                op,
                node: f.node,
                decode: keep.contains(n),
            })
            .collect();
        let decoded = fields.iter().filter(|f| f.decode).count();
        if decoded == fields.len() {
            return None;
        }
        Some(SkimPlan {
            read: Arc::clone(read),
            name,
            fields,
            decoded,
        })
    }

    /// Decodes `body` (one whole datum): the kept fields as values, the
    /// others as byte ranges in `spans` (one per writer field; empty for
    /// decoded ones). Errors carry no field path: the caller redoes a
    /// failed record with the full decoder, which reports it.
    pub(crate) fn decode<'a>(
        &self,
        body: &'a [u8],
        spans: &mut Vec<Range<usize>>,
    ) -> Result<Value<'a>, CodecError> {
        spans.clear();
        let mut c = Cursor::new(body);
        let mut fields: Vec<Field<'a>> = Vec::with_capacity(self.decoded + SPARE_FIELDS);
        for f in self.fields.iter() {
            let start = c.pos();
            if f.decode {
                let value = self.read.read_op(f.op, &mut c, 1)?;
                fields.push(Field {
                    name: Cow::Borrowed(f.name),
                    value,
                });
                spans.push(start..start);
            } else {
                self.read.check(f.op, &mut c, 1)?;
                spans.push(start..c.pos());
            }
        }
        if c.remaining() > 0 {
            return Err(CodecError::datum(K::TrailingBytes(c.remaining()), c.pos()));
        }
        Ok(Value::Record(Record {
            name: Some(self.name),
            fields: Fields(fields),
        }))
    }

    /// The value of `value` with the skipped fields decoded back in (after
    /// the fields it has), for encoders that cannot copy bytes.
    pub(crate) fn complete<'a>(
        &self,
        value: &Value<'a>,
        body: &'a [u8],
        spans: &[Range<usize>],
    ) -> Result<Value<'a>, CodecError> {
        let mut full = value.clone();
        let Value::Record(r) = &mut full else {
            return Ok(full);
        };
        for (f, span) in self.fields.iter().zip(spans) {
            if f.decode {
                continue;
            }
            let mut c = Cursor::new(body.get(span.clone()).unwrap_or_default());
            let v = self.read.read_op(f.op, &mut c, 1)?;
            r.fields.0.push(Field {
                name: Cow::Borrowed(f.name),
                value: v,
            });
        }
        Ok(full)
    }
}

/// Where one output field comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The bytes of writer field `i` (same type).
    Copy(usize),
    /// Writer field `i`, decoded from its bytes (another type).
    Recode(usize),
    /// The value's field of that name (or the output field's default).
    Value,
}

#[derive(Debug)]
struct OutField {
    name: &'static str,
    node: NodeId,
    source: Source,
}

/// Writes skimmed records under one output schema.
#[derive(Debug)]
pub(crate) struct SplicePlan {
    fields: Box<[OutField]>,
}

impl SplicePlan {
    /// `None` when the output root is not a record.
    pub(crate) fn new(skim: &SkimPlan, output: &SchemaGraph) -> Option<SplicePlan> {
        let Node::Record(r) = output.node(output.root) else {
            return None;
        };
        let writer = skim.read.writer();
        let fields = r
            .fields
            .iter()
            .map(|o| {
                let source = match skim.fields.iter().position(|w| w.name == o.name) {
                    Some(i) if !skim.fields[i].decode => {
                        let mut seen = HashSet::new();
                        if same_type(writer, skim.fields[i].node, output, o.node, &mut seen) {
                            Source::Copy(i)
                        } else {
                            Source::Recode(i)
                        }
                    }
                    _ => Source::Value,
                };
                OutField {
                    name: o.name,
                    node: o.node,
                    source,
                }
            })
            .collect();
        Some(SplicePlan { fields })
    }

    /// Appends the datum: copied ranges of `body`, recoded fields, and the
    /// value's fields. On error `out` may hold a partial datum.
    pub(crate) fn encode(
        &self,
        skim: &SkimPlan,
        output: &SchemaGraph,
        value: &Value<'_>,
        body: &[u8],
        spans: &[Range<usize>],
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let have: &[Field<'_>] = match value {
            Value::Record(r) => &r.fields.0,
            Value::Map(m) => &m.0,
            v => {
                return Err(CodecError::encode(format!(
                    "value of type {} does not fit schema type record",
                    v.type_name()
                )));
            }
        };
        let Node::Record(schema) = output.node(output.root) else {
            return Err(CodecError::encode("output schema is not a record"));
        };
        // adjacent copies go out as one
        let mut pending: Option<Range<usize>> = None;
        let span = |i: usize| -> Result<Range<usize>, CodecError> {
            spans
                .get(i)
                .filter(|s| s.end <= body.len())
                .cloned()
                .ok_or_else(|| CodecError::encode("skimmed record without its field bytes"))
        };
        for (k, f) in self.fields.iter().enumerate() {
            if let Source::Copy(i) = f.source {
                let s = span(i)?;
                pending = match pending {
                    Some(p) if p.end == s.start => Some(p.start..s.end),
                    Some(p) => {
                        out.extend_from_slice(&body[p]);
                        Some(s)
                    }
                    None => Some(s),
                };
                continue;
            }
            if let Some(p) = pending.take() {
                out.extend_from_slice(&body[p]);
            }
            let res = match f.source {
                Source::Recode(i) => {
                    let s = span(i)?;
                    let mut c = Cursor::new(&body[s]);
                    skim.read
                        .read_op(skim.fields[i].op, &mut c, 1)
                        .and_then(|v| output.write(f.node, &v, out, 1))
                }
                _ => {
                    let found = match have.get(k) {
                        Some(x) if x.name == f.name => Some(&x.value),
                        _ => have.iter().find(|x| x.name == f.name).map(|x| &x.value),
                    };
                    let default = schema.fields.get(k).and_then(|s| s.default.as_ref());
                    match (found, default) {
                        (Some(x), _) => output.write(f.node, x, out, 1),
                        (None, Some(d)) => output.write(f.node, d, out, 1),
                        (None, None) => Err(CodecError::encode("missing field (no default)")),
                    }
                }
            };
            res.map_err(|e| e.within(PathSegment::Field(f.name.to_string())))?;
        }
        if let Some(p) = pending {
            out.extend_from_slice(&body[p]);
        }
        Ok(())
    }
}

/// Whether data of `a` in graph `ga` is data of `b` in graph `gb`, byte
/// for byte and with the same meaning (names, symbols, logical types).
fn same_type(
    ga: &SchemaGraph,
    a: NodeId,
    gb: &SchemaGraph,
    b: NodeId,
    seen: &mut HashSet<(NodeId, NodeId)>,
) -> bool {
    use Node as N;
    let (na, nb) = (ga.node(a), gb.node(b));
    if std::mem::discriminant(na) != std::mem::discriminant(nb) {
        return false;
    }
    let fixed_eq = |x: &super::graph::FixedNode, y: &super::graph::FixedNode| {
        x.name == y.name && x.size == y.size
    };
    match (na, nb) {
        (N::Array(x), N::Array(y)) | (N::Map(x), N::Map(y)) => same_type(ga, *x, gb, *y, seen),
        (N::Union(x), N::Union(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|(x, y)| same_type(ga, *x, gb, *y, seen))
        }
        (N::Record(x), N::Record(y)) => {
            if !seen.insert((a, b)) {
                // a recursive reference being compared already
                return true;
            }
            x.name == y.name
                && x.fields.len() == y.fields.len()
                && x.fields
                    .iter()
                    .zip(y.fields.iter())
                    .all(|(fx, fy)| fx.name == fy.name && same_type(ga, fx.node, gb, fy.node, seen))
        }
        (N::Enum(x), N::Enum(y)) => x.name == y.name && x.symbols == y.symbols,
        (N::Fixed(x), N::Fixed(y))
        | (N::UuidFixed(x), N::UuidFixed(y))
        | (N::Duration(x), N::Duration(y)) => fixed_eq(x, y),
        (
            N::Decimal {
                scale: sa,
                precision: pa,
                fixed: fa,
            },
            N::Decimal {
                scale: sb,
                precision: pb,
                fixed: fb,
            },
        ) => {
            sa == sb
                && pa == pb
                && match (fa, fb) {
                    (None, None) => true,
                    (Some(x), Some(y)) => fixed_eq(x, y),
                    _ => false,
                }
        }
        // the remaining kinds have no parameters
        _ => true,
    }
}
