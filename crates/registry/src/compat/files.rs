//! The offline check: `.avsc` files in, incompatibilities out.

use std::path::{Path, PathBuf};

use apache_avro::Schema;

use super::{CompatibilityLevel, Incompatibility, check};

/// Errors of the compatibility engine's file and level parsing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompatError {
    /// A schema file could not be read.
    #[error("cannot read schema file {}", path.display())]
    ReadSchemaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A schema file is not a valid Avro schema.
    #[error("cannot parse avro schema file {}", path.display())]
    ParseSchemaFile {
        path: PathBuf,
        #[source]
        source: apache_avro::Error,
    },
    /// A compatibility level name is unknown.
    #[error(
        "unknown compatibility level '{value}' (expected one of NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE)"
    )]
    ParseLevel { value: String },
}

/// Reads and parses one `.avsc` file.
pub fn parse_schema_file(path: &Path) -> Result<Schema, CompatError> {
    let text = std::fs::read_to_string(path).map_err(|source| CompatError::ReadSchemaFile {
        path: path.to_owned(),
        source,
    })?;
    Schema::parse_str(&text).map_err(|source| CompatError::ParseSchemaFile {
        path: path.to_owned(),
        source,
    })
}

/// Checks the schema in `new` against the schemas in `against` (oldest →
/// newest) at `level`; [`Incompatibility::previous_index`] indexes `against`.
/// Every file is read and parsed before checking, so a bad file is an error
/// even when the level would not look at it.
pub fn check_files(
    level: CompatibilityLevel,
    new: &Path,
    against: &[PathBuf],
) -> Result<Vec<Incompatibility>, CompatError> {
    let new = parse_schema_file(new)?;
    let previous = against
        .iter()
        .map(|path| parse_schema_file(path))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(check(level, &new, &previous))
}
