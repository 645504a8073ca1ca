//! Avro schema compatibility engine (the Avro specification's schema
//! resolution rules), independent of any HTTP or storage code so that the
//! client, the embedded server and the offline `kbridge schema check` share it.
//!
//! Interface contract (used by the embedded registry and the CLI):
//! - [`CompatibilityLevel`]: NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD,
//!   FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE (serde and `FromStr` in that
//!   SCREAMING_SNAKE_CASE spelling, as Confluent's API uses).
//! - [`check`]`(level, new, previous)`: `previous` is ordered oldest → newest;
//!   non-transitive levels only look at the last one. Returns every
//!   [`Incompatibility`] found (empty = compatible).

use apache_avro::Schema;
use serde::{Deserialize, Serialize};

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

/// One reason why a schema is not compatible, with the path of the offending
/// field (e.g. `/fields/device/fields/battery_pct`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incompatibility {
    /// Confluent-style error type, e.g. `READER_FIELD_MISSING_DEFAULT_VALUE`.
    pub kind: String,
    /// Path of the offending element in the schema being checked.
    pub path: String,
    /// Human-readable explanation.
    pub message: String,
}

/// Checks `new` against `previous` (oldest → newest) at `level`.
pub fn check(level: CompatibilityLevel, new: &Schema, previous: &[Schema]) -> Vec<Incompatibility> {
    // Placeholder until the engine lands: the compat helper replaces this.
    let _ = (level, new, previous);
    Vec::new()
}
