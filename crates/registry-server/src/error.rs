//! Errors: [`ServerError`] for start-up and the store, [`ApiError`] for
//! REST answers in Confluent's shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kbridge_registry::error_code as code;
use serde::Serialize;

/// Start-up, store and serving failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Binding the listen address failed.
    #[error("bind schema registry listener on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server stopped with an error.
    #[error("serve schema registry http: {source}")]
    Serve {
        #[source]
        source: std::io::Error,
    },
    /// A Kafka client could not be created.
    #[error("create kafka {role} for schemas topic '{topic}': {source}")]
    KafkaClient {
        role: &'static str,
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// Creating or inspecting the schemas topic failed.
    #[error("prepare schemas topic '{topic}': {reason}")]
    PrepareTopic { topic: String, reason: String },
    /// Replaying the schemas topic failed.
    #[error("replay schemas topic '{topic}': {reason}")]
    Replay { topic: String, reason: String },
    /// Appending a change to the schemas topic failed.
    #[error("append to schemas topic '{topic}': {source}")]
    Append {
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
}

/// An error answer: HTTP status from the first three digits of the
/// `error_code`, body `{"error_code": ..., "message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub error_code: i32,
    pub message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error_code: i32,
    message: &'a str,
}

impl ApiError {
    pub fn new(error_code: i32, message: impl Into<String>) -> Self {
        ApiError {
            error_code,
            message: message.into(),
        }
    }

    /// HTTP status: `40401` → 404, `409` → 409, `50001` → 500.
    pub fn status(&self) -> StatusCode {
        let mut c = self.error_code;
        while c >= 1000 {
            c /= 10;
        }
        u16::try_from(c)
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn subject_not_found(subject: &str) -> Self {
        Self::new(
            code::SUBJECT_NOT_FOUND,
            format!("Subject '{subject}' not found."),
        )
    }

    pub fn version_not_found(version: impl std::fmt::Display) -> Self {
        Self::new(
            code::VERSION_NOT_FOUND,
            format!("Version {version} not found."),
        )
    }

    pub fn schema_not_found(id: Option<u32>) -> Self {
        match id {
            Some(id) => Self::new(code::SCHEMA_NOT_FOUND, format!("Schema {id} not found")),
            None => Self::new(code::SCHEMA_NOT_FOUND, "Schema not found"),
        }
    }

    pub fn invalid_schema(details: impl std::fmt::Display) -> Self {
        Self::new(code::INVALID_SCHEMA, format!("Invalid schema: {details}"))
    }

    pub fn invalid_version(version: &str) -> Self {
        Self::new(
            code::INVALID_VERSION,
            format!(
                "The specified version '{version}' is not a valid version id. \
                 Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
        )
    }

    pub fn invalid_compatibility_level() -> Self {
        Self::new(
            code::INVALID_COMPATIBILITY_LEVEL,
            "Invalid compatibility level. Valid values are none, backward, forward, full, \
             backward_transitive, forward_transitive, and full_transitive",
        )
    }

    pub fn invalid_mode() -> Self {
        Self::new(
            code::INVALID_MODE,
            "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, and IMPORT.",
        )
    }

    pub fn not_permitted(message: impl Into<String>) -> Self {
        Self::new(code::OPERATION_NOT_PERMITTED, message)
    }

    pub fn store(message: impl std::fmt::Display) -> Self {
        Self::new(
            code::STORE_ERROR,
            format!("Error in the backend data store - {message}"),
        )
    }

    pub fn bad_json(message: impl std::fmt::Display) -> Self {
        Self::new(code::BAD_REQUEST, message.to_string())
    }

    pub fn unprocessable(message: impl std::fmt::Display) -> Self {
        Self::new(422, message.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        crate::routes::reply(
            status,
            &ErrorBody {
                error_code: self.error_code,
                message: &self.message,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_the_code_prefix() {
        assert_eq!(
            ApiError::subject_not_found("x").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(ApiError::new(409, "x").status(), StatusCode::CONFLICT);
        assert_eq!(ApiError::new(40901, "x").status(), StatusCode::CONFLICT);
        assert_eq!(
            ApiError::invalid_mode().status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            ApiError::store("x").status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(ApiError::bad_json("x").status(), StatusCode::BAD_REQUEST);
    }
}
