//! Field paths as transforms use them: the codec's grammar
//! (`device.battery_pct`, `tags["app.version"]`, `items[0].id`), with
//! lookups that tell a missing field from a null parent (an optional
//! nested record that is null: nothing to edit, not an error).

use std::cell::Cell;
use std::fmt;

use kbridge_codec::{Fields, Value};

/// The position of field `name`, trying `hint` (where it was last time)
/// first: records of one schema keep their fields in one order, so a
/// lookup usually costs one string comparison.
#[inline]
pub(crate) fn find(fields: &Fields<'_>, name: &str, hint: &Cell<u32>) -> Option<usize> {
    let h = hint.get() as usize;
    if fields.0.get(h).is_some_and(|f| f.name == name) {
        return Some(h);
    }
    let i = fields.position(name)?;
    hint.set(u32::try_from(i).unwrap_or(0));
    Some(i)
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A record field or map key.
    Name(String),
    /// An array position.
    Index(usize),
}

/// A parsed path, with a position hint per step (see [`find`]).
#[derive(Debug, Clone)]
pub(crate) struct FieldPath {
    text: String,
    segs: Vec<Seg>,
    hints: Box<[Cell<u32>]>,
}

impl PartialEq for FieldPath {
    fn eq(&self, other: &Self) -> bool {
        self.segs == other.segs
    }
}

impl Eq for FieldPath {}

/// The outcome of walking a path.
#[derive(Debug)]
pub(crate) enum Lookup<T> {
    /// The value (or parent) is there.
    Found(T),
    /// A value on the way is null: an absent optional part.
    Null,
    /// A field, key or index on the way does not exist.
    Missing,
}

impl FieldPath {
    /// Parses `text` (same grammar as [`kbridge_codec::Path`]).
    pub(crate) fn parse(text: &str) -> Result<FieldPath, String> {
        kbridge_codec::Path::parse(text).map_err(|e| match e {
            kbridge_codec::CodecError::EditValue { reason, .. } => {
                format!("invalid field path `{text}`: {reason}")
            }
            other => other.to_string(),
        })?;
        let b = text.as_bytes();
        let mut segs = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'.' => i += 1,
                b'[' => {
                    let rest = &text[i + 1..];
                    if let Some(q) = rest.strip_prefix('"') {
                        let end = q.find("\"]").ok_or("unclosed [\"...\"]")?;
                        segs.push(Seg::Name(q[..end].to_string()));
                        i += 2 + end + 2;
                    } else {
                        let end = rest.find(']').ok_or("unclosed [...]")?;
                        let n = rest[..end]
                            .parse::<usize>()
                            .map_err(|_| "array index is not a number".to_string())?;
                        segs.push(Seg::Index(n));
                        i += 1 + end + 1;
                    }
                }
                _ => {
                    let rest = &text[i..];
                    let end = rest.find(['.', '[']).unwrap_or(rest.len());
                    segs.push(Seg::Name(rest[..end].to_string()));
                    i += end;
                }
            }
        }
        if segs.is_empty() {
            return Err(format!("invalid path `{text}`: empty path"));
        }
        let hints = segs.iter().map(|_| Cell::new(0)).collect();
        Ok(FieldPath {
            text: text.to_string(),
            segs,
            hints,
        })
    }

    /// The path as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The steps.
    pub(crate) fn segs(&self) -> &[Seg] {
        &self.segs
    }

    /// The last step.
    pub(crate) fn leaf(&self) -> &Seg {
        // parse() never returns an empty path
        self.segs.last().unwrap_or(&Seg::Index(0))
    }

    /// The top-level field the path starts in, if it starts with a name.
    pub(crate) fn top_name(&self) -> Option<&str> {
        match self.segs.first() {
            Some(Seg::Name(n)) => Some(n),
            _ => None,
        }
    }

    /// The last step's name, if it is a name.
    pub(crate) fn leaf_name(&self) -> Option<&str> {
        match self.leaf() {
            Seg::Name(n) => Some(n),
            Seg::Index(_) => None,
        }
    }

    /// The value at the path.
    pub(crate) fn get<'r, 'a>(&self, root: &'r Value<'a>) -> Lookup<&'r Value<'a>> {
        walk(root, &self.segs, &self.hints)
    }

    /// The value at the path, mutable.
    pub(crate) fn get_mut<'r, 'a>(&self, root: &'r mut Value<'a>) -> Lookup<&'r mut Value<'a>> {
        walk_mut(root, &self.segs, &self.hints)
    }

    /// The record, map or array holding the last step (`Null` when that
    /// parent is itself null).
    pub(crate) fn parent_mut<'r, 'a>(&self, root: &'r mut Value<'a>) -> Lookup<&'r mut Value<'a>> {
        let n = self.segs.len().saturating_sub(1);
        match walk_mut(root, &self.segs[..n], &self.hints[..n]) {
            Lookup::Found(v) if v.is_null() => Lookup::Null,
            other => other,
        }
    }

    /// The position of the last step's field in `fields`.
    pub(crate) fn leaf_index(&self, fields: &Fields<'_>) -> Option<usize> {
        match (self.segs.last(), self.hints.last()) {
            (Some(Seg::Name(n)), Some(h)) => find(fields, n, h),
            _ => None,
        }
    }

    /// Removes the value at the path; `None` when there was none.
    pub(crate) fn remove<'a>(&self, root: &mut Value<'a>) -> Option<Value<'a>> {
        let Lookup::Found(parent) = self.parent_mut(root) else {
            return None;
        };
        match (self.leaf(), parent) {
            (Seg::Name(_), p) => {
                let f = p.as_fields_mut()?;
                let i = self.leaf_index(f)?;
                Some(f.0.remove(i).value)
            }
            (Seg::Index(i), Value::Array(a)) if *i < a.len() => Some(a.remove(*i)),
            _ => None,
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn step<'r, 'a>(v: &'r Value<'a>, seg: &Seg, hint: &Cell<u32>) -> Lookup<&'r Value<'a>> {
    match (seg, v) {
        (_, Value::Null) => Lookup::Null,
        (Seg::Name(n), Value::Record(_) | Value::Map(_)) => {
            let Some(fields) = v.as_fields() else {
                return Lookup::Missing;
            };
            match find(fields, n, hint) {
                Some(i) => Lookup::Found(&fields.0[i].value),
                None => Lookup::Missing,
            }
        }
        (Seg::Index(i), Value::Array(a)) => match a.get(*i) {
            Some(x) => Lookup::Found(x),
            None => Lookup::Missing,
        },
        _ => Lookup::Missing,
    }
}

fn walk<'r, 'a>(root: &'r Value<'a>, segs: &[Seg], hints: &[Cell<u32>]) -> Lookup<&'r Value<'a>> {
    let mut v = root;
    for (s, h) in segs.iter().zip(hints) {
        match step(v, s, h) {
            Lookup::Found(x) => v = x,
            Lookup::Null => return Lookup::Null,
            Lookup::Missing => return Lookup::Missing,
        }
    }
    Lookup::Found(v)
}

fn walk_mut<'r, 'a>(
    root: &'r mut Value<'a>,
    segs: &[Seg],
    hints: &[Cell<u32>],
) -> Lookup<&'r mut Value<'a>> {
    let mut v = root;
    for (s, h) in segs.iter().zip(hints) {
        if v.is_null() {
            return Lookup::Null;
        }
        let next = match (s, v) {
            (Seg::Name(n), v) => match v.as_fields_mut() {
                Some(fields) => match find(fields, n, h) {
                    Some(i) => Some(&mut fields.0[i].value),
                    None => None,
                },
                None => None,
            },
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        match next {
            Some(x) => v = x,
            None => return Lookup::Missing,
        }
    }
    Lookup::Found(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbridge_codec::Record;

    fn rec() -> Value<'static> {
        Value::Record(Record::from_fields([
            ("a", Value::Long(1)),
            ("dev", Value::Null),
            (
                "m",
                Value::Map(kbridge_codec::Fields::from_iter([(
                    "x.y".into(),
                    Value::from("z"),
                )])),
            ),
            ("arr", Value::Array(vec![Value::Long(7)])),
        ]))
    }

    #[test]
    fn paths_parse_like_the_codec() {
        let p = FieldPath::parse(r#"m["x.y"]"#).unwrap();
        assert_eq!(p.segs(), &[Seg::Name("m".into()), Seg::Name("x.y".into())]);
        let p = FieldPath::parse("arr[0].b").unwrap();
        assert_eq!(
            p.segs(),
            &[
                Seg::Name("arr".into()),
                Seg::Index(0),
                Seg::Name("b".into())
            ]
        );
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse("").is_err());
    }

    #[test]
    fn lookups_tell_null_parents_from_missing_fields() {
        let v = rec();
        let get = |p: &str| FieldPath::parse(p).unwrap().get(&v).to_kind();
        assert_eq!(get("a"), "found");
        assert_eq!(get("dev.model"), "null");
        assert_eq!(get("nope"), "missing");
        assert_eq!(get("a.b"), "missing");
        assert_eq!(get(r#"m["x.y"]"#), "found");
        assert_eq!(get("arr[0]"), "found");
        assert_eq!(get("arr[1]"), "missing");
    }

    impl<T> Lookup<T> {
        fn to_kind(&self) -> &'static str {
            match self {
                Lookup::Found(_) => "found",
                Lookup::Null => "null",
                Lookup::Missing => "missing",
            }
        }
    }
}
