//! Reading one `[[transforms]]` table: typed getters that record every
//! problem (wrong type, missing key, unknown key with the closest valid
//! one) instead of stopping at the first.

use serde_json::{Map, Value as Json};

use crate::error::{Label, Problem};
use crate::expr::Expr;
use crate::path::FieldPath;

pub(crate) use kbridge_config::{closest, one_of};

/// A transform table being read.
pub(crate) struct Spec<'t> {
    pub(crate) label: Label,
    table: &'t Map<String, Json>,
    known: Vec<&'static str>,
    pub(crate) problems: Vec<Problem>,
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a table",
    }
}

impl<'t> Spec<'t> {
    pub(crate) fn new(label: Label, table: &'t Map<String, Json>) -> Self {
        Spec {
            label,
            table,
            known: vec!["type", "name", "when"],
            problems: Vec::new(),
        }
    }

    /// Declares the keys this transform takes (besides `type`, `name`,
    /// `when`), so that a key is never reported unknown because building
    /// stopped before reading it.
    pub(crate) fn allow(&mut self, keys: &[&'static str]) {
        for k in keys {
            if !self.known.contains(k) {
                self.known.push(k);
            }
        }
    }

    /// Records a problem with `key` (or the whole table).
    pub(crate) fn problem(&mut self, key: Option<&str>, message: impl Into<String>) {
        self.problems.push(Problem {
            index: self.label.index,
            name: self.label.name.clone(),
            key: key.map(str::to_string),
            message: message.into(),
        });
    }

    /// The raw value of `key` (and marks the key as known).
    pub(crate) fn raw(&mut self, key: &'static str) -> Option<&'t Json> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        self.table.get(key)
    }

    /// Whether `key` is set.
    pub(crate) fn has(&mut self, key: &'static str) -> bool {
        self.raw(key).is_some()
    }

    fn wrong(&mut self, key: &str, want: &str, got: &Json) {
        self.problem(
            Some(key),
            format!("expected {want}, found {}", json_type(got)),
        );
    }

    /// An optional string.
    pub(crate) fn str(&mut self, key: &'static str) -> Option<&'t str> {
        match self.raw(key)? {
            Json::String(s) => Some(s),
            other => {
                self.wrong(key, "a string", other);
                None
            }
        }
    }

    /// A required string.
    pub(crate) fn req_str(&mut self, key: &'static str) -> Option<&'t str> {
        if !self.has(key) {
            self.problem(Some(key), "missing required key");
            return None;
        }
        self.str(key)
    }

    /// An optional boolean (`default` when unset).
    pub(crate) fn bool(&mut self, key: &'static str, default: bool) -> bool {
        match self.raw(key) {
            None => default,
            Some(Json::Bool(b)) => *b,
            Some(other) => {
                self.wrong(key, "true or false", other);
                default
            }
        }
    }

    /// A list of strings (a single string counts as a list of one).
    pub(crate) fn str_list(&mut self, key: &'static str) -> Option<Vec<&'t str>> {
        match self.raw(key)? {
            Json::String(s) => Some(vec![s.as_str()]),
            Json::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Json::String(s) => out.push(s.as_str()),
                        other => {
                            self.problem(
                                Some(&format!("{key}[{i}]")),
                                format!("expected a string, found {}", json_type(other)),
                            );
                            return None;
                        }
                    }
                }
                Some(out)
            }
            other => {
                self.wrong(key, "a list of strings", other);
                None
            }
        }
    }

    /// A required, non-empty list of strings.
    pub(crate) fn req_str_list(&mut self, key: &'static str) -> Option<Vec<&'t str>> {
        if !self.has(key) {
            self.problem(Some(key), "missing required key");
            return None;
        }
        let list = self.str_list(key)?;
        if list.is_empty() {
            self.problem(Some(key), "must not be empty");
            return None;
        }
        Some(list)
    }

    /// A table (in order).
    pub(crate) fn table(&mut self, key: &'static str) -> Option<&'t Map<String, Json>> {
        match self.raw(key)? {
            Json::Object(m) => Some(m),
            other => {
                self.wrong(key, "a table", other);
                None
            }
        }
    }

    /// A table of strings, in order.
    pub(crate) fn str_table(&mut self, key: &'static str) -> Option<Vec<(&'t str, &'t str)>> {
        let table = self.table(key)?;
        let mut out = Vec::with_capacity(table.len());
        for (k, v) in table {
            match v {
                Json::String(s) => out.push((k.as_str(), s.as_str())),
                other => {
                    self.problem(
                        Some(&format!("{key}.{k}")),
                        format!("expected a string, found {}", json_type(other)),
                    );
                    return None;
                }
            }
        }
        if out.is_empty() {
            self.problem(Some(key), "must not be empty");
            return None;
        }
        Some(out)
    }

    /// A string from a closed set.
    pub(crate) fn choice(
        &mut self,
        key: &'static str,
        values: &[&'static str],
        default: &'static str,
    ) -> &'static str {
        let Some(s) = self.str(key) else {
            return default;
        };
        match values.iter().find(|v| **v == s) {
            Some(v) => v,
            None => {
                let hint = closest(s, values.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                self.problem(
                    Some(key),
                    format!("unknown value `{s}`, expected {}{hint}", one_of(values)),
                );
                default
            }
        }
    }

    /// A field path.
    pub(crate) fn path_of(&mut self, key: &str, text: &str) -> Option<FieldPath> {
        match FieldPath::parse(text) {
            Ok(p) => Some(p),
            Err(e) => {
                self.problem(Some(key), e);
                None
            }
        }
    }

    /// A required field path.
    pub(crate) fn req_path(&mut self, key: &'static str) -> Option<FieldPath> {
        let text = self.req_str(key)?;
        self.path_of(key, text)
    }

    /// Field paths from a list.
    pub(crate) fn req_paths(&mut self, key: &'static str) -> Option<Vec<FieldPath>> {
        let list = self.req_str_list(key)?;
        let mut out = Vec::with_capacity(list.len());
        for (i, text) in list.into_iter().enumerate() {
            out.push(self.path_of(&format!("{key}[{i}]"), text)?);
        }
        Some(out)
    }

    /// A compiled expression.
    pub(crate) fn expr_of(&mut self, key: &str, text: &str) -> Option<Expr> {
        match Expr::compile(text) {
            Ok(e) => Some(e),
            Err(e) => {
                self.problem(Some(key), e);
                None
            }
        }
    }

    /// An optional expression.
    pub(crate) fn expr(&mut self, key: &'static str) -> Option<Expr> {
        let text = self.str(key)?;
        self.expr_of(key, text)
    }

    /// Exactly one of `keys` must be set: returns which one.
    pub(crate) fn one_key(&mut self, keys: &[&'static str]) -> Option<&'static str> {
        let set: Vec<&'static str> = keys.iter().copied().filter(|k| self.has(k)).collect();
        match set.as_slice() {
            [one] => Some(one),
            [] => {
                self.problem(None, format!("needs {}", one_of(keys)));
                None
            }
            [a, b, ..] => {
                self.problem(Some(b), format!("`{a}` and `{b}` cannot both be set"));
                None
            }
        }
    }

    /// Reports keys no getter asked for, with the closest known key.
    pub(crate) fn finish(mut self) -> Vec<Problem> {
        let unknown: Vec<&String> = self
            .table
            .keys()
            .filter(|k| !self.known.contains(&k.as_str()))
            .collect();
        for key in unknown {
            let known = self.known.clone();
            let message = match closest(key, known.iter().copied()) {
                Some(c) => format!("unknown key, did you mean `{c}`?"),
                None => format!("unknown key; {} takes {}", self.label.kind, one_of(&known)),
            };
            self.problem(Some(key), message);
        }
        self.problems
    }
}
