//! Loading: the layers (defaults < file < environment < `--set`), merged by
//! figment; then the unknown-key walk, typed extraction that keeps going
//! after an invalid value, and the cross-key checks — every problem is
//! collected before [`Config::load`] returns.

use crate::Config;
use crate::error::{ConfigError, Problem, Problems, Source};
use crate::keys::{self, AliasValue, Kind, Lookup};
use crate::validate::Checker;
use figment::providers::{Format, Json, Toml, Yaml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

/// What [`Config::load`] reads.
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// A TOML (`.toml`), YAML (`.yaml`, `.yml`) or JSON (`.json`) file.
    pub file: Option<PathBuf>,
    /// `dotted.key=value` overrides, applied in order (the CLI's `--set`).
    pub overrides: Vec<String>,
    /// Where environment variables come from.
    pub env: EnvVars,
}

impl fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Override values may be secrets: show the keys only.
        let keys: Vec<&str> = self
            .overrides
            .iter()
            .map(|o| o.split_once('=').map_or(o.as_str(), |(k, _)| k))
            .collect();
        f.debug_struct("LoadOptions")
            .field("file", &self.file)
            .field("overrides", &keys)
            .field("env", &self.env)
            .finish()
    }
}

/// The environment variables [`Config::load`] sees.
#[derive(Clone, Default)]
pub enum EnvVars {
    /// The process environment (non-UTF-8 variables are skipped).
    #[default]
    Process,
    /// Exactly these variables (tests, embedding programs).
    Map(BTreeMap<String, String>),
}

impl EnvVars {
    /// No variables at all.
    pub fn none() -> Self {
        EnvVars::Map(BTreeMap::new())
    }

    /// Exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        EnvVars::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    fn snapshot(&self) -> BTreeMap<String, String> {
        match self {
            EnvVars::Process => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            EnvVars::Map(map) => map.clone(),
        }
    }
}

impl fmt::Debug for EnvVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvVars::Process => f.write_str("Process"),
            // Values may be secrets: names only.
            EnvVars::Map(map) => f
                .debug_tuple("Map")
                .field(&map.keys().collect::<Vec<_>>())
                .finish(),
        }
    }
}

/// One figment provider: a dict from one place, named after that place.
struct Layer {
    name: String,
    dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

/// Renders a key path: dotted, with segments that contain a dot quoted.
pub(crate) fn render_path<S: AsRef<str>>(path: &[S]) -> String {
    path.iter()
        .map(|s| {
            let s = s.as_ref();
            if s.contains('.') || s.is_empty() {
                format!("\"{s}\"")
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn insert_path(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if !matches!(entry, Value::Dict(..)) {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

fn find<'a>(dict: &'a Dict, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let value = dict.get(first)?;
    if rest.is_empty() {
        return Some(value);
    }
    match value {
        Value::Dict(_, inner) => find(inner, rest),
        Value::Array(_, items) => {
            let index: usize = rest.first()?.parse().ok()?;
            let item = items.get(index)?;
            match (item, &rest[1..]) {
                (item, []) => Some(item),
                (Value::Dict(_, inner), deeper) => find(inner, deeper),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Removes the deepest dict entry on `path` (an array element removes the
/// whole array). Returns the removed entry's path, or `None`.
fn remove_path(dict: &mut Dict, path: &[String]) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    if !rest.is_empty()
        && let Some(Value::Dict(_, inner)) = dict.get_mut(first)
        && let Some(mut removed) = remove_path(inner, rest)
    {
        removed.insert(0, first.clone());
        return Some(removed);
    }
    dict.remove(first).map(|_| vec![first.clone()])
}

/// The key path that a `KBRIDGE_…` variable name or `--set` key addresses.
/// Below a passthrough map the rest of the path is one map key (for
/// variables `_` stands for `.`: `…__LIBRDKAFKA__FETCH_MIN_BYTES` is
/// `fetch.min.bytes`).
fn resolve_segments(segments: Vec<String>, from_env: bool) -> Vec<String> {
    for depth in 1..segments.len() {
        if keys::kind_of(&segments[..depth]) == Some(Kind::Options) {
            let mut map_key = segments[depth..].join(".");
            if from_env {
                map_key = map_key.replace('_', ".");
            }
            let map_key = map_key.trim_matches('"').to_string();
            let mut path = segments[..depth].to_vec();
            path.push(map_key);
            return path;
        }
    }
    segments
}

/// Types a string from the environment or `--set` by the kind of its key.
fn typed_value(path: &[String], raw: &str) -> Result<Value, String> {
    let kind = match keys::lookup(path) {
        Lookup::Leaf(spec) => Some(spec.kind),
        _ => None,
    };
    let trimmed = raw.trim();
    let json = |text: &str| -> Result<Value, String> {
        let parsed: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        Value::serialize(parsed).map_err(|e| format!("invalid JSON: {e}"))
    };
    Ok(match kind {
        Some(Kind::Bool) => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Value::from(true),
            "false" => Value::from(false),
            _ => Value::from(raw.to_string()),
        },
        Some(Kind::Integer | Kind::Version) => {
            match (trimmed.parse::<u64>(), trimmed.parse::<i64>()) {
                (Ok(n), _) => Value::from(n),
                (_, Ok(n)) => Value::from(n),
                _ => Value::from(raw.to_string()),
            }
        }
        Some(Kind::Options | Kind::Offsets) if trimmed.starts_with('{') => json(trimmed)?,
        Some(Kind::Tables) if trimmed.starts_with('[') => json(trimmed)?,
        _ => Value::from(raw.to_string()),
    })
}

fn nested(path: &[String], value: Value) -> Dict {
    let mut dict = Dict::new();
    insert_path(&mut dict, path, value);
    dict
}

/// Collapses a multi-line parser message (TOML's caret snippets) into one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('|')
                && !l.chars().next().is_some_and(|c| c.is_ascii_digit())
        })
        .collect::<Vec<_>>()
        .join(": ")
        .replace("^", "")
}

/// The layers in precedence order, the problems met while reading them, and
/// the [`Source`] of every layer name.
struct Layers {
    layers: Vec<Layer>,
    sources: HashMap<String, Source>,
    problems: Vec<Problem>,
}

impl Layers {
    fn push(&mut self, name: String, source: Source, dict: Dict) {
        self.sources.insert(name.clone(), source);
        self.layers.push(Layer { name, dict });
    }

    fn problem(&mut self, key: impl Into<String>, source: Source, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.into(),
            source,
            message: message.into(),
        });
    }

    fn defaults(&mut self) {
        match Value::serialize(Config::default()) {
            Ok(Value::Dict(_, mut dict)) => {
                // A one-of table (offsets) must be replaced, not merged into,
                // by a layer that sets it: leave its default to serde.
                for spec in keys::KEYS.iter().filter(|s| s.kind == Kind::Offsets) {
                    let path: Vec<String> = spec.path.split('.').map(str::to_string).collect();
                    remove_path(&mut dict, &path);
                }
                self.push("built-in defaults".to_string(), Source::Default, dict)
            }
            _ => self.problem("", Source::Default, "cannot build the built-in defaults"),
        }
    }

    fn file(&mut self, path: &PathBuf) {
        let source = Source::File { path: path.clone() };
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                let reason = if e.kind() == std::io::ErrorKind::NotFound {
                    "not found".to_string()
                } else {
                    e.to_string()
                };
                return self.problem(
                    "",
                    source,
                    format!("cannot read the configuration file: {reason}"),
                );
            }
        };
        let parsed = match extension.as_str() {
            "toml" => Toml::from_str::<Dict>(&text).map_err(|e| ("TOML", e.to_string())),
            "yaml" | "yml" => Yaml::from_str::<Option<Dict>>(&text)
                .map(Option::unwrap_or_default)
                .map_err(|e| ("YAML", e.to_string())),
            "json" => Json::from_str::<Dict>(&text).map_err(|e| ("JSON", e.to_string())),
            _ => {
                return self.problem(
                    "",
                    source,
                    "unsupported configuration file type: use a `.toml`, `.yaml`, `.yml` or `.json` file",
                );
            }
        };
        match parsed {
            Ok(dict) => self.push(format!("file {}", path.display()), source, dict),
            Err((format, message)) => self.problem(
                "",
                source,
                format!("invalid {format}: {}", one_line(&message)),
            ),
        }
    }

    fn env(&mut self, vars: &BTreeMap<String, String>) {
        let set = |name: &str| vars.get(name).filter(|v| !v.trim().is_empty());
        for alias in keys::ALIASES {
            let Some(raw) = set(alias.var) else { continue };
            let source = Source::Env {
                var: alias.var.to_string(),
            };
            let path: Vec<String> = alias.key.split('.').map(str::to_string).collect();
            let value = match alias.value {
                AliasValue::AsKey => typed_value(&path, raw),
                AliasValue::Millis => match raw.trim().parse::<u64>() {
                    Ok(ms) => Ok(Value::from(format!("{ms}ms"))),
                    Err(_) => Err(format!(
                        "expected a whole number of milliseconds, found `{}`",
                        raw.trim()
                    )),
                },
            };
            match value {
                Ok(value) => self.push(format!("env {}", alias.var), source, nested(&path, value)),
                Err(message) => self.problem(alias.key, source, message),
            }
        }
        for (name, raw) in vars {
            let Some(rest) = name.strip_prefix(keys::ENV_PREFIX) else {
                continue;
            };
            if keys::RESERVED_ENV_VARS.contains(&name.as_str()) || raw.trim().is_empty() {
                continue;
            }
            let source = Source::Env { var: name.clone() };
            let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if segments.iter().any(String::is_empty) {
                self.problem(
                    rest.to_ascii_lowercase().replace("__", "."),
                    source,
                    "malformed variable name: nest keys with `__` between non-empty names (KBRIDGE_KAFKA__BROKERS)",
                );
                continue;
            }
            let path = resolve_segments(segments, true);
            match typed_value(&path, raw) {
                Ok(value) => self.push(format!("env {name}"), source, nested(&path, value)),
                Err(message) => self.problem(render_path(&path), source, message),
            }
        }
    }

    fn overrides(&mut self, overrides: &[String]) {
        for (index, entry) in overrides.iter().enumerate() {
            let Some((key, raw)) = entry.split_once('=') else {
                self.problem(
                    entry.trim(),
                    Source::Cli {
                        key: entry.trim().to_string(),
                    },
                    "expected `--set key=value`",
                );
                continue;
            };
            let key = key.trim();
            let source = Source::Cli {
                key: key.to_string(),
            };
            let segments: Vec<String> = key.split('.').map(str::to_string).collect();
            if key.is_empty() || segments.iter().any(String::is_empty) {
                self.problem(key, source, "expected `--set dotted.key=value`");
                continue;
            }
            let path = resolve_segments(segments, false);
            match typed_value(&path, raw) {
                Ok(value) => self.push(
                    format!("--set #{index} {key}"),
                    source,
                    nested(&path, value),
                ),
                Err(message) => self.problem(render_path(&path), source, message),
            }
        }
    }
}

/// The merged values and where each came from.
pub(crate) struct Provenance {
    figment: Figment,
    sources: HashMap<String, Source>,
    root: Dict,
}

impl Provenance {
    /// The source of the value at `path`, or of its closest existing parent.
    pub(crate) fn source_of(&self, path: &[String]) -> Source {
        for depth in (1..=path.len()).rev() {
            if let Some(value) = find(&self.root, &path[..depth]) {
                return self
                    .figment
                    .get_metadata(value.tag())
                    .and_then(|m| self.sources.get(m.name.as_ref()))
                    .cloned()
                    .unwrap_or(Source::Default);
            }
        }
        Source::Default
    }
}

fn describe_kind(kind: &figment::error::Kind) -> String {
    use figment::error::Kind as K;
    let expected = |e: &str| -> String {
        if matches!(e, "u8" | "u16" | "u32" | "u64" | "usize") {
            "a non-negative integer".to_string()
        } else if matches!(e, "i8" | "i16" | "i32" | "i64" | "isize") {
            "an integer".to_string()
        } else if e.starts_with("struct ") || e == "a map" {
            "a table".to_string()
        } else if e == "a sequence" {
            "a list".to_string()
        } else {
            e.to_string()
        }
    };
    let found = |actual: &figment::error::Actual| -> String {
        use figment::error::Actual as A;
        match actual {
            A::Map => "a table".to_string(),
            A::Seq => "a list".to_string(),
            A::Unit | A::Option => "nothing".to_string(),
            other => other.to_string(),
        }
    };
    match kind {
        K::Message(message) => message.clone(),
        K::InvalidType(actual, exp) => {
            format!("expected {}, found {}", expected(exp), found(actual))
        }
        K::InvalidValue(actual, exp) => format!(
            "invalid value {}, expected {}",
            found(actual),
            expected(exp)
        ),
        K::UnknownField(..) => "unknown key".to_string(),
        other => other.to_string(),
    }
}

/// Walks the merged dict against the key tree; reports and removes unknown keys.
fn unknown_keys(
    dict: &mut Dict,
    prefix: &[String],
    provenance: &Provenance,
    problems: &mut Vec<Problem>,
) {
    let names: Vec<String> = dict.keys().cloned().collect();
    for name in names {
        let mut path = prefix.to_vec();
        path.push(name.clone());
        match keys::lookup(&path) {
            Lookup::Leaf(_) | Lookup::Inside => {}
            Lookup::Section => {
                if let Some(Value::Dict(_, inner)) = dict.get_mut(&name) {
                    unknown_keys(inner, &path, provenance, problems);
                }
            }
            Lookup::Unknown => {
                let source = provenance.source_of(&path);
                let from_env =
                    matches!(&source, Source::Env { var } if var.starts_with(keys::ENV_PREFIX));
                problems.push(Problem {
                    key: render_path(&path),
                    source,
                    message: keys::unknown_key_message(&path, from_env),
                });
                dict.remove(&name);
            }
        }
    }
}

impl Config {
    /// Loads the effective configuration: built-in defaults < `file` <
    /// environment (plain aliases < `KBRIDGE_…`) < `overrides`. Returns every
    /// problem found, each with the key and where its value came from.
    pub fn load(options: LoadOptions) -> Result<Config, ConfigError> {
        let mut layers = Layers {
            layers: Vec::new(),
            sources: HashMap::new(),
            problems: Vec::new(),
        };
        layers.defaults();
        if let Some(file) = &options.file {
            layers.file(file);
        }
        layers.env(&options.env.snapshot());
        layers.overrides(&options.overrides);

        let Layers {
            layers: providers,
            sources,
            mut problems,
        } = layers;
        let figment = providers.into_iter().fold(Figment::new(), Figment::merge);
        let root = match figment.data() {
            Ok(mut data) => data.remove(&Profile::Default).unwrap_or_default(),
            Err(e) => {
                problems.push(Problem {
                    key: String::new(),
                    source: Source::Default,
                    message: format!("cannot merge the configuration layers: {e}"),
                });
                Dict::new()
            }
        };
        let provenance = Provenance {
            figment,
            sources,
            root,
        };

        let mut dict = provenance.root.clone();
        unknown_keys(&mut dict, &[], &provenance, &mut problems);

        // Extract; on an invalid value, report it, drop it (its default
        // applies) and extract again, so every invalid value is reported.
        let mut broken = BTreeSet::new();
        let mut config = None;
        for _ in 0..=keys::KEYS.len() * 4 {
            let value = Value::from(dict.clone());
            match Config::deserialize(&value) {
                Ok(c) => {
                    config = Some(c);
                    break;
                }
                Err(e) => {
                    let Some(removed) = remove_path(&mut dict, &e.path) else {
                        problems.push(Problem {
                            key: render_path(&e.path),
                            source: provenance.source_of(&e.path),
                            message: describe_kind(&e.kind),
                        });
                        break;
                    };
                    problems.push(Problem {
                        key: render_path(&e.path),
                        source: provenance.source_of(&e.path),
                        message: describe_kind(&e.kind),
                    });
                    broken.insert(removed.join("."));
                }
            }
        }

        if let Some(config) = &config {
            let mut checker = Checker::new(Some(&provenance), broken);
            checker.run(config);
            problems.extend(checker.into_problems());
        }
        match config {
            Some(config) if problems.is_empty() => Ok(config),
            _ => Err(ConfigError::Validate(Problems(problems))),
        }
    }
}
