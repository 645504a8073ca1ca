//! Decoding: a [`ReadPlan`] compiled once per (writer schema, reader
//! schema) pair, then run per datum over a bounds-checked cursor. Strings,
//! bytes, map keys and field names borrow (from the input and from the
//! interned schema names); a record costs one `Vec` allocation.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use super::graph::{Node, NodeId, Phys, SchemaGraph};
use crate::error::{CodecError, DatumErrorKind as K, FieldPath, PathSegment};
use crate::resolver::SchemaRef;
use crate::value::{Decimal, Duration, Field, Fields, Record, Value};

/// Deepest nesting a datum may have (recursive schemas); deeper is an error,
/// never a stack overflow.
pub const MAX_DEPTH: usize = 64;
/// Most items a collection of zero-byte items (nulls, empty records) may
/// claim: their count cannot be checked against the bytes left.
pub const MAX_EMPTY_ITEMS: usize = 65_536;
/// Most items reserved up front for one block; longer blocks grow as read.
const MAX_PREALLOC: usize = 1024;
/// Spare capacity of a decoded record's field vector.
pub(crate) const SPARE_FIELDS: usize = 2;

type OpId = usize;

/// A compiled decoder for data written with one schema and read as
/// another (or the same).
#[derive(Debug)]
pub struct ReadPlan {
    writer: Arc<SchemaGraph>,
    ops: Vec<Op>,
    root: OpId,
}

#[derive(Debug)]
enum Op {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(usize),
    Enum {
        symbols: Box<[&'static str]>,
        map: Option<Box<[Option<u32>]>>,
    },
    Array {
        item: OpId,
        may_be_empty: bool,
    },
    Map {
        value: OpId,
    },
    Union(Box<[OpId]>),
    Record(RecordOp),
    Decimal {
        scale: u32,
        fixed: Option<usize>,
    },
    UuidString,
    UuidFixed,
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
    TimestampNanos,
    LocalTimestampMillis,
    LocalTimestampMicros,
    LocalTimestampNanos,
    Duration,
    /// Writer type `from`, presented as the reader's node (promotions).
    Convert {
        from: Phys,
        to: Node,
    },
    /// A writer branch the reader cannot read; an error only if it occurs.
    Fail(String),
    /// Placeholder while a recursive record is being resolved.
    Pending,
}

#[derive(Debug)]
struct RecordOp {
    name: &'static str,
    fields: Box<[FieldOp]>,
    out_names: Box<[&'static str]>,
    defaults: Box<[(usize, Value<'static>)]>,
    /// Writer fields map to reader slots 0..n in order, nothing skipped or
    /// defaulted: decode straight into the output vector.
    direct: bool,
}

#[derive(Debug)]
enum FieldOp {
    Read {
        slot: usize,
        op: OpId,
        name: &'static str,
    },
    Skip {
        node: NodeId,
        name: &'static str,
    },
}

// ------------------------------------------------------------------ cursor

/// A bounds-checked reader over untrusted bytes.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    fn err<T>(&self, kind: K) -> Result<T, CodecError> {
        Err(CodecError::datum(kind, self.pos))
    }

    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u64, CodecError> {
        let mut result: u64 = 0;
        let mut shift = 0u32;
        loop {
            let Some(&b) = self.buf.get(self.pos) else {
                return self.err(K::Truncated);
            };
            if shift == 63 && b > 1 {
                return self.err(K::VarintOverflow);
            }
            self.pos += 1;
            result |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(result);
            }
            shift += 7;
            if shift > 63 {
                return self.err(K::VarintOverflow);
            }
        }
    }

    #[inline]
    pub(crate) fn long(&mut self) -> Result<i64, CodecError> {
        let n = self.varint()?;
        Ok((n >> 1) as i64 ^ -((n & 1) as i64))
    }

    #[inline]
    pub(crate) fn int(&mut self) -> Result<i32, CodecError> {
        let start = self.pos;
        let v = self.long()?;
        i32::try_from(v).map_err(|_| CodecError::datum(K::IntOutOfRange(v), start))
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        match self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
        {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => self.err(K::Truncated),
        }
    }

    #[inline]
    fn len(&mut self) -> Result<usize, CodecError> {
        let start = self.pos;
        let n = self.long()?;
        if n < 0 {
            return Err(CodecError::datum(K::NegativeLength(n), start));
        }
        if n as u64 > self.remaining() as u64 {
            return Err(CodecError::datum(
                K::LengthOutOfRange {
                    claimed: n,
                    remaining: self.remaining(),
                },
                start,
            ));
        }
        Ok(n as usize)
    }

    #[inline]
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        let n = self.len()?;
        self.take(n)
    }

    #[inline]
    pub(crate) fn str(&mut self) -> Result<&'a str, CodecError> {
        let start = self.pos;
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map_err(|e| CodecError::datum(K::InvalidUtf8, start + 1 + e.valid_up_to()))
    }

    #[inline]
    fn fixed(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        self.take(n)
    }

    #[inline]
    fn f32(&mut self) -> Result<f32, CodecError> {
        let b = self.fixed(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(f32::from_le_bytes(a))
    }

    #[inline]
    fn f64(&mut self) -> Result<f64, CodecError> {
        let b = self.fixed(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    #[inline]
    fn boolean(&mut self) -> Result<bool, CodecError> {
        match self.buf.get(self.pos) {
            Some(0) => {
                self.pos += 1;
                Ok(false)
            }
            Some(1) => {
                self.pos += 1;
                Ok(true)
            }
            Some(&b) => self.err(K::InvalidBoolean(b)),
            None => self.err(K::Truncated),
        }
    }

    /// Reads a union's branch index and returns that branch.
    #[inline]
    fn branch<T: Copy>(&mut self, branches: &[T]) -> Result<T, CodecError> {
        let start = self.pos;
        let i = self.long()?;
        match usize::try_from(i).ok().and_then(|i| branches.get(i)) {
            Some(&b) => Ok(b),
            None => Err(CodecError::datum(
                K::UnionBranchOutOfRange {
                    index: i,
                    branches: branches.len(),
                },
                start,
            )),
        }
    }

    /// Reads a block count (negative: followed by the block's byte size).
    /// Returns 0 at the end of the collection. `total` counts items so far.
    #[inline]
    fn block(&mut self, may_be_empty: bool, total: usize) -> Result<usize, CodecError> {
        let start = self.pos;
        let mut n = self.long()?;
        if n < 0 {
            n = n
                .checked_neg()
                .ok_or_else(|| CodecError::datum(K::NegativeLength(n), start))?;
            let size_at = self.pos;
            let size = self.long()?;
            if size < 0 || size as u64 > self.remaining() as u64 {
                return Err(CodecError::datum(
                    K::LengthOutOfRange {
                        claimed: size,
                        remaining: self.remaining(),
                    },
                    size_at,
                ));
            }
        }
        let limit = if may_be_empty {
            MAX_EMPTY_ITEMS.saturating_sub(total)
        } else {
            self.remaining()
        };
        if n as u64 > limit as u64 {
            return Err(CodecError::datum(
                K::LengthOutOfRange {
                    claimed: n,
                    remaining: self.remaining(),
                },
                start,
            ));
        }
        Ok(n as usize)
    }
}

// ----------------------------------------------------------------- compile

struct Resolver<'g> {
    w: &'g SchemaGraph,
    r: &'g SchemaGraph,
    ops: Vec<Op>,
    memo: HashMap<(NodeId, NodeId), OpId>,
}

fn unqualified(n: &str) -> &str {
    n.rsplit('.').next().unwrap_or(n)
}

fn names_match(w: &Node, r: &Node) -> bool {
    match (w.name(), r.name()) {
        (Some(wn), Some(rn)) => {
            wn == rn
                || unqualified(wn) == unqualified(rn)
                || r.aliases()
                    .iter()
                    .any(|a| *a == wn || unqualified(a) == unqualified(wn))
        }
        _ => true,
    }
}

/// Can data of writer physical type `w` be read as reader physical type `r`?
fn promotable(w: Phys, r: Phys) -> bool {
    use Phys::*;
    w == r
        || matches!(
            (w, r),
            (Int, Long | Float | Double)
                | (Long, Float | Double)
                | (Float, Double)
                | (String, Bytes)
                | (Bytes, String)
        )
}

impl ReadPlan {
    /// The identity plan: read data written with `graph` as itself.
    pub fn new(graph: Arc<SchemaGraph>) -> ReadPlan {
        // identical schemas always resolve
        match Self::resolve(Arc::clone(&graph), &graph, SchemaRef::Fixed) {
            Ok(p) => p,
            Err(_) => ReadPlan {
                writer: graph,
                ops: vec![Op::Fail("schema does not resolve to itself".into())],
                root: 0,
            },
        }
    }

    /// A plan reading data written with `writer` as `reader` (Avro schema
    /// resolution: defaults, skipped fields, promotions, enum defaults,
    /// aliases). `writer_ref` names the writer in errors.
    pub fn resolve(
        writer: Arc<SchemaGraph>,
        reader: &SchemaGraph,
        writer_ref: SchemaRef,
    ) -> Result<ReadPlan, CodecError> {
        let mut res = Resolver {
            w: &writer,
            r: reader,
            ops: Vec::new(),
            memo: HashMap::new(),
        };
        let root = res
            .resolve(writer.root, reader.root)
            .map_err(|(path, reason)| CodecError::ResolveReader {
                writer: writer_ref,
                path,
                reason,
            })?;
        let ops = res.ops;
        Ok(ReadPlan { writer, ops, root })
    }

    /// The writer schema this plan reads.
    pub fn writer(&self) -> &Arc<SchemaGraph> {
        &self.writer
    }

    /// Decodes one datum that must fill `bytes` exactly.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Result<Value<'a>, CodecError> {
        let mut c = Cursor::new(bytes);
        let v = self.read(self.root, &mut c, 0)?;
        if c.remaining() > 0 {
            return Err(CodecError::datum(K::TrailingBytes(c.remaining()), c.pos()));
        }
        Ok(v)
    }

    /// Decodes one datum from the front of `bytes`; returns it and the
    /// number of bytes it took.
    pub fn decode_prefix<'a>(&self, bytes: &'a [u8]) -> Result<(Value<'a>, usize), CodecError> {
        let mut c = Cursor::new(bytes);
        let v = self.read(self.root, &mut c, 0)?;
        Ok((v, c.pos()))
    }

    /// The root record's fields (name, op), when the root is a record read
    /// field by field in writer order (an identity plan's record).
    pub(crate) fn root_fields(&self) -> Option<(&'static str, Vec<(&'static str, OpId)>)> {
        let Op::Record(r) = &self.ops[self.root] else {
            return None;
        };
        if !r.direct {
            return None;
        }
        let fields = r
            .fields
            .iter()
            .map(|f| match f {
                FieldOp::Read { op, name, .. } => Some((*name, *op)),
                FieldOp::Skip { .. } => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some((r.name, fields))
    }

    /// Reads `op` from `c` (for the skim: one field at a time).
    pub(crate) fn read_op<'a>(
        &self,
        op: OpId,
        c: &mut Cursor<'a>,
        depth: usize,
    ) -> Result<Value<'a>, CodecError> {
        self.read(op, c, depth)
    }

    /// Checks `op`'s datum as [`read`](Self::read) would and moves past it
    /// without building a value: it fails where `read` fails (bounds,
    /// varints, UTF-8, enum and union indices, int range).
    pub(crate) fn check(
        &self,
        op: OpId,
        c: &mut Cursor<'_>,
        depth: usize,
    ) -> Result<(), CodecError> {
        if depth > MAX_DEPTH {
            return c.err(K::TooDeep);
        }
        match &self.ops[op] {
            Op::Null => {}
            Op::Boolean => {
                c.boolean()?;
            }
            Op::Int | Op::Date | Op::TimeMillis => {
                c.int()?;
            }
            Op::Long
            | Op::TimeMicros
            | Op::TimestampMillis
            | Op::TimestampMicros
            | Op::TimestampNanos
            | Op::LocalTimestampMillis
            | Op::LocalTimestampMicros
            | Op::LocalTimestampNanos => {
                c.long()?;
            }
            Op::Float => {
                c.fixed(4)?;
            }
            Op::Double => {
                c.fixed(8)?;
            }
            Op::Bytes => {
                c.bytes()?;
            }
            Op::String => {
                c.str()?;
            }
            Op::Fixed(n) => {
                c.fixed(*n)?;
            }
            Op::Union(branches) => {
                let b = c.branch(branches)?;
                self.check(b, c, depth + 1)?;
            }
            Op::Array { item, may_be_empty } => {
                let mut total = 0usize;
                loop {
                    let n = c.block(*may_be_empty, total)?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        self.check(*item, c, depth + 1)?;
                    }
                    total += n;
                }
            }
            Op::Map { value } => {
                let mut total = 0usize;
                loop {
                    let n = c.block(false, total)?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        c.str()?;
                        self.check(*value, c, depth + 1)?;
                    }
                    total += n;
                }
            }
            Op::Record(r) if r.direct => {
                for f in r.fields.iter() {
                    if let FieldOp::Read { op, .. } = f {
                        self.check(*op, c, depth + 1)?;
                    }
                }
            }
            // the rest (enums, logical types that validate, resolution):
            // the reader itself checks them
            _ => {
                self.read(op, c, depth)?;
            }
        }
        Ok(())
    }

    fn read<'a>(
        &self,
        op: OpId,
        c: &mut Cursor<'a>,
        depth: usize,
    ) -> Result<Value<'a>, CodecError> {
        if depth > MAX_DEPTH {
            return c.err(K::TooDeep);
        }
        Ok(match &self.ops[op] {
            Op::Null => Value::Null,
            Op::Boolean => Value::Boolean(c.boolean()?),
            Op::Int => Value::Int(c.int()?),
            Op::Long => Value::Long(c.long()?),
            Op::Float => Value::Float(c.f32()?),
            Op::Double => Value::Double(c.f64()?),
            Op::Bytes => Value::Bytes(Cow::Borrowed(c.bytes()?)),
            Op::String => Value::String(Cow::Borrowed(c.str()?)),
            Op::Fixed(n) => Value::Fixed(Cow::Borrowed(c.fixed(*n)?)),
            Op::Record(r) => Value::Record(self.read_record(r, c, depth + 1)?),
            Op::Enum { symbols, map } => {
                let start = c.pos();
                let i = c.long()?;
                let wi = usize::try_from(i).ok();
                let ri = match (map, wi) {
                    (None, Some(wi)) if wi < symbols.len() => Some(wi as u32),
                    (Some(m), Some(wi)) => match m.get(wi) {
                        Some(Some(ri)) => Some(*ri),
                        Some(None) => {
                            return Err(CodecError::datum(
                                K::Unresolvable(format!(
                                    "writer enum symbol {wi} unknown to the reader, which has no default"
                                )),
                                start,
                            ));
                        }
                        None => None,
                    },
                    _ => None,
                };
                match ri.and_then(|ri| symbols.get(ri as usize).map(|s| (ri, *s))) {
                    Some((ri, s)) => Value::Enum(ri, Cow::Borrowed(s)),
                    None => {
                        let n = map.as_ref().map_or(symbols.len(), |m| m.len());
                        return Err(CodecError::datum(
                            K::EnumIndexOutOfRange {
                                index: i,
                                symbols: n,
                            },
                            start,
                        ));
                    }
                }
            }
            Op::Union(branches) => {
                let b = c.branch(branches)?;
                self.read(b, c, depth + 1)?
            }
            Op::Array { item, may_be_empty } => {
                let mut out = Vec::new();
                loop {
                    let n = c.block(*may_be_empty, out.len())?;
                    if n == 0 {
                        break;
                    }
                    out.reserve(n.min(MAX_PREALLOC));
                    for _ in 0..n {
                        let idx = out.len();
                        out.push(
                            self.read(*item, c, depth + 1)
                                .map_err(|e| e.within(PathSegment::Index(idx)))?,
                        );
                    }
                }
                Value::Array(out)
            }
            Op::Map { value } => {
                let mut out: Vec<Field<'a>> = Vec::new();
                loop {
                    // every entry has a key (>= 1 byte), so counts are checkable
                    let n = c.block(false, out.len())?;
                    if n == 0 {
                        break;
                    }
                    out.reserve(n.min(MAX_PREALLOC));
                    for _ in 0..n {
                        let k = c.str()?;
                        let v = self
                            .read(*value, c, depth + 1)
                            .map_err(|e| e.within(PathSegment::Key(k.to_string())))?;
                        out.push(Field {
                            name: Cow::Borrowed(k),
                            value: v,
                        });
                    }
                }
                Value::Map(Fields(out))
            }
            Op::Decimal { scale, fixed } => {
                let b = match fixed {
                    Some(n) => c.fixed(*n)?,
                    None => c.bytes()?,
                };
                Value::Decimal(Decimal {
                    unscaled: Cow::Borrowed(b),
                    scale: *scale,
                })
            }
            Op::UuidString => {
                let start = c.pos();
                let s = c.str()?;
                Value::Uuid(uuid::Uuid::try_parse(s).map_err(|e| {
                    CodecError::datum(K::InvalidLogical(format!("uuid {s:?}: {e}")), start)
                })?)
            }
            Op::UuidFixed => {
                let b = c.fixed(16)?;
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Value::Uuid(uuid::Uuid::from_bytes(a))
            }
            Op::Date => Value::Date(c.int()?),
            Op::TimeMillis => Value::TimeMillis(c.int()?),
            Op::TimeMicros => Value::TimeMicros(c.long()?),
            Op::TimestampMillis => Value::TimestampMillis(c.long()?),
            Op::TimestampMicros => Value::TimestampMicros(c.long()?),
            Op::TimestampNanos => Value::TimestampNanos(c.long()?),
            Op::LocalTimestampMillis => Value::LocalTimestampMillis(c.long()?),
            Op::LocalTimestampMicros => Value::LocalTimestampMicros(c.long()?),
            Op::LocalTimestampNanos => Value::LocalTimestampNanos(c.long()?),
            Op::Duration => {
                let b = c.fixed(12)?;
                let u = |i: usize| {
                    let mut a = [0u8; 4];
                    a.copy_from_slice(&b[i..i + 4]);
                    u32::from_le_bytes(a)
                };
                Value::Duration(Duration {
                    months: u(0),
                    days: u(4),
                    millis: u(8),
                })
            }
            Op::Convert { from, to } => self.convert(*from, to, c)?,
            Op::Fail(why) => return c.err(K::Unresolvable(why.clone())),
            Op::Pending => return c.err(K::Unresolvable("unresolved recursive type".into())),
        })
    }

    #[inline]
    fn read_record<'a>(
        &self,
        r: &RecordOp,
        c: &mut Cursor<'a>,
        depth: usize,
    ) -> Result<Record<'a>, CodecError> {
        // room for fields a transform adds (insert_field ...) without
        // reallocating the vector: a grow showed in the bench profile
        let mut fields: Vec<Field<'a>> = Vec::with_capacity(r.out_names.len() + SPARE_FIELDS);
        if r.direct {
            for f in r.fields.iter() {
                if let FieldOp::Read { op, name, .. } = f {
                    let value = self
                        .read(*op, c, depth)
                        .map_err(|e| e.within(PathSegment::Field((*name).to_string())))?;
                    fields.push(Field {
                        name: Cow::Borrowed(name),
                        value,
                    });
                }
            }
        } else {
            fields.extend(r.out_names.iter().map(|n| Field {
                name: Cow::Borrowed(*n),
                value: Value::Null,
            }));
            for f in r.fields.iter() {
                match f {
                    FieldOp::Read { slot, op, name } => {
                        let v = self
                            .read(*op, c, depth)
                            .map_err(|e| e.within(PathSegment::Field((*name).to_string())))?;
                        fields[*slot].value = v;
                    }
                    FieldOp::Skip { node, name } => {
                        skip(&self.writer, *node, c, depth)
                            .map_err(|e| e.within(PathSegment::Field((*name).to_string())))?;
                    }
                }
            }
            for (slot, d) in r.defaults.iter() {
                fields[*slot].value = d.clone();
            }
        }
        Ok(Record {
            name: Some(r.name),
            fields: Fields(fields),
        })
    }

    fn convert<'a>(
        &self,
        from: Phys,
        to: &Node,
        c: &mut Cursor<'a>,
    ) -> Result<Value<'a>, CodecError> {
        let start = c.pos();
        Ok(match from {
            Phys::Int | Phys::Long => {
                let v = if from == Phys::Int {
                    i64::from(c.int()?)
                } else {
                    c.long()?
                };
                match to {
                    Node::Float => Value::Float(v as f32),
                    Node::Double => Value::Double(v as f64),
                    Node::Long => Value::Long(v),
                    Node::TimeMicros => Value::TimeMicros(v),
                    Node::TimestampMillis => Value::TimestampMillis(v),
                    Node::TimestampMicros => Value::TimestampMicros(v),
                    Node::TimestampNanos => Value::TimestampNanos(v),
                    Node::LocalTimestampMillis => Value::LocalTimestampMillis(v),
                    Node::LocalTimestampMicros => Value::LocalTimestampMicros(v),
                    Node::LocalTimestampNanos => Value::LocalTimestampNanos(v),
                    _ => {
                        return Err(CodecError::datum(
                            K::Unresolvable("bad numeric promotion".into()),
                            start,
                        ));
                    }
                }
            }
            Phys::Float => Value::Double(f64::from(c.f32()?)),
            Phys::String | Phys::Bytes => {
                let b = c.bytes()?;
                match to {
                    Node::String => match std::str::from_utf8(b) {
                        Ok(s) => Value::String(Cow::Borrowed(s)),
                        Err(e) => {
                            return Err(CodecError::datum(
                                K::InvalidUtf8,
                                start + 1 + e.valid_up_to(),
                            ));
                        }
                    },
                    Node::UuidString => {
                        let s = std::str::from_utf8(b)
                            .map_err(|_| CodecError::datum(K::InvalidUtf8, start))?;
                        Value::Uuid(uuid::Uuid::try_parse(s).map_err(|e| {
                            CodecError::datum(K::InvalidLogical(format!("uuid {s:?}: {e}")), start)
                        })?)
                    }
                    Node::Decimal {
                        scale, fixed: None, ..
                    } => Value::Decimal(Decimal {
                        unscaled: Cow::Borrowed(b),
                        scale: *scale,
                    }),
                    _ => Value::Bytes(Cow::Borrowed(b)),
                }
            }
            _ => {
                return Err(CodecError::datum(
                    K::Unresolvable("bad promotion".into()),
                    start,
                ));
            }
        })
    }
}

/// Skips one value of writer node `id`.
fn skip(g: &SchemaGraph, id: NodeId, c: &mut Cursor<'_>, depth: usize) -> Result<(), CodecError> {
    if depth >= MAX_DEPTH {
        return c.err(K::TooDeep);
    }
    match g.node(id) {
        Node::Null => {}
        Node::Boolean => {
            c.boolean()?;
        }
        Node::Int
        | Node::Long
        | Node::Date
        | Node::TimeMillis
        | Node::TimeMicros
        | Node::TimestampMillis
        | Node::TimestampMicros
        | Node::TimestampNanos
        | Node::LocalTimestampMillis
        | Node::LocalTimestampMicros
        | Node::LocalTimestampNanos => {
            c.long()?;
        }
        Node::Enum(_) => {
            c.long()?;
        }
        Node::Float => {
            c.fixed(4)?;
        }
        Node::Double => {
            c.fixed(8)?;
        }
        Node::Bytes | Node::String | Node::UuidString | Node::Decimal { fixed: None, .. } => {
            c.bytes()?;
        }
        Node::Fixed(f)
        | Node::UuidFixed(f)
        | Node::Duration(f)
        | Node::Decimal { fixed: Some(f), .. } => {
            c.fixed(f.size)?;
        }
        Node::Record(r) => {
            for f in r.fields.iter() {
                skip(g, f.node, c, depth + 1)?;
            }
        }
        Node::Union(b) => {
            let n = c.branch(b)?;
            skip(g, n, c, depth + 1)?;
        }
        Node::Array(item) => {
            let empty = g.can_be_empty(*item);
            let mut total = 0usize;
            loop {
                let n = c.block(empty, total)?;
                if n == 0 {
                    break;
                }
                total += n;
                for _ in 0..n {
                    skip(g, *item, c, depth + 1)?;
                }
            }
        }
        Node::Map(v) => {
            let mut total = 0usize;
            loop {
                let n = c.block(false, total)?;
                if n == 0 {
                    break;
                }
                total += n;
                for _ in 0..n {
                    c.bytes()?;
                    skip(g, *v, c, depth + 1)?;
                }
            }
        }
    }
    Ok(())
}

type ResErr = (FieldPath, String);

fn res_err<T>(reason: impl Into<String>) -> Result<T, ResErr> {
    Err((FieldPath::root(), reason.into()))
}

fn describe(n: &Node) -> String {
    match n.name() {
        Some(name) => format!("{:?} {}", n.phys(), name).to_lowercase(),
        None => format!("{:?}", n.phys()).to_lowercase(),
    }
}

impl Resolver<'_> {
    fn push(&mut self, op: Op) -> OpId {
        self.ops.push(op);
        self.ops.len() - 1
    }

    fn resolve(&mut self, w: NodeId, r: NodeId) -> Result<OpId, ResErr> {
        if let Some(&id) = self.memo.get(&(w, r)) {
            return Ok(id);
        }
        let wn = self.w.node(w).clone();
        let rn = self.r.node(r).clone();
        // a writer union: resolve every branch (failures only matter if used)
        if let Node::Union(wb) = &wn {
            let id = self.push(Op::Pending);
            self.memo.insert((w, r), id);
            let mut ops = Vec::with_capacity(wb.len());
            for &b in wb.iter() {
                let op = match self.resolve(b, r) {
                    Ok(op) => op,
                    Err((_, why)) => self.push(Op::Fail(why)),
                };
                ops.push(op);
            }
            self.ops[id] = Op::Union(ops.into_boxed_slice());
            return Ok(id);
        }
        // a reader union: the first branch that fits the writer type
        if let Node::Union(rb) = &rn {
            let wp = wn.phys();
            let pick = rb
                .iter()
                .find(|&&b| {
                    let n = self.r.node(b);
                    n.phys() == wp && names_match(&wn, n)
                })
                .or_else(|| rb.iter().find(|&&b| promotable(wp, self.r.node(b).phys())))
                .copied();
            return match pick {
                Some(b) => self.resolve(w, b),
                None => res_err(format!(
                    "writer type {} matches no branch of the reader union",
                    describe(&wn)
                )),
            };
        }
        let wp = wn.phys();
        let rp = rn.phys();
        if !promotable(wp, rp) {
            return res_err(format!(
                "writer type {} cannot be read as {}",
                describe(&wn),
                describe(&rn)
            ));
        }
        if !names_match(&wn, &rn) {
            return res_err(format!(
                "writer type {} and reader type {} have different names",
                describe(&wn),
                describe(&rn)
            ));
        }
        if wp != rp {
            let id = self.push(Op::Convert {
                from: wp,
                to: rn.clone(),
            });
            self.memo.insert((w, r), id);
            return Ok(id);
        }
        let op = match (&wn, &rn) {
            (Node::Record(wr), Node::Record(rr)) => {
                let id = self.push(Op::Pending);
                self.memo.insert((w, r), id);
                let mut fields = Vec::with_capacity(wr.fields.len());
                let mut matched = vec![false; rr.fields.len()];
                let mut direct = wr.fields.len() == rr.fields.len();
                for (wi, wf) in wr.fields.iter().enumerate() {
                    let slot = rr
                        .fields
                        .iter()
                        .position(|rf| rf.name == wf.name)
                        .or_else(|| {
                            rr.fields
                                .iter()
                                .position(|rf| rf.aliases.contains(&wf.name))
                        });
                    match slot {
                        Some(slot) => {
                            let rf = &rr.fields[slot];
                            let op = self.resolve(wf.node, rf.node).map_err(|(mut p, why)| {
                                p.push_front(PathSegment::Field(rf.name.to_string()));
                                (p, why)
                            })?;
                            if matched[slot] {
                                return res_err(format!(
                                    "two writer fields map to reader field {}",
                                    rf.name
                                ));
                            }
                            matched[slot] = true;
                            direct &= slot == wi && rf.name == wf.name;
                            fields.push(FieldOp::Read {
                                slot,
                                op,
                                name: rf.name,
                            });
                        }
                        None => {
                            direct = false;
                            fields.push(FieldOp::Skip {
                                node: wf.node,
                                name: wf.name,
                            });
                        }
                    }
                }
                let mut defaults = Vec::new();
                for (slot, rf) in rr.fields.iter().enumerate() {
                    if !matched[slot] {
                        match &rf.default {
                            Some(d) => defaults.push((slot, d.clone())),
                            None => {
                                let mut p = FieldPath::root();
                                p.push(PathSegment::Field(rf.name.to_string()));
                                return Err((
                                    p,
                                    "reader field has no default and the writer does not have it"
                                        .into(),
                                ));
                            }
                        }
                    }
                }
                self.ops[id] = Op::Record(RecordOp {
                    name: rr.name,
                    fields: fields.into_boxed_slice(),
                    out_names: rr.fields.iter().map(|f| f.name).collect(),
                    defaults: defaults.into_boxed_slice(),
                    direct,
                });
                return Ok(id);
            }
            (Node::Enum(we), Node::Enum(re)) => {
                let same = we.symbols == re.symbols;
                let map = if same {
                    None
                } else {
                    Some(
                        we.symbols
                            .iter()
                            .map(|s| {
                                re.symbols
                                    .iter()
                                    .position(|r| r == s)
                                    .map(|p| p as u32)
                                    .or(re.default)
                            })
                            .collect(),
                    )
                };
                Op::Enum {
                    symbols: re.symbols.clone(),
                    map,
                }
            }
            (Node::Array(wi), Node::Array(ri)) => {
                let id = self.push(Op::Pending);
                self.memo.insert((w, r), id);
                let item = self.resolve(*wi, *ri).map_err(|(mut p, why)| {
                    p.push_front(PathSegment::Index(0));
                    (p, why)
                })?;
                self.ops[id] = Op::Array {
                    item,
                    may_be_empty: self.w.can_be_empty(*wi),
                };
                return Ok(id);
            }
            (Node::Map(wv), Node::Map(rv)) => {
                let id = self.push(Op::Pending);
                self.memo.insert((w, r), id);
                let value = self.resolve(*wv, *rv)?;
                self.ops[id] = Op::Map { value };
                return Ok(id);
            }
            // same physical type: the reader's logical type decides the value
            (_, Node::Null) => Op::Null,
            (_, Node::Boolean) => Op::Boolean,
            (_, Node::Int) => Op::Int,
            (_, Node::Long) => Op::Long,
            (_, Node::Float) => Op::Float,
            (_, Node::Double) => Op::Double,
            (_, Node::Bytes) => Op::Bytes,
            (_, Node::String) => Op::String,
            (_, Node::Fixed(f)) => Op::Fixed(f.size),
            (Node::Decimal { scale: ws, .. }, Node::Decimal { scale, fixed, .. })
                if ws != scale =>
            {
                // scales differ: the logical type is ignored (spec)
                match fixed {
                    Some(f) => Op::Fixed(f.size),
                    None => Op::Bytes,
                }
            }
            (_, Node::Decimal { scale, fixed, .. }) => Op::Decimal {
                scale: *scale,
                fixed: fixed.as_ref().map(|f| f.size),
            },
            (_, Node::UuidString) => Op::UuidString,
            (_, Node::UuidFixed(f)) if f.size == 16 => Op::UuidFixed,
            (_, Node::UuidFixed(f)) => Op::Fixed(f.size),
            (_, Node::Date) => Op::Date,
            (_, Node::TimeMillis) => Op::TimeMillis,
            (_, Node::TimeMicros) => Op::TimeMicros,
            (_, Node::TimestampMillis) => Op::TimestampMillis,
            (_, Node::TimestampMicros) => Op::TimestampMicros,
            (_, Node::TimestampNanos) => Op::TimestampNanos,
            (_, Node::LocalTimestampMillis) => Op::LocalTimestampMillis,
            (_, Node::LocalTimestampMicros) => Op::LocalTimestampMicros,
            (_, Node::LocalTimestampNanos) => Op::LocalTimestampNanos,
            (_, Node::Duration(f)) if f.size == 12 => Op::Duration,
            (_, Node::Duration(f)) => Op::Fixed(f.size),
            _ => {
                return res_err(format!(
                    "writer type {} cannot be read as {}",
                    describe(&wn),
                    describe(&rn)
                ));
            }
        };
        let id = self.push(op);
        self.memo.insert((w, r), id);
        Ok(id)
    }
}
