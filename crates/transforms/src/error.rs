//! The crate's one error type, and the label that names a transform in
//! every message (`transforms[2] `mask-email` (mask_field)`).

use std::fmt;

use kbridge_pipeline::TransformError;

/// Which transform a message is about: its position in the `transforms`
/// list, its `name` and its `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Position in the `transforms` list (0-based, as in `transforms[2]`).
    pub index: usize,
    /// The `name` key, or the type when unset.
    pub name: String,
    /// The `type` key.
    pub kind: &'static str,
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name == self.kind {
            write!(f, "transforms[{}] ({})", self.index, self.kind)
        } else {
            write!(
                f,
                "transforms[{}] `{}` ({})",
                self.index, self.name, self.kind
            )
        }
    }
}

/// One problem in a transform's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Position in the `transforms` list.
    pub index: usize,
    /// The transform's name (its type when unset or unknown).
    pub name: String,
    /// The offending key, when the problem is about one.
    pub key: Option<String>,
    /// What is wrong, with a suggestion where there is one.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transforms[{}]", self.index)?;
        if let Some(key) = &self.key {
            write!(f, ".{key}")?;
        }
        if !self.name.is_empty() {
            write!(f, " (`{}`)", self.name)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything that can fail in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransformsError {
    /// The `transforms` list has problems (all of them are listed).
    #[error("invalid transforms:\n{}", problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    BuildTransforms {
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// A transform cannot produce an output schema from its input schema.
    #[error("cannot derive the output schema: {transform}{source}")]
    DeriveSchema {
        /// `transforms[i] `name`: ` when the error does not say which
        /// transform failed (built-in transforms' errors do).
        transform: String,
        /// Why.
        #[source]
        source: TransformError,
    },
    /// The derived schema is not valid Avro (a bug or an unsupported edit).
    #[error("the derived output schema is not valid avro: {reason}\n{schema}")]
    CompileSchema {
        /// Why it does not compile.
        reason: String,
        /// The derived schema text.
        schema: String,
    },
    /// The derived output schema does not fit the pinned output schema.
    #[error(
        "the transforms' output does not fit the pinned output schema: {reason}\n  derived: {derived}\n  pinned:  {pinned}"
    )]
    CheckOutputSchema {
        /// Why the pinned schema cannot read what the transforms produce.
        reason: String,
        /// The derived schema (canonical form).
        derived: String,
        /// The pinned schema (canonical form).
        pinned: String,
    },
}
