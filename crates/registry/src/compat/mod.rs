//! Avro schema compatibility engine (the Avro specification's schema
//! resolution rules), independent of any HTTP or storage code so that the
//! client, the embedded server and the offline `kbridge schema check` share it.
//!
//! Interface contract (used by the embedded registry and the CLI):
//! - [`CompatibilityLevel`]: NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD,
//!   FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE (serde, [`FromStr`] and
//!   [`Display`](fmt::Display) in that SCREAMING_SNAKE_CASE spelling, as
//!   Confluent's API uses).
//! - [`check`]`(level, new, previous)`: `previous` is ordered oldest → newest;
//!   non-transitive levels only look at the last one. Returns every
//!   [`Incompatibility`] found (empty = compatible).
//! - [`check_with_references`]: the same for schemas whose named types come
//!   from other schemas (Confluent schema references).
//! - [`check_reader_writer`]: the primitive — can `reader` read what
//!   `writer` wrote?
//! - [`check_files`]: the offline check of `.avsc` files behind
//!   `kbridge schema check --against old.avsc new.avsc`.
//! - [`Incompatibility::confluent_error`] and [`confluent_messages`]: the
//!   verbose wording of Confluent Schema Registry.
//!
//! # Rules
//! A reader can read a writer's data when (Avro specification, "Schema
//! Resolution", as implemented by Avro Java's `SchemaCompatibility`):
//! - both are the same primitive, or the writer's is promotable:
//!   int → long, float, double; long → float, double; float → double;
//!   string ↔ bytes;
//! - logical types are checked as their underlying type (`date` as int,
//!   `timestamp-millis` as long, `decimal` as bytes or fixed, …); a changed
//!   decimal precision or scale is not reported, as in Avro Java;
//! - records, enums and fixed have matching names: equal unqualified names,
//!   or a reader alias (qualified with the reader's namespace unless it has
//!   its own) equal to the writer's full name;
//! - record fields are matched by name, then by the reader field's aliases;
//!   a reader field without a writer counterpart needs a default; writer
//!   fields unknown to the reader are skipped;
//! - every writer enum symbol is a reader symbol, unless the reader enum has
//!   a default symbol;
//! - fixed sizes are equal;
//! - arrays and maps: items and values resolve;
//! - a writer union: every branch is readable by the reader; a reader union:
//!   some branch reads the writer's type;
//! - recursive types: a record pair met again while it is being checked is
//!   assumed compatible (it is being proved just above). Every pair of
//!   schema nodes is checked once, so the work on untrusted schemas is
//!   bounded by the product of their sizes.
//!
//! # Paths
//! [`Incompatibility::path`] is a JSON pointer in Avro Java's (and so
//! Confluent's) convention: `/fields/<i>` is the position of the field in
//! the **reader** record, `/type` enters the field's type, `/items` and
//! `/values` enter arrays and maps, a bare number is the branch of the
//! **writer's** union, and `/name`, `/size`, `/symbols` point at the
//! attribute of a named type. For BACKWARD the reader is the new schema, for
//! FORWARD the old one. [`Incompatibility::field`] gives the same place by
//! field names (`device.battery_pct`).
//!
//! Differences from Avro Java: a reader field missing from the writer with
//! no default is always READER_FIELD_MISSING_DEFAULT_VALUE (Java reports a
//! TYPE_MISMATCH when that field is an enum with a default symbol); a reader
//! field whose name and alias both match writer fields reads the one with
//! its name (Java throws); a reference to a named type that is not defined
//! (a schema reference the caller did not pass) is reported as
//! UNRESOLVED_NAMED_TYPE.

mod files;
mod resolve;

use std::fmt;
use std::str::FromStr;

use apache_avro::Schema;
use serde::{Deserialize, Serialize};

pub use files::{CompatError, check_files, parse_schema_file};

use resolve::{Checker, Names, Raw};

/// Compatibility level of a subject or of the registry as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatibilityLevel {
    None,
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    /// Every level, in Confluent's documentation order.
    pub const ALL: [CompatibilityLevel; 7] = [
        CompatibilityLevel::None,
        CompatibilityLevel::Backward,
        CompatibilityLevel::BackwardTransitive,
        CompatibilityLevel::Forward,
        CompatibilityLevel::ForwardTransitive,
        CompatibilityLevel::Full,
        CompatibilityLevel::FullTransitive,
    ];

    /// The SCREAMING_SNAKE_CASE name Confluent's API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::None => "NONE",
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether every previous schema is checked, not only the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Whether the new schema must read data written with previous ones.
    pub fn checks_backward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Backward
                | CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Whether previous schemas must read data written with the new one.
    pub fn checks_forward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Forward
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CompatibilityLevel {
    type Err = CompatError;

    /// Accepts Confluent's names in any letter case (`backward_transitive`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CompatibilityLevel::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| CompatError::ParseLevel {
                value: s.to_owned(),
            })
    }
}

/// Confluent's `errorType` of an incompatibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum IncompatibilityKind {
    /// Named types (record, enum, fixed) whose names and aliases differ.
    NameMismatch,
    /// Fixed types of different sizes.
    FixedSizeMismatch,
    /// Writer enum symbols the reader does not know (and no reader default).
    MissingEnumSymbols,
    /// A reader field absent from the writer that has no default.
    ReaderFieldMissingDefaultValue,
    /// Types that do not resolve (e.g. string read as int).
    TypeMismatch,
    /// A writer type no branch of the reader's union can read.
    MissingUnionBranch,
    /// A reference to a named type that is not defined (kbridge only: a
    /// schema reference was not supplied).
    UnresolvedNamedType,
}

impl IncompatibilityKind {
    /// The SCREAMING_SNAKE_CASE name Confluent reports as `errorType`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncompatibilityKind::NameMismatch => "NAME_MISMATCH",
            IncompatibilityKind::FixedSizeMismatch => "FIXED_SIZE_MISMATCH",
            IncompatibilityKind::MissingEnumSymbols => "MISSING_ENUM_SYMBOLS",
            IncompatibilityKind::ReaderFieldMissingDefaultValue => {
                "READER_FIELD_MISSING_DEFAULT_VALUE"
            }
            IncompatibilityKind::TypeMismatch => "TYPE_MISMATCH",
            IncompatibilityKind::MissingUnionBranch => "MISSING_UNION_BRANCH",
            IncompatibilityKind::UnresolvedNamedType => "UNRESOLVED_NAMED_TYPE",
        }
    }

    /// Confluent's description, with `reader`/`writer` the words naming the
    /// two schemas ("new"/"old" or "reader"/"writer").
    fn describe(self, path: &str, info: &str, reader: &str, writer: &str) -> String {
        match self {
            IncompatibilityKind::NameMismatch => {
                format!("The name of the schema has changed (path '{path}')")
            }
            IncompatibilityKind::FixedSizeMismatch => format!(
                "The size of FIXED type field at path '{path}' in the {reader} schema does not match with the {writer} schema"
            ),
            IncompatibilityKind::MissingEnumSymbols => format!(
                "The {reader} schema is missing enum symbols '{info}' at path '{path}' in the {writer} schema"
            ),
            IncompatibilityKind::ReaderFieldMissingDefaultValue => format!(
                "The field '{info}' at path '{path}' in the {reader} schema has no default value and is missing in the {writer} schema"
            ),
            IncompatibilityKind::TypeMismatch => format!(
                "The type (path '{path}') of a field in the {reader} schema does not match with the {writer} schema"
            ),
            IncompatibilityKind::MissingUnionBranch => format!(
                "The {reader} schema is missing a type inside a union field at path '{path}' in the {writer} schema"
            ),
            IncompatibilityKind::UnresolvedNamedType => format!(
                "The named type '{info}' at path '{path}' is not defined in the {reader} or {writer} schema (missing schema reference?)"
            ),
        }
    }
}

impl fmt::Display for IncompatibilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason why a schema is not compatible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incompatibility {
    /// Confluent-style error type, e.g. `READER_FIELD_MISSING_DEFAULT_VALUE`
    /// (an [`IncompatibilityKind::as_str`]).
    pub kind: String,
    /// JSON pointer of the offending element in the reader schema (see the
    /// module docs), e.g. `/fields/3/type/symbols`.
    pub path: String,
    /// Human-readable explanation, Confluent's `description`, e.g. "The field
    /// 'processed_at' at path '/fields/15' in the new schema has no default
    /// value and is missing in the old schema".
    pub message: String,
    /// Avro's detail, Confluent's `additionalInfo`: the field name, the
    /// missing symbols `[A, B]`, `reader type: STRING not compatible with
    /// writer type: INT`, `expected: <writer full name>`, …
    #[serde(default)]
    pub additional_info: String,
    /// The same place as `path` by reader field names: `device.battery_pct`,
    /// `readings[].value`; empty at the root.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field: String,
    /// Index in `previous` of the schema this was found against (`None` for
    /// [`check_reader_writer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_index: Option<usize>,
}

impl Incompatibility {
    fn from_raw(raw: &Raw, reader: &str, writer: &str, previous_index: Option<usize>) -> Self {
        let path = raw.path();
        Incompatibility {
            kind: raw.kind.as_str().to_owned(),
            message: raw.kind.describe(&path, &raw.info, reader, writer),
            path,
            additional_info: raw.info.clone(),
            field: raw.field(),
            previous_index,
        }
    }

    /// Whether this is an incompatibility of the given kind.
    pub fn is(&self, kind: IncompatibilityKind) -> bool {
        self.kind == kind.as_str()
    }

    /// Confluent's verbose entry:
    /// `{errorType:'…', description:'…', additionalInfo:'…'}`.
    pub fn confluent_error(&self) -> String {
        format!(
            "{{errorType:'{}', description:'{}', additionalInfo:'{}'}}",
            self.kind, self.message, self.additional_info
        )
    }
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if !self.additional_info.is_empty() {
            write!(f, " ({})", self.additional_info)?;
        }
        if !self.field.is_empty() {
            write!(f, " [field {}]", self.field)?;
        }
        Ok(())
    }
}

/// A schema together with the schemas defining the named types it refers to
/// (Confluent schema references, parsed with
/// [`Schema::parse_str_with_list`]).
#[derive(Debug, Clone, Copy)]
pub struct SchemaWithReferences<'a> {
    /// The schema itself.
    pub schema: &'a Schema,
    /// Schemas that define named types `schema` refers to.
    pub references: &'a [Schema],
}

impl<'a> From<&'a Schema> for SchemaWithReferences<'a> {
    fn from(schema: &'a Schema) -> Self {
        SchemaWithReferences {
            schema,
            references: &[],
        }
    }
}

/// Checks `new` against `previous` (oldest → newest) at `level`.
///
/// Non-transitive levels check the last previous schema only; transitive
/// ones check all of them, newest first. FULL levels report the backward
/// findings (new reads old) before the forward ones (old reads new) for each
/// previous schema. An empty result means compatible.
pub fn check(level: CompatibilityLevel, new: &Schema, previous: &[Schema]) -> Vec<Incompatibility> {
    let previous: Vec<SchemaWithReferences<'_>> = previous.iter().map(Into::into).collect();
    check_with_references(level, new.into(), &previous)
}

/// [`check`] for schemas with references.
pub fn check_with_references(
    level: CompatibilityLevel,
    new: SchemaWithReferences<'_>,
    previous: &[SchemaWithReferences<'_>],
) -> Vec<Incompatibility> {
    let indices: Vec<usize> = match level {
        CompatibilityLevel::None => Vec::new(),
        _ if level.is_transitive() => (0..previous.len()).rev().collect(),
        _ => previous.len().checked_sub(1).into_iter().collect(),
    };
    let mut found = Vec::new();
    for index in indices {
        let Some(old) = previous.get(index) else {
            continue;
        };
        if level.checks_backward() {
            found.extend(
                reader_writer(new, *old)
                    .iter()
                    .map(|raw| Incompatibility::from_raw(raw, "new", "old", Some(index))),
            );
        }
        if level.checks_forward() {
            found.extend(
                reader_writer(*old, new)
                    .iter()
                    .map(|raw| Incompatibility::from_raw(raw, "old", "new", Some(index))),
            );
        }
    }
    found
}

/// Every reason why data written with `writer` cannot be read with `reader`
/// (messages name them "reader" and "writer").
pub fn check_reader_writer(reader: &Schema, writer: &Schema) -> Vec<Incompatibility> {
    reader_writer(reader.into(), writer.into())
        .iter()
        .map(|raw| Incompatibility::from_raw(raw, "reader", "writer", None))
        .collect()
}

fn reader_writer(reader: SchemaWithReferences<'_>, writer: SchemaWithReferences<'_>) -> Vec<Raw> {
    let reader_names = Names::collect(reader.schema, reader.references);
    let writer_names = Names::collect(writer.schema, writer.references);
    Checker::new(reader_names, writer_names).check(reader.schema, writer.schema)
}

/// A previous version as Confluent's verbose messages name it.
#[derive(Debug, Clone, Copy)]
pub struct PreviousVersion<'a> {
    /// The subject version number.
    pub version: i32,
    /// The schema text as registered.
    pub schema: &'a str,
}

/// Confluent's verbose `messages` for a compatibility answer (also the
/// `details` of a 409 on register): for each previous schema with findings,
/// its [`Incompatibility::confluent_error`]s then `{oldSchemaVersion: N}` and
/// `{oldSchema: '…'}`; finally `{validateFields: 'false', compatibility:
/// 'LEVEL'}`. `previous` is indexed like the slice given to [`check`].
/// Empty when `incompatibilities` is.
pub fn confluent_messages(
    level: CompatibilityLevel,
    incompatibilities: &[Incompatibility],
    previous: &[PreviousVersion<'_>],
) -> Vec<String> {
    if incompatibilities.is_empty() {
        return Vec::new();
    }
    let mut messages = Vec::new();
    let mut groups: Vec<Option<usize>> = Vec::new();
    for incompatibility in incompatibilities {
        if !groups.contains(&incompatibility.previous_index) {
            groups.push(incompatibility.previous_index);
        }
    }
    for group in groups {
        messages.extend(
            incompatibilities
                .iter()
                .filter(|i| i.previous_index == group)
                .map(Incompatibility::confluent_error),
        );
        if let Some(old) = group.and_then(|index| previous.get(index)) {
            messages.push(format!("{{oldSchemaVersion: {}}}", old.version));
            messages.push(format!("{{oldSchema: '{}'}}", old.schema));
        }
    }
    messages.push(format!(
        "{{validateFields: 'false', compatibility: '{level}'}}"
    ));
    messages
}
