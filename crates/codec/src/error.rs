//! The crate's one error type, [`CodecError`], and what the pipeline does with it.

use std::fmt;

use crate::resolver::{ResolveError, SchemaRef};

/// What the pipeline should do with a record whose processing failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Disposition {
    /// The record itself is bad: send it to the dead-letter queue and go on.
    Poison,
    /// A dependency (the registry) failed: back off and retry the same record.
    Retriable,
    /// Configuration or programming error: stop in order.
    Fatal,
}

/// Where in a datum an error happened: field names, map keys and array
/// indices from the root, rendered as `device.battery_pct`, `tags["tz"]`,
/// `items[3]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<PathSegment>);

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A record field.
    Field(String),
    /// A map key.
    Key(String),
    /// An array index.
    Index(usize),
    /// A union branch (by its index in the union).
    Branch(usize),
}

impl FieldPath {
    /// The empty path (the datum's root).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// The segments, root first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// Whether this is the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a segment above the existing ones (errors are built while
    /// unwinding, innermost first).
    pub(crate) fn push_front(&mut self, seg: PathSegment) {
        self.0.insert(0, seg);
    }

    pub(crate) fn push(&mut self, seg: PathSegment) {
        self.0.push(seg);
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("<root>");
        }
        let mut first = true;
        for seg in &self.0 {
            match seg {
                PathSegment::Field(n) => {
                    if !first {
                        f.write_str(".")?;
                    }
                    f.write_str(n)?;
                }
                PathSegment::Key(k) => write!(f, "[{k:?}]")?,
                PathSegment::Index(i) => write!(f, "[{i}]")?,
                PathSegment::Branch(b) => write!(f, "<branch {b}>")?,
            }
            first = false;
        }
        Ok(())
    }
}

/// What was wrong with the bytes of an Avro datum.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatumErrorKind {
    /// The input ended before the datum did.
    Truncated,
    /// A variable-length integer ran over 10 bytes or over 64 bits.
    VarintOverflow,
    /// A length or count prefix was negative where that is not allowed.
    NegativeLength(i64),
    /// A length or count larger than the bytes left (or than the cap for
    /// zero-sized items): rejected before allocating anything.
    LengthOutOfRange {
        /// The length the data claimed.
        claimed: i64,
        /// How many bytes were left.
        remaining: usize,
    },
    /// A string that is not UTF-8.
    InvalidUtf8,
    /// A union branch index outside the union.
    UnionBranchOutOfRange {
        /// The index read.
        index: i64,
        /// The number of branches.
        branches: usize,
    },
    /// An enum index outside the symbols.
    EnumIndexOutOfRange {
        /// The index read.
        index: i64,
        /// The number of symbols.
        symbols: usize,
    },
    /// A boolean byte other than 0 or 1.
    InvalidBoolean(u8),
    /// An int value outside the 32-bit range.
    IntOutOfRange(i64),
    /// Bytes left after the datum ended.
    TrailingBytes(usize),
    /// Nesting deeper than the decoder allows (recursive schemas).
    TooDeep,
    /// A logical-type value that is not valid (e.g. a malformed uuid string).
    InvalidLogical(String),
    /// The writer's data cannot be read under the reader schema (an enum
    /// symbol unknown to the reader without a default, a union branch with
    /// no match in the reader).
    Unresolvable(String),
}

impl fmt::Display for DatumErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input ends before the datum"),
            Self::VarintOverflow => f.write_str("variable-length integer overflows 64 bits"),
            Self::NegativeLength(n) => write!(f, "negative length {n}"),
            Self::LengthOutOfRange { claimed, remaining } => {
                write!(f, "length {claimed} exceeds the {remaining} bytes left")
            }
            Self::InvalidUtf8 => f.write_str("string is not valid utf-8"),
            Self::UnionBranchOutOfRange { index, branches } => {
                write!(
                    f,
                    "union branch {index} out of range (union has {branches})"
                )
            }
            Self::EnumIndexOutOfRange { index, symbols } => {
                write!(f, "enum index {index} out of range ({symbols} symbols)")
            }
            Self::InvalidBoolean(b) => write!(f, "invalid boolean byte {b:#04x}"),
            Self::IntOutOfRange(v) => write!(f, "int value {v} out of 32-bit range"),
            Self::TrailingBytes(n) => write!(f, "{n} trailing bytes after the datum"),
            Self::TooDeep => f.write_str("datum nested too deeply"),
            Self::InvalidLogical(m) => write!(f, "invalid logical value: {m}"),
            Self::Unresolvable(m) => write!(f, "cannot resolve writer data to reader schema: {m}"),
        }
    }
}

/// What was wrong with the framing in front of (or beside) a datum.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameErrorKind {
    /// The payload is shorter than its header.
    Truncated {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes there were.
        got: usize,
    },
    /// The first byte is no known magic byte.
    UnknownMagic(u8),
    /// A schema-id header whose value is malformed.
    BadHeader(&'static str),
    /// An empty payload where one is required (a null key or value).
    Missing,
    /// A single-object fingerprint that matches no known schema.
    UnknownFingerprint(u64),
}

impl fmt::Display for FrameErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, got } => {
                write!(
                    f,
                    "payload of {got} bytes is shorter than its {needed}-byte header"
                )
            }
            Self::UnknownMagic(b) => write!(f, "unknown magic byte {b:#04x}"),
            Self::BadHeader(name) => write!(f, "malformed schema-id header {name}"),
            Self::Missing => f.write_str("payload is missing (null)"),
            Self::UnknownFingerprint(fp) => write!(f, "unknown schema fingerprint {fp:#018x}"),
        }
    }
}

/// Errors of this crate. Every variant says what failed and where; see
/// [`CodecError::disposition`] for what the pipeline should do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The wire framing (magic byte, schema id, headers) is invalid.
    #[error("decode frame: {kind}")]
    DecodeFrame {
        /// What was wrong.
        kind: FrameErrorKind,
    },
    /// The schema for a record could not be obtained from the resolver.
    #[error("resolve schema {schema}: {source}")]
    ResolveSchema {
        /// Which schema was asked for.
        schema: SchemaRef,
        /// The resolver's error (carries poison / retriable).
        #[source]
        source: ResolveError,
    },
    /// Registering or looking up the output schema failed.
    #[error("register output schema under subject {subject:?}: {source}")]
    RegisterSchema {
        /// The subject.
        subject: String,
        /// The resolver's error.
        #[source]
        source: ResolveError,
    },
    /// A schema could not be parsed or compiled.
    #[error("parse schema: {reason}")]
    ParseSchema {
        /// Why.
        reason: String,
    },
    /// A writer schema is incompatible with the configured reader schema.
    #[error("resolve writer schema {writer} to reader schema: {reason} at {path}")]
    ResolveReader {
        /// The writer schema's identity.
        writer: SchemaRef,
        /// Where in the schema.
        path: FieldPath,
        /// Why.
        reason: String,
    },
    /// The bytes of an Avro datum do not match its schema.
    #[error("decode avro datum: {kind} at byte {offset}, field {path}")]
    DecodeDatum {
        /// What was wrong.
        kind: DatumErrorKind,
        /// Byte offset in the whole payload (framing included).
        offset: usize,
        /// Field path from the record root.
        path: FieldPath,
    },
    /// A value does not fit the schema it is encoded with.
    #[error("encode avro datum: {reason} at field {path}")]
    EncodeDatum {
        /// Why.
        reason: String,
        /// Field path from the record root.
        path: FieldPath,
    },
    /// A payload is not valid JSON, or JSON does not fit its schema.
    #[error("decode json: {reason} at {path} (line {line}, column {column})")]
    DecodeJson {
        /// Why.
        reason: String,
        /// Field path, when a schema directed the parse.
        path: FieldPath,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
    },
    /// A value cannot be rendered as JSON (e.g. a non-finite float).
    #[error("encode json: {reason} at {path}")]
    EncodeJson {
        /// Why.
        reason: String,
        /// Field path.
        path: FieldPath,
    },
    /// A UTF-8 string payload is not UTF-8.
    #[error("decode string: invalid utf-8 at byte {offset}")]
    DecodeString {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// A typed (serde) decode failed.
    #[error("decode typed value: {reason}")]
    DecodeTyped {
        /// serde_avro_fast's message.
        reason: String,
    },
    /// A typed (serde) encode failed.
    #[error("encode typed value: {reason}")]
    EncodeTyped {
        /// serde_avro_fast's message.
        reason: String,
    },
    /// A value edit (set / remove / rename by path) could not be applied.
    #[error("edit value at {path:?}: {reason}")]
    EditValue {
        /// The path as written.
        path: String,
        /// Why.
        reason: String,
    },
    /// The codec was asked to do something its configuration does not allow
    /// (encode Avro without an output schema, ...).
    #[error("codec configuration: {reason}")]
    Config {
        /// Why.
        reason: String,
    },
}

impl CodecError {
    /// What the pipeline should do with the record.
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::ResolveSchema { source, .. } | Self::RegisterSchema { source, .. } => {
                source.disposition()
            }
            Self::ParseSchema { .. } | Self::Config { .. } => Disposition::Fatal,
            // an encode failure is about this record's (transformed) value
            Self::EncodeDatum { .. }
            | Self::EncodeJson { .. }
            | Self::EncodeTyped { .. }
            | Self::EditValue { .. } => Disposition::Poison,
            Self::DecodeFrame { .. }
            | Self::ResolveReader { .. }
            | Self::DecodeDatum { .. }
            | Self::DecodeJson { .. }
            | Self::DecodeString { .. }
            | Self::DecodeTyped { .. } => Disposition::Poison,
        }
    }

    /// The record should go to the dead-letter queue.
    pub fn is_poison(&self) -> bool {
        self.disposition() == Disposition::Poison
    }

    /// The same record may succeed later (registry unreachable).
    pub fn is_retriable(&self) -> bool {
        self.disposition() == Disposition::Retriable
    }

    /// The datum error kind, when this is a [`CodecError::DecodeDatum`].
    pub fn datum_kind(&self) -> Option<&DatumErrorKind> {
        match self {
            Self::DecodeDatum { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// The field path the error refers to, when it has one.
    pub fn path(&self) -> Option<&FieldPath> {
        match self {
            Self::DecodeDatum { path, .. }
            | Self::EncodeDatum { path, .. }
            | Self::DecodeJson { path, .. }
            | Self::EncodeJson { path, .. }
            | Self::ResolveReader { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Shifts a datum error's byte offset by `by` (the framing in front of it).
    pub(crate) fn offset_by(mut self, by: usize) -> Self {
        if let Self::DecodeDatum { offset, .. } = &mut self {
            *offset += by;
        }
        self
    }

    /// Adds a path segment above the existing ones (while unwinding).
    pub(crate) fn within(mut self, seg: PathSegment) -> Self {
        match &mut self {
            Self::DecodeDatum { path, .. }
            | Self::EncodeDatum { path, .. }
            | Self::DecodeJson { path, .. }
            | Self::EncodeJson { path, .. }
            | Self::ResolveReader { path, .. } => path.push_front(seg),
            _ => {}
        }
        self
    }

    pub(crate) fn frame(kind: FrameErrorKind) -> Self {
        Self::DecodeFrame { kind }
    }

    pub(crate) fn datum(kind: DatumErrorKind, offset: usize) -> Self {
        Self::DecodeDatum {
            kind,
            offset,
            path: FieldPath::root(),
        }
    }

    pub(crate) fn encode(reason: impl Into<String>) -> Self {
        Self::EncodeDatum {
            reason: reason.into(),
            path: FieldPath::root(),
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Self::Config {
            reason: reason.into(),
        }
    }

    pub(crate) fn parse_schema(reason: impl fmt::Display) -> Self {
        Self::ParseSchema {
            reason: reason.to_string(),
        }
    }
}
