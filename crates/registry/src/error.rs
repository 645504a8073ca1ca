//! The crate's one error type and the registry's `error_code` values.

/// `error_code` values of Confluent's REST API (also produced by the
/// embedded registry). The HTTP status is the first three digits.
pub mod error_code {
    /// Subject not found.
    pub const SUBJECT_NOT_FOUND: i32 = 40401;
    /// Version not found.
    pub const VERSION_NOT_FOUND: i32 = 40402;
    /// Schema not found (by id, or lookup of a schema not under the subject).
    pub const SCHEMA_NOT_FOUND: i32 = 40403;
    /// Subject was soft deleted (set `permanent=true` to delete permanently).
    pub const SUBJECT_SOFT_DELETED: i32 = 40404;
    /// Subject must be soft deleted before a permanent delete.
    pub const SUBJECT_NOT_SOFT_DELETED: i32 = 40405;
    /// Version was soft deleted.
    pub const VERSION_SOFT_DELETED: i32 = 40406;
    /// Version must be soft deleted before a permanent delete.
    pub const VERSION_NOT_SOFT_DELETED: i32 = 40407;
    /// Subject has no subject-level compatibility.
    pub const SUBJECT_COMPATIBILITY_NOT_CONFIGURED: i32 = 40408;
    /// Subject has no subject-level mode.
    pub const SUBJECT_MODE_NOT_CONFIGURED: i32 = 40409;
    /// Incompatible schema, as older registries report it.
    pub const INCOMPATIBLE_SCHEMA_LEGACY: i32 = 409;
    /// Incompatible schema (current Confluent releases).
    pub const INCOMPATIBLE_SCHEMA: i32 = 40901;
    /// Invalid schema (unparsable, unknown type, bad reference).
    pub const INVALID_SCHEMA: i32 = 42201;
    /// Invalid version (not 1..2^31-1 or `latest`).
    pub const INVALID_VERSION: i32 = 42202;
    /// Invalid compatibility level.
    pub const INVALID_COMPATIBILITY_LEVEL: i32 = 42203;
    /// Invalid mode.
    pub const INVALID_MODE: i32 = 42204;
    /// Operation not permitted (read-only mode, id outside import mode, ...).
    pub const OPERATION_NOT_PERMITTED: i32 = 42205;
    /// A schema still references the version being deleted.
    pub const REFERENCE_EXISTS: i32 = 42206;
    /// The id given in import mode belongs to another schema.
    pub const ID_DOES_NOT_MATCH: i32 = 42207;
    /// Invalid subject name.
    pub const INVALID_SUBJECT: i32 = 42208;
    /// Error in the backend store.
    pub const STORE_ERROR: i32 = 50001;
    /// Operation timed out.
    pub const OPERATION_TIMEOUT: i32 = 50002;
    /// Forwarding to the leader failed.
    pub const REQUEST_FORWARDING_FAILED: i32 = 50003;
    /// Unknown leader.
    pub const UNKNOWN_LEADER: i32 = 50004;
    /// Malformed JSON body (Jersey's generic status code).
    pub const BAD_REQUEST: i32 = 400;
}

/// What a caller (the pipeline) should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The input is at fault (unknown schema id, unparsable schema): route
    /// the record to the dead-letter queue and go on.
    Poison,
    /// Transient (unreachable, 5xx, 429): back off and retry.
    Retriable,
    /// Configuration or permission problem: stop in order.
    Fatal,
}

/// Everything that can fail in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry answered with an error document (or an error status).
    #[error(
        "{operation}: schema registry answered http {status}, error code {error_code}: {message}"
    )]
    Registry {
        operation: String,
        status: u16,
        error_code: i32,
        message: String,
    },
    /// No answer from any base URL (connect error or timeout), after retries.
    #[error("{operation}: no answer from the schema registry at {url}: {source}")]
    Request {
        operation: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the JSON the API documents.
    #[error("{operation}: unexpected answer from {url}: {source}")]
    DecodeResponse {
        operation: String,
        url: String,
        #[source]
        source: serde_json::Error,
    },
    /// An Avro schema (by id, or a file) does not parse.
    #[error("parse avro schema {what}: {source}")]
    ParseAvroSchema {
        what: String,
        #[source]
        source: apache_avro::Error,
    },
    /// A JSON schema document is not JSON.
    #[error("parse json schema {what}: {source}")]
    ParseJsonSchema {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// A schema reference could not be resolved.
    #[error(
        "resolve reference {name:?} (subject '{subject}', version {version}) of {what}: {reason}"
    )]
    ResolveReference {
        what: String,
        name: String,
        subject: String,
        version: u32,
        reason: String,
    },
    /// The bearer token provider failed.
    #[error("fetch bearer token for the schema registry: {reason}")]
    FetchToken { reason: String },
    /// The client could not be built (bad URL, bad certificate, ...).
    #[error("build schema registry client: {reason}")]
    BuildClient {
        reason: String,
        #[source]
        source: Option<reqwest::Error>,
    },
    /// A subject name strategy lacked what it needs.
    #[error("derive subject name for topic '{topic}' with the {strategy} strategy: {reason}")]
    DeriveSubject {
        topic: String,
        strategy: &'static str,
        reason: String,
    },
    /// The start-up check found no reachable registry.
    #[error("schema registry unreachable: {details}")]
    Unreachable { details: String },
}

impl RegistryError {
    /// The registry's `error_code`, when the registry answered.
    pub fn error_code(&self) -> Option<i32> {
        match self {
            RegistryError::Registry { error_code, .. } => Some(*error_code),
            _ => None,
        }
    }

    /// The HTTP status, when the registry answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Registry { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The registry's message, when the registry answered.
    pub fn registry_message(&self) -> Option<&str> {
        match self {
            RegistryError::Registry { message, .. } => Some(message),
            _ => None,
        }
    }

    /// True for any "not found" answer (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True when the registry rejected a schema as incompatible.
    pub fn is_incompatible(&self) -> bool {
        matches!(
            self.error_code(),
            Some(error_code::INCOMPATIBLE_SCHEMA | error_code::INCOMPATIBLE_SCHEMA_LEGACY)
        )
    }

    /// How a pipeline should react (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            RegistryError::Registry {
                status, error_code, ..
            } => {
                if *status >= 500 || *status == 429 {
                    ErrorClass::Retriable
                } else if *error_code == error_code::SCHEMA_NOT_FOUND {
                    ErrorClass::Poison
                } else {
                    ErrorClass::Fatal
                }
            }
            RegistryError::Request { .. }
            | RegistryError::Unreachable { .. }
            | RegistryError::FetchToken { .. } => ErrorClass::Retriable,
            RegistryError::ParseAvroSchema { .. } | RegistryError::ParseJsonSchema { .. } => {
                ErrorClass::Poison
            }
            _ => ErrorClass::Fatal,
        }
    }

    /// Shorthand for `class() == Retriable`.
    pub fn is_retriable(&self) -> bool {
        self.class() == ErrorClass::Retriable
    }
}
