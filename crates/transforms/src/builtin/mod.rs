//! The built-in transforms: one [`Step`] per type, wrapped in [`Builtin`]
//! which implements the pipeline's `Transform` trait (the `when` guard,
//! error labelling, schema derivation).

mod cast;
mod fields;
mod filter;
mod headers;
mod key;
mod mask;
mod route;
mod timestamp;

use kbridge_codec::AvroSchema;
use kbridge_pipeline::{PipelineRecord, Transform, TransformError};

use crate::error::Label;
use crate::expr::Expr;
use crate::path::FieldPath;
use crate::schema::{SchemaDoc, merge};
use crate::spec::Spec;

/// Every transform type, for messages and docs.
pub const TYPES: &[&str] = &[
    "filter",
    "insert_field",
    "rename_fields",
    "drop_fields",
    "keep_fields",
    "mask_fields",
    "cast",
    "flatten",
    "set_key",
    "set_headers",
    "drop_headers",
    "route",
    "set_timestamp",
];

/// Why a step failed for one record.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) class: &'static str,
    pub(crate) path: Option<String>,
    pub(crate) message: String,
}

impl Fail {
    pub(crate) fn new(class: &'static str, message: impl Into<String>) -> Self {
        Fail {
            class,
            path: None,
            message: message.into(),
        }
    }

    pub(crate) fn at(mut self, path: &impl std::fmt::Display) -> Self {
        self.path = Some(path.to_string());
        self
    }

    pub(crate) fn missing(path: &impl std::fmt::Display) -> Self {
        Fail::new("MissingField", "missing field").at(path)
    }

    pub(crate) fn expr(message: String) -> Self {
        Fail::new("ExpressionError", message)
    }
}

/// One built-in transform's logic.
pub(crate) trait Step: Send + 'static {
    /// Edits `record` in place; `false` drops it.
    fn apply(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, Fail>;

    /// Edits the output schema (the default: unchanged).
    fn derive(&self, _doc: &mut SchemaDoc) -> Result<(), String> {
        Ok(())
    }

    /// Whether [`Step::derive`] may change the schema (otherwise it only
    /// checks it).
    fn changes_schema(&self) -> bool {
        false
    }

    /// The top-level value fields the step reads or edits, when it touches
    /// nothing else of the value (see `Transform::value_fields`); `None`,
    /// the default, when it may use the whole value.
    fn value_fields(&self) -> Option<Vec<String>> {
        None
    }
}

/// The top-level fields `paths` start in; `None` when one starts with an
/// array index (a value that is not a record).
pub(crate) fn top_names<'p>(paths: impl IntoIterator<Item = &'p FieldPath>) -> Option<Vec<String>> {
    paths
        .into_iter()
        .map(|p| p.top_name().map(str::to_string))
        .collect()
}

/// `a` and `b` together; `None` when either is.
pub(crate) fn union(a: Option<Vec<String>>, b: Option<Vec<String>>) -> Option<Vec<String>> {
    let mut a = a?;
    a.extend(b?);
    Some(a)
}

/// A built-in transform: label, optional `when` guard, step.
pub(crate) struct Builtin<S> {
    label: Label,
    when: Option<Expr>,
    step: S,
}

impl<S> std::fmt::Debug for Builtin<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builtin")
            .field("label", &self.label.to_string())
            .field("when", &self.when)
            .finish()
    }
}

impl<S: Step> Builtin<S> {
    fn error(&self, fail: Fail) -> TransformError {
        let e = TransformError::poison(fail.class, format!("{}: {}", self.label, fail.message));
        match fail.path {
            Some(p) => e.with_path(p),
            None => e,
        }
    }

    fn schema_error(&self, message: String) -> TransformError {
        TransformError::fatal("SchemaDerivation", format!("{}: {message}", self.label))
    }

    /// The guard, then the step: `true` keeps the record (a record the
    /// guard skips is kept unchanged).
    fn step_in_place(&mut self, record: &mut PipelineRecord<'_>) -> Result<bool, TransformError> {
        if let Some(when) = &self.when {
            match when.eval_bool(record) {
                Ok(true) => {}
                Ok(false) => return Ok(true),
                Err(e) => return Err(self.error(Fail::expr(format!("`when`: {e}")))),
            }
        }
        self.step.apply(record).map_err(|fail| self.error(fail))
    }
}

impl<S: Step> Transform for Builtin<S> {
    fn name(&self) -> &str {
        &self.label.name
    }

    fn apply<'a>(
        &mut self,
        mut record: PipelineRecord<'a>,
        out: &mut Vec<PipelineRecord<'a>>,
    ) -> Result<(), TransformError> {
        if self.step_in_place(&mut record)? {
            out.push(record);
        }
        Ok(())
    }

    fn apply_in_place(
        &mut self,
        record: &mut PipelineRecord<'_>,
    ) -> Option<Result<bool, TransformError>> {
        Some(self.step_in_place(record))
    }

    fn output_schema(&self, input: &AvroSchema) -> Result<AvroSchema, TransformError> {
        let doc = SchemaDoc::from_avro(input).map_err(|e| self.schema_error(e))?;
        let mut edited = doc.clone();
        self.step
            .derive(&mut edited)
            .map_err(|e| self.schema_error(e))?;
        if !self.step.changes_schema() || edited == doc {
            return Ok(input.clone());
        }
        let out = match self.when {
            // guarded: records that skip the step keep the input's shape
            Some(_) => SchemaDoc {
                root: merge(&edited.root, &doc.root),
            },
            None => edited,
        };
        out.into_avro().map_err(|e| self.schema_error(e))
    }

    fn value_fields(&self) -> Option<Vec<String>> {
        let when = self
            .when
            .as_ref()
            .map_or(Some(Vec::new()), Expr::value_fields);
        let mut fields = union(self.step.value_fields(), when)?;
        fields.sort_unstable();
        fields.dedup();
        Some(fields)
    }
}

/// Builds transform `index` from its table; problems go to `problems`.
pub(crate) fn build_one(
    index: usize,
    table: &kbridge_config::TransformTable,
    problems: &mut Vec<crate::error::Problem>,
) -> Option<Box<dyn Transform>> {
    let kind = match table.get("type") {
        Some(serde_json::Value::String(t)) => match TYPES.iter().find(|k| **k == t) {
            Some(k) => *k,
            None => {
                let hint = crate::spec::closest(t, TYPES.iter().copied())
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                problems.push(crate::error::Problem {
                    index,
                    name: String::new(),
                    key: Some("type".into()),
                    message: format!(
                        "unknown transform type `{t}`; {hint}types are {}",
                        TYPES.join(", ")
                    ),
                });
                return None;
            }
        },
        _ => {
            problems.push(crate::error::Problem {
                index,
                name: String::new(),
                key: Some("type".into()),
                message: format!("missing transform type; one of {}", TYPES.join(", ")),
            });
            return None;
        }
    };
    let name = match table.get("name") {
        Some(serde_json::Value::String(n)) if !n.is_empty() => n.clone(),
        _ => kind.to_string(),
    };
    let mut spec = Spec::new(Label { index, name, kind }, table);
    if let Some(v) = spec.raw("name")
        && !v.is_string()
    {
        spec.problem(Some("name"), "expected a string");
    }
    let when = spec.expr("when");
    let built: Option<Box<dyn Transform>> = match kind {
        "filter" => filter::build(&mut spec).map(|s| wrap(&spec, when, s)),
        "insert_field" => fields::build_insert(&mut spec).map(|s| wrap(&spec, when, s)),
        "rename_fields" => fields::build_rename(&mut spec).map(|s| wrap(&spec, when, s)),
        "drop_fields" => fields::build_drop(&mut spec).map(|s| wrap(&spec, when, s)),
        "keep_fields" => fields::build_keep(&mut spec).map(|s| wrap(&spec, when, s)),
        "flatten" => fields::build_flatten(&mut spec).map(|s| wrap(&spec, when, s)),
        "mask_fields" => mask::build(&mut spec).map(|s| wrap(&spec, when, s)),
        "cast" => cast::build(&mut spec).map(|s| wrap(&spec, when, s)),
        "set_key" => key::build(&mut spec).map(|s| wrap(&spec, when, s)),
        "set_headers" => headers::build_set(&mut spec).map(|s| wrap(&spec, when, s)),
        "drop_headers" => headers::build_drop(&mut spec).map(|s| wrap(&spec, when, s)),
        "route" => route::build(&mut spec).map(|s| wrap(&spec, when, s)),
        "set_timestamp" => timestamp::build(&mut spec).map(|s| wrap(&spec, when, s)),
        _ => None,
    };
    let found = spec.finish();
    let ok = found.is_empty();
    problems.extend(found);
    if ok { built } else { None }
}

fn wrap<S: Step>(spec: &Spec<'_>, when: Option<Expr>, step: S) -> Box<dyn Transform> {
    Box::new(Builtin {
        label: spec.label.clone(),
        when,
        step,
    })
}
