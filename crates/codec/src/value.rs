//! The record value model transforms read and change.
//!
//! A [`Value`] is either an Avro datum (decoded through a compiled schema)
//! or a JSON document: records and JSON objects are both
//! [`Value::Record`], so a transform works on either. Strings and bytes
//! borrow from the input buffer ([`Cow::Borrowed`]) until a transform
//! replaces them with owned data. Unions carry no wrapper: the value is the
//! branch's value, and the encoder picks the branch from the value's type
//! (and a record's name when a union holds several records), which makes
//! re-encoding under the same schema byte-exact.

use std::borrow::Cow;
use std::fmt;

use crate::error::CodecError;

/// A decoded datum or JSON document.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// Avro `null` / JSON `null`.
    Null,
    /// `boolean`.
    Boolean(bool),
    /// `int`.
    Int(i32),
    /// `long` (JSON integers decode to this).
    Long(i64),
    /// `float`.
    Float(f32),
    /// `double` (JSON non-integer numbers decode to this).
    Double(f64),
    /// `bytes`.
    Bytes(Cow<'a, [u8]>),
    /// `string`.
    String(Cow<'a, str>),
    /// `fixed`.
    Fixed(Cow<'a, [u8]>),
    /// `enum`: the symbol's index in the schema it was read with (a hint;
    /// the encoder goes by the symbol) and the symbol.
    Enum(u32, Cow<'a, str>),
    /// `array`.
    Array(Vec<Value<'a>>),
    /// `map` (keys in wire order).
    Map(Fields<'a>),
    /// `record`, or a JSON object.
    Record(Record<'a>),
    /// `decimal` logical type (over bytes or fixed), exact.
    Decimal(Decimal<'a>),
    /// `uuid` logical type (over string or fixed(16)).
    Uuid(uuid::Uuid),
    /// `date`: days since 1970-01-01.
    Date(i32),
    /// `time-millis`: milliseconds after midnight.
    TimeMillis(i32),
    /// `time-micros`: microseconds after midnight.
    TimeMicros(i64),
    /// `timestamp-millis`: milliseconds since the epoch, UTC.
    TimestampMillis(i64),
    /// `timestamp-micros`.
    TimestampMicros(i64),
    /// `timestamp-nanos`.
    TimestampNanos(i64),
    /// `local-timestamp-millis`: milliseconds since the epoch, local time.
    LocalTimestampMillis(i64),
    /// `local-timestamp-micros`.
    LocalTimestampMicros(i64),
    /// `local-timestamp-nanos`.
    LocalTimestampNanos(i64),
    /// `duration` logical type (fixed(12)).
    Duration(Duration),
}

/// A record: its schema's full name (when it came from Avro) and its
/// fields in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record<'a> {
    /// The record schema's full name; `None` for JSON objects and records
    /// built by hand. Used to pick a union branch among several records.
    pub name: Option<&'static str>,
    /// The fields, in schema order (or document order for JSON).
    pub fields: Fields<'a>,
}

/// One record field or map entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<'a> {
    /// Field name or map key.
    pub name: Cow<'a, str>,
    /// The value.
    pub value: Value<'a>,
}

/// Ordered named values: record fields, map entries, JSON object members.
/// Lookups are linear scans (records have tens of fields; no hash map per
/// record).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fields<'a>(pub Vec<Field<'a>>);

/// An exact decimal: two's-complement big-endian unscaled integer and scale.
/// Equality is numeric at the same scale (sign extension does not matter).
#[derive(Debug, Clone)]
pub struct Decimal<'a> {
    /// Two's-complement big-endian bytes of the unscaled value.
    pub unscaled: Cow<'a, [u8]>,
    /// Digits after the decimal point.
    pub scale: u32,
}

/// The Avro `duration` logical type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Duration {
    /// Months.
    pub months: u32,
    /// Days.
    pub days: u32,
    /// Milliseconds.
    pub millis: u32,
}

// --------------------------------------------------------------- Fields

impl<'a> Fields<'a> {
    /// No fields.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// No fields, room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Field<'a>> {
        self.0.iter()
    }

    /// The fields in order, mutable.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Field<'a>> {
        self.0.iter_mut()
    }

    /// Position of the field called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|f| f.name == name)
    }

    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.0.iter().find(|f| f.name == name).map(|f| &f.value)
    }

    /// The value of field `name`, mutable.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value<'a>> {
        self.0
            .iter_mut()
            .find(|f| f.name == name)
            .map(|f| &mut f.value)
    }

    /// Sets field `name`: replaces the value in place (returning the old
    /// one) or appends a new field.
    pub fn insert(&mut self, name: impl Into<Cow<'a, str>>, value: Value<'a>) -> Option<Value<'a>> {
        let name = name.into();
        match self.0.iter_mut().find(|f| f.name == name) {
            Some(f) => Some(std::mem::replace(&mut f.value, value)),
            None => {
                self.0.push(Field { name, value });
                None
            }
        }
    }

    /// Appends a field without checking for a duplicate name.
    pub fn push(&mut self, name: impl Into<Cow<'a, str>>, value: Value<'a>) {
        self.0.push(Field {
            name: name.into(),
            value,
        });
    }

    /// Removes field `name`, keeping the others in order.
    pub fn remove(&mut self, name: &str) -> Option<Value<'a>> {
        let i = self.position(name)?;
        Some(self.0.remove(i).value)
    }

    /// Renames field `from` to `to` in place; false if there is no `from`.
    /// An existing field called `to` is removed first.
    pub fn rename(&mut self, from: &str, to: impl Into<Cow<'a, str>>) -> bool {
        let to = to.into();
        if from == to {
            return self.position(from).is_some();
        }
        if self.position(from).is_none() {
            return false;
        }
        if let Some(j) = self.position(&to) {
            self.0.remove(j);
        }
        match self.0.iter_mut().find(|f| f.name == from) {
            Some(f) => {
                f.name = to;
                true
            }
            None => false,
        }
    }

    /// Copies every borrowed string and byte slice.
    pub fn into_owned(self) -> Fields<'static> {
        Fields(
            self.0
                .into_iter()
                .map(|f| Field {
                    name: Cow::Owned(f.name.into_owned()),
                    value: f.value.into_owned(),
                })
                .collect(),
        )
    }
}

impl<'a> FromIterator<(Cow<'a, str>, Value<'a>)> for Fields<'a> {
    fn from_iter<T: IntoIterator<Item = (Cow<'a, str>, Value<'a>)>>(iter: T) -> Self {
        Self(
            iter.into_iter()
                .map(|(name, value)| Field { name, value })
                .collect(),
        )
    }
}

impl<'a> Record<'a> {
    /// An unnamed record with no fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// A record from `(name, value)` pairs.
    pub fn from_fields<N: Into<Cow<'a, str>>>(
        fields: impl IntoIterator<Item = (N, Value<'a>)>,
    ) -> Self {
        Self {
            name: None,
            fields: Fields(
                fields
                    .into_iter()
                    .map(|(n, value)| Field {
                        name: n.into(),
                        value,
                    })
                    .collect(),
            ),
        }
    }

    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.fields.get(name)
    }

    /// The value of field `name`, mutable.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value<'a>> {
        self.fields.get_mut(name)
    }

    /// Sets field `name` (see [`Fields::insert`]).
    pub fn insert(&mut self, name: impl Into<Cow<'a, str>>, value: Value<'a>) -> Option<Value<'a>> {
        self.fields.insert(name, value)
    }

    /// Removes field `name`.
    pub fn remove(&mut self, name: &str) -> Option<Value<'a>> {
        self.fields.remove(name)
    }

    /// Renames a field in place.
    pub fn rename(&mut self, from: &str, to: impl Into<Cow<'a, str>>) -> bool {
        self.fields.rename(from, to)
    }

    /// Copies every borrowed string and byte slice.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            name: self.name,
            fields: self.fields.into_owned(),
        }
    }
}

// --------------------------------------------------------------- Decimal

/// The shortest two's-complement form of the same integer.
pub(crate) fn minimal_twos_complement(mut b: &[u8]) -> &[u8] {
    while let [first, second, ..] = b {
        let redundant =
            (*first == 0 && second & 0x80 == 0) || (*first == 0xff && second & 0x80 != 0);
        if !redundant {
            break;
        }
        b = &b[1..];
    }
    b
}

impl PartialEq for Decimal<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.scale == other.scale
            && minimal_twos_complement(&self.unscaled) == minimal_twos_complement(&other.unscaled)
    }
}

impl Eq for Decimal<'_> {}

impl Decimal<'_> {
    /// The unscaled integer.
    pub fn unscaled_bigint(&self) -> num_bigint::BigInt {
        num_bigint::BigInt::from_signed_bytes_be(&self.unscaled)
    }

    /// Builds a decimal from an unscaled integer and a scale.
    pub fn from_bigint(unscaled: &num_bigint::BigInt, scale: u32) -> Decimal<'static> {
        Decimal {
            unscaled: Cow::Owned(unscaled.to_signed_bytes_be()),
            scale,
        }
    }

    /// Parses `"-12.345"` exactly at `scale` digits after the point
    /// (fewer digits are padded; more are an error: no rounding).
    pub fn parse(text: &str, scale: u32) -> Result<Decimal<'static>, String> {
        let t = text.trim();
        let (neg, digits) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        let ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !ok(int) || !ok(frac) {
            return Err(format!("{text:?} is not a decimal number"));
        }
        let frac_trimmed = frac.trim_end_matches('0');
        if frac_trimmed.len() > scale as usize {
            return Err(format!(
                "{text:?} has more than {scale} digits after the point"
            ));
        }
        let mut s = String::with_capacity(int.len() + scale as usize + 1);
        if neg {
            s.push('-');
        }
        s.push_str(if int.is_empty() { "0" } else { int });
        s.push_str(frac_trimmed);
        for _ in frac_trimmed.len()..scale as usize {
            s.push('0');
        }
        let n: num_bigint::BigInt = s
            .parse()
            .map_err(|_| format!("{text:?} is not a decimal number"))?;
        Ok(Decimal::from_bigint(&n, scale))
    }

    /// Copies borrowed bytes.
    pub fn into_owned(self) -> Decimal<'static> {
        Decimal {
            unscaled: Cow::Owned(self.unscaled.into_owned()),
            scale: self.scale,
        }
    }

    /// Number of decimal digits of the unscaled value.
    pub fn digits(&self) -> usize {
        let n = self.unscaled_bigint();
        let s = n.magnitude().to_str_radix(10);
        if s == "0" { 1 } else { s.len() }
    }
}

impl fmt::Display for Decimal<'_> {
    /// The exact decimal string: `-12.345`, `0.05`, `100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.unscaled_bigint();
        let digits = n.magnitude().to_str_radix(10);
        if n.sign() == num_bigint::Sign::Minus {
            f.write_str("-")?;
        }
        let scale = self.scale as usize;
        if scale == 0 {
            return f.write_str(&digits);
        }
        if digits.len() > scale {
            let (i, fr) = digits.split_at(digits.len() - scale);
            write!(f, "{i}.{fr}")
        } else {
            f.write_str("0.")?;
            for _ in digits.len()..scale {
                f.write_str("0")?;
            }
            f.write_str(&digits)
        }
    }
}

// ----------------------------------------------------------------- Path

/// A parsed field path: `device.battery_pct`, `tags["app.version"]`,
/// `readings[0].value`. Parse once ([`Path::parse`]) and reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    segments: Vec<Seg>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Name(String),
    Index(usize),
}

impl Path {
    /// Parses a path. Names are separated by `.`; `[n]` indexes an array;
    /// `["key"]` names a field or map key that contains dots or brackets.
    pub fn parse(text: &str) -> Result<Path, CodecError> {
        let bad = |why: &str| CodecError::EditValue {
            path: text.to_string(),
            reason: why.to_string(),
        };
        let mut segments = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        let mut expect_name = true;
        while i < b.len() {
            match b.get(i) {
                Some(b'.') if !expect_name => {
                    i += 1;
                    expect_name = true;
                    if i >= b.len() {
                        return Err(bad("path ends with '.'"));
                    }
                }
                Some(b'[') => {
                    let rest = text.get(i + 1..).unwrap_or("");
                    if let Some(q) = rest.strip_prefix('"') {
                        let end = q.find("\"]").ok_or_else(|| bad("unclosed [\"...\"]"))?;
                        segments.push(Seg::Name(q[..end].to_string()));
                        i += 1 + 1 + end + 2;
                    } else {
                        let end = rest.find(']').ok_or_else(|| bad("unclosed [...]"))?;
                        let n = rest[..end]
                            .parse::<usize>()
                            .map_err(|_| bad("array index is not a number"))?;
                        segments.push(Seg::Index(n));
                        i += 1 + end + 1;
                    }
                    expect_name = false;
                }
                Some(_) if expect_name => {
                    let rest = &text[i..];
                    let end = rest.find(['.', '[']).unwrap_or(rest.len());
                    if end == 0 {
                        return Err(bad("empty field name"));
                    }
                    segments.push(Seg::Name(rest[..end].to_string()));
                    i += end;
                    expect_name = false;
                }
                _ => return Err(bad("expected '.' or '['")),
            }
        }
        if segments.is_empty() {
            return Err(bad("empty path"));
        }
        Ok(Path {
            segments,
            text: text.to_string(),
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The last segment's name, when it is a name.
    pub fn leaf_name(&self) -> Option<&str> {
        match self.segments.last() {
            Some(Seg::Name(n)) => Some(n),
            _ => None,
        }
    }

    fn parent(&self) -> &[Seg] {
        &self.segments[..self.segments.len() - 1]
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Path {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Path::parse(s)
    }
}

// ---------------------------------------------------------------- Value

impl<'a> Value<'a> {
    /// A string value borrowing `s`.
    pub fn str(s: &'a str) -> Self {
        Value::String(Cow::Borrowed(s))
    }

    /// The Avro type name of this value (for messages).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "boolean",
            Value::Int(_) => "int",
            Value::Long(_) => "long",
            Value::Float(_) => "float",
            Value::Double(_) => "double",
            Value::Bytes(_) => "bytes",
            Value::String(_) => "string",
            Value::Fixed(_) => "fixed",
            Value::Enum(..) => "enum",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Record(_) => "record",
            Value::Decimal(_) => "decimal",
            Value::Uuid(_) => "uuid",
            Value::Date(_) => "date",
            Value::TimeMillis(_) => "time-millis",
            Value::TimeMicros(_) => "time-micros",
            Value::TimestampMillis(_) => "timestamp-millis",
            Value::TimestampMicros(_) => "timestamp-micros",
            Value::TimestampNanos(_) => "timestamp-nanos",
            Value::LocalTimestampMillis(_) => "local-timestamp-millis",
            Value::LocalTimestampMicros(_) => "local-timestamp-micros",
            Value::LocalTimestampNanos(_) => "local-timestamp-nanos",
            Value::Duration(_) => "duration",
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string of a `string` or `enum` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Enum(_, s) => Some(s),
            _ => None,
        }
    }

    /// The integer of an `int`, `long` or integer-based logical value.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(v) | Value::Date(v) | Value::TimeMillis(v) => Some(i64::from(v)),
            Value::Long(v)
            | Value::TimeMicros(v)
            | Value::TimestampMillis(v)
            | Value::TimestampMicros(v)
            | Value::TimestampNanos(v)
            | Value::LocalTimestampMillis(v)
            | Value::LocalTimestampMicros(v)
            | Value::LocalTimestampNanos(v) => Some(v),
            _ => None,
        }
    }

    /// A number as `f64` (`int`, `long`, `float`, `double`).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(v) => Some(f64::from(v)),
            Value::Long(v) => Some(v as f64),
            Value::Float(v) => Some(f64::from(v)),
            Value::Double(v) => Some(v),
            _ => None,
        }
    }

    /// The boolean of a `boolean`.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Boolean(b) => Some(b),
            _ => None,
        }
    }

    /// The bytes of a `bytes` or `fixed`.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) | Value::Fixed(b) => Some(b),
            _ => None,
        }
    }

    /// The record, if this is one.
    pub fn as_record(&self) -> Option<&Record<'a>> {
        match self {
            Value::Record(r) => Some(r),
            _ => None,
        }
    }

    /// The record, mutable.
    pub fn as_record_mut(&mut self) -> Option<&mut Record<'a>> {
        match self {
            Value::Record(r) => Some(r),
            _ => None,
        }
    }

    /// The fields of a record or the entries of a map.
    pub fn as_fields(&self) -> Option<&Fields<'a>> {
        match self {
            Value::Record(r) => Some(&r.fields),
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The fields of a record or the entries of a map, mutable.
    pub fn as_fields_mut(&mut self) -> Option<&mut Fields<'a>> {
        match self {
            Value::Record(r) => Some(&mut r.fields),
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items of an array.
    pub fn as_array(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Field (or map key) `name` of a record (or map).
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        self.as_fields()?.get(name)
    }

    /// Field (or map key) `name`, mutable.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value<'a>> {
        self.as_fields_mut()?.get_mut(name)
    }

    fn step(&self, seg: &Seg) -> Option<&Value<'a>> {
        match (seg, self) {
            (Seg::Name(n), _) => self.get(n),
            (Seg::Index(i), Value::Array(a)) => a.get(*i),
            _ => None,
        }
    }

    fn step_mut(&mut self, seg: &Seg) -> Option<&mut Value<'a>> {
        match seg {
            Seg::Name(n) => self.get_mut(n),
            Seg::Index(i) => match self {
                Value::Array(a) => a.get_mut(*i),
                _ => None,
            },
        }
    }

    fn walk(&self, segs: &[Seg]) -> Option<&Value<'a>> {
        segs.iter().try_fold(self, |v, s| v.step(s))
    }

    fn walk_mut(&mut self, segs: &[Seg]) -> Option<&mut Value<'a>> {
        let mut v = self;
        for s in segs {
            v = v.step_mut(s)?;
        }
        Some(v)
    }

    /// The value at `path` (through records, maps and arrays).
    pub fn get_path(&self, path: &Path) -> Option<&Value<'a>> {
        self.walk(&path.segments)
    }

    /// The value at `path`, mutable.
    pub fn get_path_mut(&mut self, path: &Path) -> Option<&mut Value<'a>> {
        self.walk_mut(&path.segments)
    }

    /// Sets the value at `path`. The parent must exist; a missing last
    /// field or map key is appended. Returns the value replaced.
    pub fn set_path(
        &mut self,
        path: &Path,
        value: Value<'a>,
    ) -> Result<Option<Value<'a>>, CodecError> {
        let err = |why: &str| CodecError::EditValue {
            path: path.text.clone(),
            reason: why.to_string(),
        };
        let parent = self
            .walk_mut(path.parent())
            .ok_or_else(|| err("parent does not exist"))?;
        match path.segments.last() {
            Some(Seg::Name(n)) => {
                let f = parent
                    .as_fields_mut()
                    .ok_or_else(|| err("parent is not a record or map"))?;
                Ok(f.insert(n.clone(), value))
            }
            Some(Seg::Index(i)) => match parent {
                Value::Array(a) => match a.get_mut(*i) {
                    Some(slot) => Ok(Some(std::mem::replace(slot, value))),
                    None => Err(err("array index out of range")),
                },
                _ => Err(err("parent is not an array")),
            },
            None => Err(err("empty path")),
        }
    }

    /// Removes the field, map entry or array item at `path`; `None` if
    /// there was nothing there.
    pub fn remove_path(&mut self, path: &Path) -> Option<Value<'a>> {
        let parent = self.walk_mut(path.parent())?;
        match path.segments.last()? {
            Seg::Name(n) => parent.as_fields_mut()?.remove(n),
            Seg::Index(i) => match parent {
                Value::Array(a) if *i < a.len() => Some(a.remove(*i)),
                _ => None,
            },
        }
    }

    /// Renames the field (or map key) at `path` to `to`, in place.
    pub fn rename_path(
        &mut self,
        path: &Path,
        to: impl Into<Cow<'a, str>>,
    ) -> Result<(), CodecError> {
        let err = |why: &str| CodecError::EditValue {
            path: path.text.clone(),
            reason: why.to_string(),
        };
        let Some(Seg::Name(from)) = path.segments.last() else {
            return Err(err("only a field or map key can be renamed"));
        };
        let parent = self
            .walk_mut(path.parent())
            .ok_or_else(|| err("parent does not exist"))?;
        let f = parent
            .as_fields_mut()
            .ok_or_else(|| err("parent is not a record or map"))?;
        if f.rename(from, to) {
            Ok(())
        } else {
            Err(err("field does not exist"))
        }
    }

    /// Copies every borrowed string and byte slice, detaching the value
    /// from the input buffer.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Boolean(b) => Value::Boolean(b),
            Value::Int(v) => Value::Int(v),
            Value::Long(v) => Value::Long(v),
            Value::Float(v) => Value::Float(v),
            Value::Double(v) => Value::Double(v),
            Value::Bytes(b) => Value::Bytes(Cow::Owned(b.into_owned())),
            Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
            Value::Fixed(b) => Value::Fixed(Cow::Owned(b.into_owned())),
            Value::Enum(i, s) => Value::Enum(i, Cow::Owned(s.into_owned())),
            Value::Array(a) => Value::Array(a.into_iter().map(Value::into_owned).collect()),
            Value::Map(m) => Value::Map(m.into_owned()),
            Value::Record(r) => Value::Record(r.into_owned()),
            Value::Decimal(d) => Value::Decimal(d.into_owned()),
            Value::Uuid(u) => Value::Uuid(u),
            Value::Date(v) => Value::Date(v),
            Value::TimeMillis(v) => Value::TimeMillis(v),
            Value::TimeMicros(v) => Value::TimeMicros(v),
            Value::TimestampMillis(v) => Value::TimestampMillis(v),
            Value::TimestampMicros(v) => Value::TimestampMicros(v),
            Value::TimestampNanos(v) => Value::TimestampNanos(v),
            Value::LocalTimestampMillis(v) => Value::LocalTimestampMillis(v),
            Value::LocalTimestampMicros(v) => Value::LocalTimestampMicros(v),
            Value::LocalTimestampNanos(v) => Value::LocalTimestampNanos(v),
            Value::Duration(d) => Value::Duration(d),
        }
    }
}

macro_rules! from_scalar {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Value<'_> {
            fn from(x: $t) -> Self { Value::$v(x) }
        }
    )*};
}
from_scalar!(bool => Boolean, i32 => Int, i64 => Long, f32 => Float, f64 => Double);

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::String(Cow::Borrowed(s))
    }
}

impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::String(Cow::Owned(s))
    }
}

impl<'a> From<Cow<'a, str>> for Value<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Value::String(s)
    }
}

impl<'a> From<Record<'a>> for Value<'a> {
    fn from(r: Record<'a>) -> Self {
        Value::Record(r)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
