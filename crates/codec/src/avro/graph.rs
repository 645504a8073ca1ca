//! A schema compiled once into an arena of nodes (named references become
//! indices, so recursive schemas work), with names interned and field
//! defaults converted to values. Both the decode plans and the encoder walk
//! this graph; nothing here is re-parsed per message.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{InnerDecimalSchema, UuidSchema};

use crate::error::{CodecError, PathSegment};
use crate::intern::intern;
use crate::value::Value;

pub(crate) type NodeId = usize;

/// A compiled schema: `nodes[root]` is the top-level type.
#[derive(Debug)]
pub struct SchemaGraph {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: NodeId,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(NodeId),
    Map(NodeId),
    Union(Box<[NodeId]>),
    Record(RecordNode),
    Enum(EnumNode),
    Fixed(FixedNode),
    Decimal {
        scale: u32,
        precision: usize,
        fixed: Option<FixedNode>,
    },
    UuidString,
    UuidFixed(FixedNode),
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
    TimestampNanos,
    LocalTimestampMillis,
    LocalTimestampMicros,
    LocalTimestampNanos,
    Duration(FixedNode),
}

#[derive(Debug, Clone)]
pub(crate) struct RecordNode {
    pub name: &'static str,
    pub aliases: Vec<&'static str>,
    pub fields: Box<[FieldNode]>,
}

#[derive(Debug, Clone)]
pub(crate) struct FieldNode {
    pub name: &'static str,
    pub aliases: Vec<&'static str>,
    pub node: NodeId,
    pub default_json: Option<serde_json::Value>,
    pub default: Option<Value<'static>>,
}

#[derive(Debug, Clone)]
pub(crate) struct EnumNode {
    pub name: &'static str,
    pub aliases: Vec<&'static str>,
    pub symbols: Box<[&'static str]>,
    pub default: Option<u32>,
}

#[derive(Debug, Clone)]
pub(crate) struct FixedNode {
    pub name: &'static str,
    pub aliases: Vec<&'static str>,
    pub size: usize,
}

/// The physical (wire) type of a node, ignoring logical annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phys {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(usize),
    Enum,
    Array,
    Map,
    Record,
    Union,
}

impl Node {
    pub(crate) fn phys(&self) -> Phys {
        match self {
            Node::Null => Phys::Null,
            Node::Boolean => Phys::Boolean,
            Node::Int | Node::Date | Node::TimeMillis => Phys::Int,
            Node::Long
            | Node::TimeMicros
            | Node::TimestampMillis
            | Node::TimestampMicros
            | Node::TimestampNanos
            | Node::LocalTimestampMillis
            | Node::LocalTimestampMicros
            | Node::LocalTimestampNanos => Phys::Long,
            Node::Float => Phys::Float,
            Node::Double => Phys::Double,
            Node::Bytes | Node::Decimal { fixed: None, .. } => Phys::Bytes,
            Node::String | Node::UuidString => Phys::String,
            Node::Fixed(f) | Node::UuidFixed(f) | Node::Duration(f) => Phys::Fixed(f.size),
            Node::Decimal { fixed: Some(f), .. } => Phys::Fixed(f.size),
            Node::Enum(_) => Phys::Enum,
            Node::Array(_) => Phys::Array,
            Node::Map(_) => Phys::Map,
            Node::Record(_) => Phys::Record,
            Node::Union(_) => Phys::Union,
        }
    }

    /// The full name of a named type (record, enum, fixed and the logical
    /// types over fixed).
    pub(crate) fn name(&self) -> Option<&'static str> {
        match self {
            Node::Record(r) => Some(r.name),
            Node::Enum(e) => Some(e.name),
            Node::Fixed(f) | Node::UuidFixed(f) | Node::Duration(f) => Some(f.name),
            Node::Decimal { fixed: Some(f), .. } => Some(f.name),
            _ => None,
        }
    }

    pub(crate) fn aliases(&self) -> &[&'static str] {
        match self {
            Node::Record(r) => &r.aliases,
            Node::Enum(e) => &e.aliases,
            Node::Fixed(f) | Node::UuidFixed(f) | Node::Duration(f) => &f.aliases,
            Node::Decimal { fixed: Some(f), .. } => &f.aliases,
            _ => &[],
        }
    }

    /// The name a union branch of this type has in the Avro JSON encoding.
    pub(crate) fn json_branch_name(&self) -> &'static str {
        if let Some(n) = self.name() {
            return n;
        }
        match self.phys() {
            Phys::Null => "null",
            Phys::Boolean => "boolean",
            Phys::Int => "int",
            Phys::Long => "long",
            Phys::Float => "float",
            Phys::Double => "double",
            Phys::Bytes => "bytes",
            Phys::String => "string",
            Phys::Array => "array",
            Phys::Map => "map",
            _ => "unknown",
        }
    }
}

impl SchemaGraph {
    /// Compiles `schema`, whose named references may point into `references`.
    pub fn compile(schema: &Schema, references: &[Schema]) -> Result<SchemaGraph, CodecError> {
        let mut b = Builder {
            nodes: Vec::new(),
            names: HashMap::new(),
        };
        for r in references {
            b.build(r, 0)?;
        }
        let root = b.build(schema, 0)?;
        let mut g = SchemaGraph {
            nodes: b.nodes,
            root,
        };
        g.compute_defaults()?;
        Ok(g)
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    fn compute_defaults(&mut self) -> Result<(), CodecError> {
        for i in 0..self.nodes.len() {
            let Node::Record(r) = &self.nodes[i] else {
                continue;
            };
            let mut defaults = Vec::new();
            for f in r.fields.iter() {
                let d = match &f.default_json {
                    Some(j) => Some(crate::json::avro_default_to_value(self, f.node, j).map_err(
                        |e| {
                            CodecError::parse_schema(format!(
                                "default of field {}.{} does not fit its type: {e}",
                                r.name, f.name
                            ))
                        },
                    )?),
                    None => None,
                };
                defaults.push(d);
            }
            if let Node::Record(r) = &mut self.nodes[i] {
                for (f, d) in r.fields.iter_mut().zip(defaults) {
                    f.default = d;
                }
            }
        }
        Ok(())
    }

    /// Whether a value of this node can take zero bytes on the wire (so a
    /// block count cannot be checked against the bytes left).
    pub(crate) fn can_be_empty(&self, id: NodeId) -> bool {
        let mut seen = vec![false; self.nodes.len()];
        self.can_be_empty_inner(id, &mut seen)
    }

    fn can_be_empty_inner(&self, id: NodeId, seen: &mut [bool]) -> bool {
        if seen[id] {
            // a cycle: a recursive record needs at least one byte somewhere
            // to stop, but be conservative
            return true;
        }
        seen[id] = true;
        let r = match &self.nodes[id] {
            Node::Null => true,
            Node::Fixed(f) => f.size == 0,
            Node::Decimal { fixed: Some(f), .. } => f.size == 0,
            Node::Record(r) => r
                .fields
                .iter()
                .all(|f| self.can_be_empty_inner(f.node, seen)),
            _ => false,
        };
        seen[id] = false;
        r
    }
}

struct Builder {
    nodes: Vec<Node>,
    names: HashMap<String, NodeId>,
}

const MAX_SCHEMA_DEPTH: usize = 200;

fn aliases_of(a: &Option<Vec<apache_avro::schema::Alias>>, ns: Option<&str>) -> Vec<&'static str> {
    a.as_ref()
        .map(|v| v.iter().map(|a| intern(&a.fullname(ns))).collect())
        .unwrap_or_default()
}

fn fixed_node(f: &apache_avro::schema::FixedSchema) -> FixedNode {
    let ns = f.name.namespace();
    FixedNode {
        name: intern(&f.name.fullname(None)),
        aliases: aliases_of(&f.aliases, ns),
        size: f.size,
    }
}

impl Builder {
    fn push(&mut self, n: Node) -> NodeId {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn named(
        &mut self,
        name: &apache_avro::schema::Name,
        node: Node,
    ) -> Result<NodeId, CodecError> {
        let id = self.push(node);
        self.names.insert(name.fullname(None), id);
        Ok(id)
    }

    fn build(&mut self, s: &Schema, depth: usize) -> Result<NodeId, CodecError> {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(CodecError::parse_schema("schema nested too deeply"));
        }
        Ok(match s {
            Schema::Null => self.push(Node::Null),
            Schema::Boolean => self.push(Node::Boolean),
            Schema::Int => self.push(Node::Int),
            Schema::Long => self.push(Node::Long),
            Schema::Float => self.push(Node::Float),
            Schema::Double => self.push(Node::Double),
            Schema::Bytes | Schema::BigDecimal => self.push(Node::Bytes),
            Schema::String => self.push(Node::String),
            Schema::Array(a) => {
                let item = self.build(&a.items, depth + 1)?;
                self.push(Node::Array(item))
            }
            Schema::Map(m) => {
                let v = self.build(&m.types, depth + 1)?;
                self.push(Node::Map(v))
            }
            Schema::Union(u) => {
                let mut branches = Vec::with_capacity(u.variants().len());
                for v in u.variants() {
                    branches.push(self.build(v, depth + 1)?);
                }
                self.push(Node::Union(branches.into_boxed_slice()))
            }
            Schema::Record(r) => {
                let ns = r.name.namespace();
                let id = self.named(&r.name, Node::Null)?;
                let mut fields = Vec::with_capacity(r.fields.len());
                for f in &r.fields {
                    let node = self
                        .build(&f.schema, depth + 1)
                        .map_err(|e| e.within(PathSegment::Field(f.name.clone())))?;
                    fields.push(FieldNode {
                        name: intern(&f.name),
                        aliases: f.aliases.iter().map(|a| intern(a)).collect(),
                        node,
                        default_json: f.default.clone(),
                        default: None,
                    });
                }
                self.nodes[id] = Node::Record(RecordNode {
                    name: intern(&r.name.fullname(None)),
                    aliases: aliases_of(&r.aliases, ns),
                    fields: fields.into_boxed_slice(),
                });
                id
            }
            Schema::Enum(e) => {
                let ns = e.name.namespace();
                let symbols: Box<[&'static str]> = e.symbols.iter().map(|s| intern(s)).collect();
                let default = match &e.default {
                    Some(d) => Some(symbols.iter().position(|s| s == d).ok_or_else(|| {
                        CodecError::parse_schema(format!("enum default {d:?} is not a symbol"))
                    })? as u32),
                    None => None,
                };
                let node = Node::Enum(EnumNode {
                    name: intern(&e.name.fullname(None)),
                    aliases: aliases_of(&e.aliases, ns),
                    symbols,
                    default,
                });
                self.named(&e.name, node)?
            }
            Schema::Fixed(f) => self.named(&f.name, Node::Fixed(fixed_node(f)))?,
            Schema::Decimal(d) => {
                let scale = u32::try_from(d.scale)
                    .map_err(|_| CodecError::parse_schema("decimal scale too large"))?;
                match &d.inner {
                    InnerDecimalSchema::Bytes => self.push(Node::Decimal {
                        scale,
                        precision: d.precision,
                        fixed: None,
                    }),
                    InnerDecimalSchema::Fixed(f) => {
                        let node = Node::Decimal {
                            scale,
                            precision: d.precision,
                            fixed: Some(fixed_node(f)),
                        };
                        self.named(&f.name, node)?
                    }
                }
            }
            Schema::Uuid(u) => match u {
                UuidSchema::String => self.push(Node::UuidString),
                UuidSchema::Fixed(f) => self.named(&f.name, Node::UuidFixed(fixed_node(f)))?,
                UuidSchema::Bytes => self.push(Node::Bytes),
            },
            Schema::Date => self.push(Node::Date),
            Schema::TimeMillis => self.push(Node::TimeMillis),
            Schema::TimeMicros => self.push(Node::TimeMicros),
            Schema::TimestampMillis => self.push(Node::TimestampMillis),
            Schema::TimestampMicros => self.push(Node::TimestampMicros),
            Schema::TimestampNanos => self.push(Node::TimestampNanos),
            Schema::LocalTimestampMillis => self.push(Node::LocalTimestampMillis),
            Schema::LocalTimestampMicros => self.push(Node::LocalTimestampMicros),
            Schema::LocalTimestampNanos => self.push(Node::LocalTimestampNanos),
            Schema::Duration(f) => self.named(&f.name, Node::Duration(fixed_node(f)))?,
            Schema::Ref { name } => {
                let full = name.fullname(None);
                *self
                    .names
                    .get(&full)
                    .ok_or_else(|| CodecError::parse_schema(format!("unknown type {full:?}")))?
            }
        })
    }
}
