//! `kbridge test pipeline.toml --input sample.jsonl --expect expected.jsonl`:
//! runs the configured transforms on sample records, without Kafka or a
//! registry (like `vector test`), and compares the outputs with the
//! expected ones. Exit 0 when every expectation holds, 1 otherwise.
//!
//! # Line format (both files; one JSON document per line)
//! - A plain JSON value is a record value: `{"id": 7, "unit": "bpm"}`.
//! - An object with `@`-keys is a whole record: `@value`, `@key`,
//!   `@headers` (`{"name": "text" | null}`), `@topic`, `@partition`,
//!   `@offset`, `@timestamp` (epoch ms or RFC 3339). Input defaults: the
//!   first source topic (else `test`), partition 0, offset = the record's
//!   position, no key, headers or timestamp.
//! - In the expected file, a plain value checks the output value only; an
//!   `@` object checks the keys it has (`@topic`, `@key`, `@headers`,
//!   `@timestamp`, `@value`); `{"@error": "text"}` expects the input
//!   record to fail (dead-lettered) with a message containing `text`. A
//!   filtered record has no expected line.
//! - Empty lines and lines starting with `#` or `//` are skipped.
//!
//! With an Avro value format the input is encoded under the input schema
//! (`--schema`, else `codec.value.reader_schema_file`, else
//! `codec.value.schema_file`) and decoded again, and the outputs go through
//! the output schema the transforms derive (or `--output-schema`), so types
//! (timestamps, unions, enums, decimals) behave as in the pipeline. Values
//! are written and compared as natural JSON.

use crate::commands::output::{Mark, mark};
use crate::global::GlobalArgs;
use anyhow::{Context, anyhow, bail};
use clap::Args;
use kbridge_codec::{AvroSchema, JsonStyle, Value};
use kbridge_config::{Config, Format, FormatConfig};
use kbridge_pipeline::{PipelineRecord, SourceMeta, Transform};
use kbridge_source::TimestampType;
use serde_json::{Map, Value as Json};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `kbridge test`
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The pipeline file (TOML, YAML or JSON); default: --config
    pipeline: Option<PathBuf>,
    /// Input records, one JSON document per line
    #[arg(long, short = 'i', value_name = "FILE")]
    input: PathBuf,
    /// Expected output records, one per line; without it the outputs are
    /// printed
    #[arg(long, short = 'e', value_name = "FILE")]
    expect: Option<PathBuf>,
    /// Avro schema of the input values (default: from [codec.value])
    #[arg(long, value_name = "FILE.avsc")]
    schema: Option<PathBuf>,
    /// Pinned output schema to check the transforms against and encode with
    /// (default: the schema the transforms derive)
    #[arg(long, value_name = "FILE.avsc")]
    output_schema: Option<PathBuf>,
    /// Write the actual outputs to the --expect file instead of comparing
    #[arg(long, requires = "expect")]
    update: bool,
}

const META_KEYS: &[&str] = &[
    "@value",
    "@key",
    "@headers",
    "@topic",
    "@partition",
    "@offset",
    "@timestamp",
    "@error",
];

/// One line of a records file.
struct Line {
    number: usize,
    doc: Json,
}

fn read_lines(path: &Path) -> anyhow::Result<Vec<Line>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with("//") {
            continue;
        }
        let doc: Json = serde_json::from_str(t)
            .with_context(|| format!("{}:{}: not a JSON document", path.display(), i + 1))?;
        if let Some(o) = doc.as_object() {
            for k in o.keys().filter(|k| k.starts_with('@')) {
                if !META_KEYS.contains(&k.as_str()) {
                    bail!(
                        "{}:{}: unknown key `{k}`; record keys are {}",
                        path.display(),
                        i + 1,
                        META_KEYS.join(", ")
                    );
                }
            }
        }
        out.push(Line { number: i + 1, doc });
    }
    Ok(out)
}

/// Whether `doc` is a `@`-keyed record rather than a plain value.
fn is_envelope(doc: &Json) -> bool {
    doc.as_object()
        .is_some_and(|o| o.keys().any(|k| k.starts_with('@')))
}

fn load_schema(path: &Path) -> anyhow::Result<AvroSchema> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    AvroSchema::parse(&text)
        .with_context(|| format!("{} is not a valid Avro schema", path.display()))
}

fn side_schema(
    c: &FormatConfig,
    flag: Option<&PathBuf>,
    side: &str,
) -> anyhow::Result<Option<AvroSchema>> {
    let path = flag
        .or(c.reader_schema_file.as_ref())
        .or(c.schema_file.as_ref());
    match (path, c.format.is_avro()) {
        (Some(p), _) => load_schema(p).map(Some),
        (None, true) => bail!(
            "the {side} format is {} but no schema is known: pass --schema FILE.avsc or set codec.{side}.schema_file",
            c.format
        ),
        (None, false) => Ok(None),
    }
}

fn timestamp_ms(j: &Json) -> anyhow::Result<i64> {
    match j {
        Json::Number(n) => n
            .as_i64()
            .ok_or_else(|| anyhow!("@timestamp {n} is not whole milliseconds")),
        Json::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|e| anyhow!("@timestamp {s:?} is not RFC 3339: {e}")),
        other => {
            bail!("@timestamp must be epoch milliseconds or an RFC 3339 string, found {other}")
        }
    }
}

/// The natural-JSON rendering of `v`, through `schema` when there is one.
fn render(v: &Value<'_>, schema: Option<&AvroSchema>) -> Result<Json, String> {
    let mut out = Vec::new();
    match schema {
        Some(s) => s.write_json(v, JsonStyle::Natural, &mut out),
        None => kbridge_codec::json::write_json(v, None, JsonStyle::Natural, &mut out),
    }
    .map_err(|e| e.to_string())?;
    serde_json::from_slice(&out).map_err(|e| e.to_string())
}

/// A key as the test files write it: text for bytes and strings, JSON
/// otherwise.
fn render_key(v: &Value<'_>, schema: Option<&AvroSchema>) -> Result<Json, String> {
    match v {
        Value::Bytes(b) => Ok(match std::str::from_utf8(b) {
            Ok(s) => Json::String(s.to_string()),
            Err(_) => Json::String(kbridge_codec::json::base64_encode(b)),
        }),
        other => render(other, schema),
    }
}

/// Everything needed to turn lines into records and records into lines.
struct Harness {
    transforms: Vec<Box<dyn Transform>>,
    value_in: Option<AvroSchema>,
    value_out: Option<AvroSchema>,
    key_schema: Option<AvroSchema>,
    key_format: Format,
    source_topic: String,
    sink_topic: Option<String>,
}

impl Harness {
    fn new(config: &Config, args: &TestArgs) -> anyhow::Result<Harness> {
        let transforms = kbridge_transforms::build(&config.transforms)?;
        let value_in = side_schema(&config.codec.value, args.schema.as_ref(), "value")?;
        let pinned = args.output_schema.as_deref().map(load_schema).transpose()?;
        let value_out = match &value_in {
            Some(input) => Some(kbridge_transforms::check_output_schema(
                &transforms,
                input,
                pinned.as_ref(),
            )?),
            None => pinned,
        };
        let key_schema = side_schema(&config.codec.key, None, "key")?;
        Ok(Harness {
            transforms,
            value_in,
            value_out,
            key_schema,
            key_format: config.codec.key.format,
            source_topic: config
                .source
                .topics
                .first()
                .cloned()
                .unwrap_or_else(|| "test".into()),
            sink_topic: config.sink.topic.clone(),
        })
    }

    /// Runs one input line: the output records as expected-file documents,
    /// or one `{"@error": ...}` when the record fails.
    fn run(&mut self, line: &Line, position: usize) -> anyhow::Result<Vec<Json>> {
        let (value_doc, meta) = if is_envelope(&line.doc) {
            let o = line.doc.as_object().cloned().unwrap_or_default();
            if o.contains_key("@error") {
                bail!(
                    "line {}: `@error` belongs in the expected file",
                    line.number
                );
            }
            (o.get("@value").cloned().unwrap_or(Json::Null), o)
        } else {
            (line.doc.clone(), Map::new())
        };
        let at = |what: &str| format!("input line {}: {what}", line.number);
        let value_text = value_doc.to_string();
        let value_bytes = match &self.value_in {
            Some(s) => {
                let v = s
                    .value_from_json(&value_text, JsonStyle::Natural)
                    .with_context(|| at("the value does not fit the input schema"))?;
                let mut b = Vec::new();
                s.encode(&v, &mut b)
                    .with_context(|| at("encode the value"))?;
                b
            }
            None => Vec::new(),
        };
        let value = match &self.value_in {
            Some(s) => s
                .decode(&value_bytes)
                .with_context(|| at("decode the value"))?,
            None => kbridge_codec::json::parse_json(value_text.as_bytes())
                .with_context(|| at("parse the value"))?,
        };
        let key_doc = meta.get("@key").cloned().unwrap_or(Json::Null);
        let key_text = key_doc.to_string();
        let key_bytes = match (&self.key_schema, &key_doc) {
            (Some(s), k) if !k.is_null() => {
                let v = s
                    .value_from_json(&key_text, JsonStyle::Natural)
                    .with_context(|| at("the key does not fit the key schema"))?;
                let mut b = Vec::new();
                s.encode(&v, &mut b).with_context(|| at("encode the key"))?;
                b
            }
            _ => Vec::new(),
        };
        let key = match (&key_doc, &self.key_schema, self.key_format) {
            (Json::Null, _, _) => Value::Null,
            (_, Some(s), _) => s.decode(&key_bytes).with_context(|| at("decode the key"))?,
            (Json::String(k), None, Format::Bytes) => Value::Bytes(Cow::Borrowed(k.as_bytes())),
            (Json::String(k), None, _) => Value::String(Cow::Borrowed(k.as_str())),
            (_, None, _) => kbridge_codec::json::parse_json(key_text.as_bytes())
                .with_context(|| at("parse the key"))?,
        };
        let topic = match meta.get("@topic") {
            Some(Json::String(t)) => t.clone(),
            Some(other) => bail!(at(&format!("@topic must be a string, found {other}"))),
            None => self.source_topic.clone(),
        };
        let number = |k: &str, default: i64| -> anyhow::Result<i64> {
            match meta.get(k) {
                None => Ok(default),
                Some(j) => j
                    .as_i64()
                    .ok_or_else(|| anyhow!(at(&format!("{k} must be an integer, found {j}")))),
            }
        };
        let partition = i32::try_from(number("@partition", 0)?)
            .map_err(|_| anyhow!(at("@partition is out of range")))?;
        let offset = number("@offset", position as i64)?;
        let timestamp = meta
            .get("@timestamp")
            .map(timestamp_ms)
            .transpose()
            .with_context(|| at("@timestamp"))?;
        let mut headers = Vec::new();
        match meta.get("@headers") {
            None => {}
            Some(Json::Object(h)) => {
                for (name, v) in h {
                    let value = match v {
                        Json::Null => None,
                        Json::String(s) => Some(Cow::Owned(s.as_bytes().to_vec())),
                        other => Some(Cow::Owned(other.to_string().into_bytes())),
                    };
                    headers.push((Cow::Owned(name.clone()), value));
                }
            }
            Some(other) => bail!(at(&format!("@headers must be an object, found {other}"))),
        }
        let mut record = PipelineRecord::new(
            value,
            SourceMeta {
                topic: &topic,
                partition,
                offset,
                timestamp,
                timestamp_type: if timestamp.is_some() {
                    TimestampType::CreateTime
                } else {
                    TimestampType::NotAvailable
                },
            },
        );
        record.key = key;
        record.headers = headers;
        let mut outs = Vec::new();
        if let Err((_, e)) = kbridge_transforms::apply_all(&mut self.transforms, record, &mut outs)
        {
            return Ok(vec![serde_json::json!({ "@error": e.to_string() })]);
        }
        outs.iter()
            .map(|r| self.output(r, &topic))
            .collect::<Result<Vec<_>, _>>()
    }

    /// One output record as an expected-file document (after an encode and
    /// decode under the output schema, as the pipeline would write it).
    fn output(&self, r: &PipelineRecord<'_>, source_topic: &str) -> anyhow::Result<Json> {
        let value = match &self.value_out {
            Some(s) => {
                let mut bytes = Vec::new();
                if let Err(e) = s.encode(&r.value, &mut bytes) {
                    return Ok(serde_json::json!({ "@error": format!("encode: {e}") }));
                }
                let back = s.decode(&bytes).context("decode an encoded output")?;
                render(&back, Some(s))
            }
            None => render(&r.value, None),
        }
        .map_err(|e| anyhow!("render an output value: {e}"))?;
        let mut o = Map::new();
        o.insert("@value".into(), value);
        let topic = match &r.topic {
            Some(t) => t.to_string(),
            None => self
                .sink_topic
                .as_deref()
                .map(|t| t.replace("{topic}", source_topic))
                .unwrap_or_else(|| source_topic.to_string()),
        };
        o.insert("@topic".into(), Json::String(topic));
        if !r.key.is_null() {
            o.insert(
                "@key".into(),
                render_key(&r.key, self.key_schema.as_ref())
                    .map_err(|e| anyhow!("render a key: {e}"))?,
            );
        }
        if !r.headers.is_empty() {
            let h: Map<String, Json> = r
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.to_string(),
                        v.as_ref().map_or(Json::Null, |b| {
                            Json::String(String::from_utf8_lossy(b).into_owned())
                        }),
                    )
                })
                .collect();
            o.insert("@headers".into(), Json::Object(h));
        }
        if let Some(ts) = r.timestamp {
            let text = chrono::DateTime::from_timestamp_millis(ts)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .map_or(Json::from(ts), Json::String);
            o.insert("@timestamp".into(), text);
        }
        Ok(Json::Object(o))
    }

    /// An expected value in the form outputs are rendered in.
    fn canonical_value(&self, expected: &Json) -> Result<Json, String> {
        match &self.value_out {
            Some(s) => {
                let v = s
                    .value_from_json(&expected.to_string(), JsonStyle::Natural)
                    .map_err(|e| {
                        format!("the expected value does not fit the output schema: {e}")
                    })?;
                render(&v, Some(s))
            }
            None => Ok(expected.clone()),
        }
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The differences between `want` and `got` under `path`, one line each.
fn diff(path: &str, want: &Json, got: &Json, out: &mut Vec<String>) {
    if same(want, got) {
        return;
    }
    match (want, got) {
        (Json::Object(w), Json::Object(g)) => {
            for (k, wv) in w {
                let p = format!("{path}.{k}");
                match g.get(k) {
                    Some(gv) => diff(&p, wv, gv, out),
                    None => out.push(format!("{p}: expected {wv}, missing")),
                }
            }
            for (k, gv) in g {
                if !w.contains_key(k) {
                    out.push(format!("{path}.{k}: unexpected {gv}"));
                }
            }
        }
        (Json::Array(w), Json::Array(g)) if w.len() == g.len() => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                diff(&format!("{path}[{i}]"), wv, gv, out);
            }
        }
        _ => out.push(format!("{path}: expected {want}, got {got}")),
    }
}

/// Checks one actual output against one expected line; the differences.
fn check(h: &Harness, expected: &Json, actual: &Json) -> Vec<String> {
    let mut out = Vec::new();
    let expected_obj = if is_envelope(expected) {
        expected.as_object().cloned().unwrap_or_default()
    } else {
        let mut m = Map::new();
        m.insert("@value".into(), expected.clone());
        m
    };
    if let Some(want) = expected_obj.get("@error") {
        match actual.get("@error") {
            Some(Json::String(msg)) => {
                let want_text = want.as_str().unwrap_or_default();
                if !msg.contains(want_text) {
                    out.push(format!(
                        "@error: expected a message containing {want}, got {msg:?}"
                    ));
                }
            }
            _ => out.push(format!(
                "expected the record to fail ({want}), but it was written"
            )),
        }
        return out;
    }
    if let Some(msg) = actual.get("@error") {
        out.push(format!(
            "the record failed: {}",
            msg.as_str().unwrap_or_default()
        ));
        return out;
    }
    for (k, want) in &expected_obj {
        let got = actual.get(k).unwrap_or(&Json::Null);
        match k.as_str() {
            "@value" => match h.canonical_value(want) {
                Ok(want) => diff("@value", &want, got, &mut out),
                Err(e) => out.push(format!("@value: {e}")),
            },
            "@timestamp" => {
                let w = timestamp_ms(want).map_err(|e| e.to_string());
                let g = if got.is_null() {
                    Err("none".to_string())
                } else {
                    timestamp_ms(got).map_err(|e| e.to_string())
                };
                if w.as_ref().ok() != g.as_ref().ok() || w.is_err() {
                    out.push(format!("@timestamp: expected {want}, got {got}"));
                }
            }
            "@headers" => diff(
                "@headers",
                want,
                actual.get(k).unwrap_or(&Json::Object(Map::new())),
                &mut out,
            ),
            _ => diff(k, want, got, &mut out),
        }
    }
    out
}

fn compact(j: &Json) -> String {
    let s = j.to_string();
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}

/// Runs `kbridge test`.
pub fn run(global: &GlobalArgs, args: TestArgs) -> anyhow::Result<ExitCode> {
    let mut g = global.clone();
    if let Some(p) = &args.pipeline {
        g.config = Some(p.clone());
    }
    if g.config.is_none() {
        bail!("which pipeline? give the pipeline file: kbridge test pipeline.toml --input ...");
    }
    let config = g.setup()?;
    let mut h = Harness::new(&config, &args)?;
    let inputs = read_lines(&args.input)?;

    // (input line, output document)
    let mut actual: Vec<(usize, Json)> = Vec::new();
    let (mut filtered, mut failed) = (0usize, 0usize);
    for (position, line) in inputs.iter().enumerate() {
        let outs = h.run(line, position)?;
        if outs.is_empty() {
            filtered += 1;
        }
        failed += outs.iter().filter(|o| o.get("@error").is_some()).count();
        actual.extend(outs.into_iter().map(|o| (line.number, o)));
    }
    let summary = format!(
        "{} input records: {} written, {filtered} filtered, {failed} failed",
        inputs.len(),
        actual.len() - failed
    );

    let Some(expect_path) = &args.expect else {
        for (_, doc) in &actual {
            println!("{doc}");
        }
        eprintln!("{summary}");
        return Ok(ExitCode::SUCCESS);
    };
    if args.update {
        let mut text = String::new();
        for (_, doc) in &actual {
            let _ = writeln!(text, "{doc}");
        }
        std::fs::write(expect_path, text)
            .with_context(|| format!("write {}", expect_path.display()))?;
        println!(
            "{} wrote {} expected records to {} ({summary})",
            mark(Mark::Ok),
            actual.len(),
            expect_path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let expected = read_lines(expect_path)?;
    let mut report = String::new();
    let mut mismatches = 0usize;
    for i in 0..expected.len().max(actual.len()) {
        match (expected.get(i), actual.get(i)) {
            (Some(e), Some((input_line, a))) => {
                let problems = check(&h, &e.doc, a);
                if !problems.is_empty() {
                    mismatches += 1;
                    let _ = writeln!(
                        report,
                        "{} output {} (input line {input_line}, expected line {}):",
                        mark(Mark::Failed),
                        i + 1,
                        e.number
                    );
                    for p in problems.iter().take(12) {
                        let _ = writeln!(report, "    {p}");
                    }
                    let _ = writeln!(report, "  expected: {}", compact(&e.doc));
                    let _ = writeln!(report, "  actual:   {}", compact(a));
                }
            }
            (Some(e), None) => {
                mismatches += 1;
                let _ = writeln!(
                    report,
                    "{} output {}: missing (expected line {}: {})",
                    mark(Mark::Failed),
                    i + 1,
                    e.number,
                    compact(&e.doc)
                );
            }
            (None, Some((input_line, a))) => {
                mismatches += 1;
                let _ = writeln!(
                    report,
                    "{} output {} (input line {input_line}): not expected: {}",
                    mark(Mark::Failed),
                    i + 1,
                    compact(a)
                );
            }
            (None, None) => {}
        }
    }
    if mismatches == 0 {
        println!(
            "{} {} expected records match ({summary})",
            mark(Mark::Ok),
            expected.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        print!("{report}");
        println!(
            "{} {mismatches} of {} expected records differ ({summary})",
            mark(Mark::Failed),
            expected.len().max(actual.len())
        );
        Ok(ExitCode::FAILURE)
    }
}
