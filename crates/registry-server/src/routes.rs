//! HTTP routes: Confluent's paths, status codes and content type.

use crate::error::ApiError;
use crate::registry::Registry;
use crate::schema::SchemaBody;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kbridge_registry::Mode;
use kbridge_registry::compat::CompatibilityLevel;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Content type of every answer.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

type Params = Query<HashMap<String, String>>;
type Reg = State<Arc<Registry>>;
type ApiResult = Result<Response, ApiError>;

/// A JSON answer with Confluent's content type.
pub(crate) fn reply<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, CONTENT_TYPE)], bytes).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            r#"{"error_code":50001,"message":"could not serialize the answer"}"#,
        )
            .into_response(),
    }
}

fn ok<T: Serialize + ?Sized>(body: &T) -> ApiResult {
    Ok(reply(StatusCode::OK, body))
}

/// Query flags as Confluent's clients send them: `true`, `True`, `1`.
fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn body(bytes: &Bytes) -> Result<SchemaBody, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(ApiError::bad_json)?;
    serde_json::from_value(value).map_err(ApiError::unprocessable)
}

fn json_object(bytes: &Bytes) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    match serde_json::from_slice(bytes).map_err(ApiError::bad_json)? {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(ApiError::unprocessable(
            "request body must be a JSON object",
        )),
    }
}

fn parse_id(raw: &str) -> Result<u32, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::new(404, "HTTP 404 Not Found"))
}

/// The router over `registry`.
pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/schemas/types", get(schema_types))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(schema_text_by_id))
        .route("/schemas/ids/{id}/subjects", get(subjects_for_id))
        .route("/schemas/ids/{id}/versions", get(versions_for_id))
        .route("/subjects", get(subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route("/subjects/{subject}/versions", get(versions).post(register))
        .route(
            "/subjects/{subject}/versions/{version}",
            get(version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(version_schema),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(referenced_by),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compat_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compat_version),
        )
        .route(
            "/config",
            get(get_global_config)
                .put(put_global_config)
                .delete(delete_global_config),
        )
        .route(
            "/config/{subject}",
            get(get_config).put(put_config).delete(delete_config),
        )
        .route("/mode", get(get_global_mode).put(put_global_mode))
        .route(
            "/mode/{subject}",
            get(get_mode).put(put_mode).delete(delete_mode),
        )
        .route("/contexts", get(contexts))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(registry)
}

async fn not_found() -> ApiError {
    ApiError::new(404, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(405, "HTTP 405 Method Not Allowed")
}

async fn root() -> ApiResult {
    ok(&serde_json::json!({}))
}

async fn contexts() -> ApiResult {
    ok(&[".".to_string()])
}

async fn schema_types() -> ApiResult {
    ok(&["JSON", "PROTOBUF", "AVRO"])
}

async fn schema_by_id(State(r): Reg, Path(id): Path<String>) -> ApiResult {
    ok(&r.schema_by_id(parse_id(&id)?)?)
}

async fn schema_text_by_id(State(r): Reg, Path(id): Path<String>) -> ApiResult {
    let def = r.schema_by_id(parse_id(&id)?)?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        def.schema,
    )
        .into_response())
}

async fn subjects_for_id(State(r): Reg, Path(id): Path<String>, Query(q): Params) -> ApiResult {
    ok(&r.subjects_for_id(parse_id(&id)?, flag(&q, "deleted"))?)
}

async fn versions_for_id(State(r): Reg, Path(id): Path<String>, Query(q): Params) -> ApiResult {
    ok(&r.versions_for_id(parse_id(&id)?, flag(&q, "deleted"))?)
}

async fn subjects(State(r): Reg, Query(q): Params) -> ApiResult {
    ok(&r.subjects(
        flag(&q, "deleted"),
        q.get("subjectPrefix").map(String::as_str),
    ))
}

async fn versions(State(r): Reg, Path(subject): Path<String>, Query(q): Params) -> ApiResult {
    ok(&r.versions(&subject, flag(&q, "deleted"))?)
}

async fn version(
    State(r): Reg,
    Path((subject, v)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    ok(&r.version(&subject, &v, flag(&q, "deleted"))?)
}

async fn version_schema(
    State(r): Reg,
    Path((subject, v)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    let found = r.version(&subject, &v, flag(&q, "deleted"))?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        found.schema,
    )
        .into_response())
}

async fn referenced_by(State(r): Reg, Path((subject, v)): Path<(String, String)>) -> ApiResult {
    ok(&r.referenced_by(&subject, &v)?)
}

#[derive(Serialize)]
struct IdBody {
    id: u32,
}

async fn register(
    State(r): Reg,
    Path(subject): Path<String>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    let b = body(&bytes)?;
    let id = r.register(&subject, &b, flag(&q, "normalize")).await?;
    ok(&IdBody { id })
}

async fn lookup(
    State(r): Reg,
    Path(subject): Path<String>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    let b = body(&bytes)?;
    ok(&r.lookup(&subject, &b, flag(&q, "normalize"), flag(&q, "deleted"))?)
}

async fn delete_subject(State(r): Reg, Path(subject): Path<String>, Query(q): Params) -> ApiResult {
    ok(&r.delete_subject(&subject, flag(&q, "permanent")).await?)
}

async fn delete_version(
    State(r): Reg,
    Path((subject, v)): Path<(String, String)>,
    Query(q): Params,
) -> ApiResult {
    ok(&r
        .delete_version(&subject, &v, flag(&q, "permanent"))
        .await?)
}

async fn compat_all(
    State(r): Reg,
    Path(subject): Path<String>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    let b = body(&bytes)?;
    ok(&r.test_compatibility(
        &subject,
        None,
        &b,
        flag(&q, "normalize"),
        flag(&q, "verbose"),
    )?)
}

async fn compat_version(
    State(r): Reg,
    Path((subject, v)): Path<(String, String)>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    let b = body(&bytes)?;
    ok(&r.test_compatibility(
        &subject,
        Some(&v),
        &b,
        flag(&q, "normalize"),
        flag(&q, "verbose"),
    )?)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LevelBody {
    compatibility_level: CompatibilityLevel,
}

#[derive(Serialize)]
struct SetLevelBody {
    compatibility: CompatibilityLevel,
}

#[derive(Serialize)]
struct ModeBody {
    mode: Mode,
}

fn level_of(bytes: &Bytes) -> Result<CompatibilityLevel, ApiError> {
    let map = json_object(bytes)?;
    let raw = map
        .get("compatibility")
        .or_else(|| map.get("compatibilityLevel"))
        .and_then(|v| v.as_str())
        .ok_or_else(ApiError::invalid_compatibility_level)?;
    serde_json::from_value(serde_json::Value::String(raw.to_ascii_uppercase()))
        .map_err(|_| ApiError::invalid_compatibility_level())
}

fn mode_of(bytes: &Bytes) -> Result<Mode, ApiError> {
    let map = json_object(bytes)?;
    map.get("mode")
        .and_then(|v| v.as_str())
        .ok_or_else(ApiError::invalid_mode)?
        .parse()
        .map_err(|_| ApiError::invalid_mode())
}

async fn get_global_config(State(r): Reg) -> ApiResult {
    ok(&LevelBody {
        compatibility_level: r.config(None, true)?,
    })
}

async fn put_global_config(State(r): Reg, bytes: Bytes) -> ApiResult {
    let level = level_of(&bytes)?;
    ok(&SetLevelBody {
        compatibility: r.set_config(None, level).await?,
    })
}

async fn delete_global_config(State(r): Reg) -> ApiResult {
    ok(&LevelBody {
        compatibility_level: r.delete_config(None).await?,
    })
}

async fn get_config(State(r): Reg, Path(subject): Path<String>, Query(q): Params) -> ApiResult {
    ok(&LevelBody {
        compatibility_level: r.config(Some(&subject), flag(&q, "defaultToGlobal"))?,
    })
}

async fn put_config(State(r): Reg, Path(subject): Path<String>, bytes: Bytes) -> ApiResult {
    let level = level_of(&bytes)?;
    ok(&SetLevelBody {
        compatibility: r.set_config(Some(&subject), level).await?,
    })
}

async fn delete_config(State(r): Reg, Path(subject): Path<String>) -> ApiResult {
    ok(&LevelBody {
        compatibility_level: r.delete_config(Some(&subject)).await?,
    })
}

async fn get_global_mode(State(r): Reg) -> ApiResult {
    ok(&ModeBody {
        mode: r.mode(None, true)?,
    })
}

async fn put_global_mode(State(r): Reg, Query(q): Params, bytes: Bytes) -> ApiResult {
    let mode = mode_of(&bytes)?;
    ok(&ModeBody {
        mode: r.set_mode(None, mode, flag(&q, "force")).await?,
    })
}

async fn get_mode(State(r): Reg, Path(subject): Path<String>, Query(q): Params) -> ApiResult {
    ok(&ModeBody {
        mode: r.mode(Some(&subject), flag(&q, "defaultToGlobal"))?,
    })
}

async fn put_mode(
    State(r): Reg,
    Path(subject): Path<String>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    let mode = mode_of(&bytes)?;
    ok(&ModeBody {
        mode: r.set_mode(Some(&subject), mode, flag(&q, "force")).await?,
    })
}

async fn delete_mode(State(r): Reg, Path(subject): Path<String>) -> ApiResult {
    ok(&ModeBody {
        mode: r.delete_mode(&subject).await?,
    })
}
