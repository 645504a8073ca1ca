//! The reader/writer check: can data written with `writer` always be read
//! with `reader`? This follows the Avro specification's "Schema Resolution"
//! section and the rule set of Avro Java's `SchemaCompatibility` (which
//! Confluent Schema Registry uses), so that kinds, paths and detail strings
//! match what a Confluent registry reports.
//!
//! Paths are JSON pointers built the way Avro Java builds them: `fields/<i>`
//! is the position of the field in the *reader* record, `type` enters a
//! field's type, `items`/`values` enter array items and map values, a bare
//! number is the branch index of the *writer's* union, and `name`, `size`,
//! `symbols` point at the offending attribute of a named type.

use std::collections::HashMap;

use apache_avro::Schema;
use apache_avro::schema::{
    EnumSchema, FixedSchema, InnerDecimalSchema, Name, RecordField, RecordSchema, UuidSchema,
};

use super::IncompatibilityKind;

/// Named types reachable from one schema (its own definitions plus those of
/// the schemas it references), by full name and by fully qualified alias.
#[derive(Debug, Default)]
pub(crate) struct Names<'a> {
    by_name: HashMap<Name, &'a Schema>,
}

impl<'a> Names<'a> {
    /// Collects every named definition in `schema` and in `references`.
    pub(crate) fn collect(schema: &'a Schema, references: &'a [Schema]) -> Self {
        let mut names = Names::default();
        for s in references.iter().chain(std::iter::once(schema)) {
            names.walk(s);
        }
        names
    }

    fn define(
        &mut self,
        name: &Name,
        aliases: Option<&Vec<apache_avro::schema::Alias>>,
        def: &'a Schema,
    ) {
        // First definition wins: a schema may not define a full name twice,
        // and a referenced definition must not be shadowed by an alias.
        self.by_name.entry(name.clone()).or_insert(def);
        for alias in aliases.into_iter().flatten() {
            let full = alias.fully_qualified_name(name.namespace()).into_owned();
            self.by_name.entry(full).or_insert(def);
        }
    }

    fn walk(&mut self, schema: &'a Schema) {
        match schema {
            Schema::Record(r) => {
                if self.by_name.contains_key(&r.name) {
                    return;
                }
                self.define(&r.name, r.aliases.as_ref(), schema);
                for field in &r.fields {
                    self.walk(&field.schema);
                }
            }
            Schema::Enum(e) => self.define(&e.name, e.aliases.as_ref(), schema),
            Schema::Fixed(f)
            | Schema::Duration(f)
            | Schema::Uuid(UuidSchema::Fixed(f))
            | Schema::Decimal(apache_avro::schema::DecimalSchema {
                inner: InnerDecimalSchema::Fixed(f),
                ..
            }) => self.define(&f.name, f.aliases.as_ref(), schema),
            Schema::Array(a) => self.walk(&a.items),
            Schema::Map(m) => self.walk(&m.types),
            Schema::Union(u) => {
                for variant in u.variants() {
                    self.walk(variant);
                }
            }
            _ => {}
        }
    }

    fn get(&self, name: &Name) -> Option<&'a Schema> {
        self.by_name.get(name).copied()
    }
}

/// A schema reduced to what resolution looks at: logical types become their
/// underlying type and references are replaced by their definition.
#[derive(Debug, Clone, Copy)]
enum Ty<'a> {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(&'a Schema),
    Map(&'a Schema),
    Union(&'a [Schema]),
    Record(&'a RecordSchema),
    Enum(&'a EnumSchema),
    Fixed(&'a FixedSchema),
    Unresolved(&'a Name),
}

impl Ty<'_> {
    /// Avro Java's `Schema.Type` name, used in detail strings.
    fn type_name(&self) -> &'static str {
        match self {
            Ty::Null => "NULL",
            Ty::Boolean => "BOOLEAN",
            Ty::Int => "INT",
            Ty::Long => "LONG",
            Ty::Float => "FLOAT",
            Ty::Double => "DOUBLE",
            Ty::Bytes => "BYTES",
            Ty::String => "STRING",
            Ty::Array(_) => "ARRAY",
            Ty::Map(_) => "MAP",
            Ty::Union(_) => "UNION",
            Ty::Record(_) => "RECORD",
            Ty::Enum(_) => "ENUM",
            Ty::Fixed(_) => "FIXED",
            Ty::Unresolved(_) => "UNRESOLVED",
        }
    }
}

fn lower_definition<'a>(schema: &'a Schema) -> Ty<'a> {
    match schema {
        Schema::Null => Ty::Null,
        Schema::Boolean => Ty::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Ty::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Ty::Long,
        Schema::Float => Ty::Float,
        Schema::Double => Ty::Double,
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => Ty::Bytes,
        Schema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Bytes => Ty::Bytes,
            InnerDecimalSchema::Fixed(f) => Ty::Fixed(f),
        },
        Schema::String | Schema::Uuid(UuidSchema::String) => Ty::String,
        Schema::Uuid(UuidSchema::Fixed(f)) | Schema::Fixed(f) | Schema::Duration(f) => Ty::Fixed(f),
        Schema::Array(a) => Ty::Array(&a.items),
        Schema::Map(m) => Ty::Map(&m.types),
        Schema::Union(u) => Ty::Union(u.variants()),
        Schema::Record(r) => Ty::Record(r),
        Schema::Enum(e) => Ty::Enum(e),
        // A definition is never a reference; treat a dangling one as unresolved.
        Schema::Ref { name } => Ty::Unresolved(name),
    }
}

fn lower<'a>(schema: &'a Schema, names: &Names<'a>) -> Ty<'a> {
    match schema {
        Schema::Ref { name } => match names.get(name) {
            Some(def) => lower_definition(def),
            None => Ty::Unresolved(name),
        },
        other => lower_definition(other),
    }
}

/// One incompatibility before it is worded for a direction (new/old).
/// Paths are stored reversed so that prefixing on the way up is a push.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub(crate) kind: IncompatibilityKind,
    rev_path: Vec<String>,
    rev_fields: Vec<String>,
    pub(crate) info: String,
}

impl Raw {
    fn new(kind: IncompatibilityKind, info: String) -> Self {
        Raw {
            kind,
            rev_path: Vec::new(),
            rev_fields: Vec::new(),
            info,
        }
    }

    fn at(mut self, segment: &str) -> Self {
        self.rev_path.push(segment.to_owned());
        self
    }

    fn in_field(mut self, field: &str) -> Self {
        self.rev_fields.push(field.to_owned());
        self
    }

    /// JSON pointer (RFC 6901) of the offending element, `/` for the root.
    pub(crate) fn path(&self) -> String {
        if self.rev_path.is_empty() {
            return "/".to_owned();
        }
        let mut out = String::new();
        for segment in self.rev_path.iter().rev() {
            out.push('/');
            out.push_str(&segment.replace('~', "~0").replace('/', "~1"));
        }
        out
    }

    /// Dotted reader field names from the root record, `[]` for array items
    /// and `{}` for map values (e.g. `device.battery_pct`, `readings[].value`).
    pub(crate) fn field(&self) -> String {
        let mut out = String::new();
        for part in self.rev_fields.iter().rev() {
            if !out.is_empty() && part != "[]" && part != "{}" {
                out.push('.');
            }
            out.push_str(part);
        }
        out
    }
}

fn prefixed(raws: Vec<Raw>, segments: &[&str], field: Option<&str>) -> Vec<Raw> {
    raws.into_iter()
        .map(|mut raw| {
            for segment in segments.iter().rev() {
                raw = raw.at(segment);
            }
            if let Some(field) = field {
                raw = raw.in_field(field);
            }
            raw
        })
        .collect()
}

#[derive(Debug)]
enum Memo {
    InProgress,
    Done(Vec<Raw>),
}

/// Checks one reader/writer pair. Pairs of nodes and pairs of record
/// definitions are memoised by identity: a pair met again while being
/// checked (a recursive type) is assumed compatible, as in Avro Java, and a
/// finished pair is not checked twice (its findings are reused with the
/// path of the new occurrence).
#[derive(Debug)]
pub(crate) struct Checker<'a> {
    reader_names: Names<'a>,
    writer_names: Names<'a>,
    memo: HashMap<(usize, usize), Memo>,
    nodes: HashMap<(usize, usize), Memo>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(reader_names: Names<'a>, writer_names: Names<'a>) -> Self {
        Checker {
            reader_names,
            writer_names,
            memo: HashMap::new(),
            nodes: HashMap::new(),
        }
    }

    /// Every reason why `writer` data cannot be read with `reader`.
    ///
    /// Memoised by node identity like the record pairs, so that each pair of
    /// schema nodes is checked once: nested unions of an array and a map
    /// would otherwise be walked along every one of their 2^depth paths.
    pub(crate) fn check(&mut self, reader: &'a Schema, writer: &'a Schema) -> Vec<Raw> {
        let key = (
            std::ptr::from_ref(reader) as usize,
            std::ptr::from_ref(writer) as usize,
        );
        match self.nodes.get(&key) {
            Some(Memo::InProgress) => return Vec::new(),
            Some(Memo::Done(found)) => return found.clone(),
            None => {}
        }
        self.nodes.insert(key, Memo::InProgress);
        let found = self.calculate(reader, writer);
        self.nodes.insert(key, Memo::Done(found.clone()));
        found
    }

    fn calculate(&mut self, reader: &'a Schema, writer: &'a Schema) -> Vec<Raw> {
        let r = lower(reader, &self.reader_names);
        let w = lower(writer, &self.writer_names);
        match (r, w) {
            (Ty::Unresolved(name), _) | (_, Ty::Unresolved(name)) => {
                vec![Raw::new(
                    IncompatibilityKind::UnresolvedNamedType,
                    name.to_string(),
                )]
            }
            (Ty::Null, Ty::Null)
            | (Ty::Boolean, Ty::Boolean)
            | (Ty::Int, Ty::Int)
            | (Ty::Long, Ty::Long)
            | (Ty::Float, Ty::Float)
            | (Ty::Double, Ty::Double)
            | (Ty::Bytes, Ty::Bytes)
            | (Ty::String, Ty::String) => Vec::new(),
            (Ty::Array(ri), Ty::Array(wi)) => {
                let found = self.check(ri, wi);
                prefixed(found, &["items"], Some("[]"))
            }
            (Ty::Map(rv), Ty::Map(wv)) => {
                let found = self.check(rv, wv);
                prefixed(found, &["values"], Some("{}"))
            }
            (Ty::Fixed(rf), Ty::Fixed(wf)) => {
                let mut found = check_names(&rf.name, rf.aliases.as_ref(), &wf.name);
                if rf.size != wf.size {
                    found.push(
                        Raw::new(
                            IncompatibilityKind::FixedSizeMismatch,
                            format!("expected: {}, found: {}", wf.size, rf.size),
                        )
                        .at("size"),
                    );
                }
                found
            }
            (Ty::Enum(re), Ty::Enum(we)) => {
                let mut found = check_names(&re.name, re.aliases.as_ref(), &we.name);
                found.extend(check_enum_symbols(re, we));
                found
            }
            (Ty::Record(rr), Ty::Record(wr)) => self.check_records(rr, wr),
            (Ty::Union(_), Ty::Union(writer_branches)) => {
                // Every branch the writer may pick must be readable.
                let mut found = Vec::new();
                for (index, branch) in writer_branches.iter().enumerate() {
                    if !self.check(reader, branch).is_empty() {
                        let branch_type = lower(branch, &self.writer_names).type_name();
                        found.push(
                            Raw::new(
                                IncompatibilityKind::MissingUnionBranch,
                                format!("reader union lacking writer type: {branch_type}"),
                            )
                            .at(&index.to_string()),
                        );
                    }
                }
                found
            }
            (_, Ty::Union(writer_branches)) => {
                let mut found = Vec::new();
                for (index, branch) in writer_branches.iter().enumerate() {
                    let inner = self.check(reader, branch);
                    found.extend(prefixed(inner, &[&index.to_string()], None));
                }
                found
            }
            (Ty::Union(reader_branches), w) => {
                // The writer's type must be readable by some reader branch.
                for branch in reader_branches {
                    if self.check(branch, writer).is_empty() {
                        return Vec::new();
                    }
                }
                vec![Raw::new(
                    IncompatibilityKind::MissingUnionBranch,
                    format!("reader union lacking writer type: {}", w.type_name()),
                )]
            }
            // Promotions of the specification.
            (Ty::Long, Ty::Int)
            | (Ty::Float, Ty::Int | Ty::Long)
            | (Ty::Double, Ty::Int | Ty::Long | Ty::Float)
            | (Ty::Bytes, Ty::String)
            | (Ty::String, Ty::Bytes) => Vec::new(),
            (r, w) => vec![Raw::new(
                IncompatibilityKind::TypeMismatch,
                format!(
                    "reader type: {} not compatible with writer type: {}",
                    r.type_name(),
                    w.type_name()
                ),
            )],
        }
    }

    fn check_records(&mut self, reader: &'a RecordSchema, writer: &'a RecordSchema) -> Vec<Raw> {
        let key = (
            std::ptr::from_ref(reader) as usize,
            std::ptr::from_ref(writer) as usize,
        );
        match self.memo.get(&key) {
            Some(Memo::InProgress) => return Vec::new(),
            Some(Memo::Done(found)) => return found.clone(),
            None => {}
        }
        self.memo.insert(key, Memo::InProgress);

        let mut found = check_names(&reader.name, reader.aliases.as_ref(), &writer.name);
        for (position, reader_field) in reader.fields.iter().enumerate() {
            let position = position.to_string();
            match lookup_writer_field(writer, reader_field) {
                Some(writer_field) => {
                    let inner = self.check(&reader_field.schema, &writer_field.schema);
                    found.extend(prefixed(
                        inner,
                        &["fields", &position, "type"],
                        Some(&reader_field.name),
                    ));
                }
                None if reader_field.default.is_none() => found.push(
                    Raw::new(
                        IncompatibilityKind::ReaderFieldMissingDefaultValue,
                        reader_field.name.clone(),
                    )
                    .at(&position)
                    .at("fields")
                    .in_field(&reader_field.name),
                ),
                None => {}
            }
        }
        self.memo.insert(key, Memo::Done(found.clone()));
        found
    }
}

/// Named types match when their unqualified names are equal or when one of
/// the reader's aliases (qualified with the reader's namespace unless it
/// has its own) is the writer's full name.
fn names_match(
    reader: &Name,
    reader_aliases: Option<&Vec<apache_avro::schema::Alias>>,
    writer: &Name,
) -> bool {
    reader.name() == writer.name()
        || reader_aliases
            .into_iter()
            .flatten()
            .any(|alias| alias.fully_qualified_name(reader.namespace()).as_ref() == writer)
}

fn check_names(
    reader: &Name,
    reader_aliases: Option<&Vec<apache_avro::schema::Alias>>,
    writer: &Name,
) -> Vec<Raw> {
    if names_match(reader, reader_aliases, writer) {
        Vec::new()
    } else {
        vec![
            Raw::new(
                IncompatibilityKind::NameMismatch,
                format!("expected: {writer}"),
            )
            .at("name"),
        ]
    }
}

/// Writer symbols unknown to the reader are an error unless the reader enum
/// has a default symbol (which it then reads instead).
fn check_enum_symbols(reader: &EnumSchema, writer: &EnumSchema) -> Vec<Raw> {
    let mut missing: Vec<&str> = writer
        .symbols
        .iter()
        .filter(|symbol| !reader.symbols.contains(symbol))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let reader_default_usable = reader
        .default
        .as_ref()
        .is_some_and(|default| reader.symbols.contains(default));
    if reader_default_usable {
        return Vec::new();
    }
    missing.sort_unstable();
    missing.dedup();
    vec![
        Raw::new(
            IncompatibilityKind::MissingEnumSymbols,
            format!("[{}]", missing.join(", ")),
        )
        .at("symbols"),
    ]
}

/// The writer field a reader field reads: the one with the reader field's
/// name, else the first one named by a reader alias.
fn lookup_writer_field<'w>(
    writer: &'w RecordSchema,
    reader_field: &RecordField,
) -> Option<&'w RecordField> {
    let by_name = |name: &str| writer.fields.iter().find(|field| field.name == name);
    by_name(&reader_field.name)
        .or_else(|| reader_field.aliases.iter().find_map(|alias| by_name(alias)))
}
