//! The embedded registry's HTTP contract: Confluent's status codes,
//! `error_code`s and content type, checked with raw HTTP requests.

use kbridge_registry_server::{CONTENT_TYPE, StoreConfig, spawn};
use serde_json::{Value, json};

struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    async fn call(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String, Value) {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{}", self.base, path));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/vnd.schemaregistry.v1+json")
                .body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = resp.text().await.unwrap();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, ct, value)
    }

    async fn expect_error(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        status: u16,
        code: i64,
    ) -> String {
        let (s, ct, v) = self.call(method, path, body).await;
        assert_eq!(
            (s, v["error_code"].as_i64()),
            (status, Some(code)),
            "{method} {path}: {v}"
        );
        assert_eq!(ct, CONTENT_TYPE);
        v["message"].as_str().unwrap().to_string()
    }
}

async fn start() -> (kbridge_registry_server::RunningServer, Http) {
    let server = spawn("127.0.0.1:0", &StoreConfig::Memory).await.unwrap();
    let http = Http {
        base: server.url(),
        client: reqwest::Client::new(),
    };
    (server, http)
}

fn schema_body(schema: &str) -> String {
    json!({ "schema": schema }).to_string()
}

const REC: &str = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#;

#[tokio::test]
async fn root_types_and_content_type() {
    let (server, http) = start().await;
    let (s, ct, v) = http.call("GET", "/", None).await;
    assert_eq!((s, ct.as_str(), v), (200, CONTENT_TYPE, json!({})));
    let (_, _, types) = http.call("GET", "/schemas/types", None).await;
    assert_eq!(types, json!(["JSON", "PROTOBUF", "AVRO"]));
    let (s, _, v) = http.call("GET", "/config", None).await;
    assert_eq!((s, v), (200, json!({"compatibilityLevel": "BACKWARD"})));
    let (s, _, v) = http.call("GET", "/mode", None).await;
    assert_eq!((s, v), (200, json!({"mode": "READWRITE"})));
    http.expect_error("GET", "/no/such/path", None, 404, 404)
        .await;
    http.expect_error("PATCH", "/config", Some("{}"), 405, 405)
        .await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_requests_get_confluent_codes_not_500() {
    let (server, http) = start().await;
    let p = "/subjects/s/versions";
    http.expect_error("POST", p, Some("{not json"), 400, 400)
        .await;
    http.expect_error("POST", p, Some(r#"{"schema": 5}"#), 422, 422)
        .await;
    let m = http.expect_error("POST", p, Some("{}"), 422, 42201).await;
    assert_eq!(m, "Invalid schema: Empty schema");
    let m = http
        .expect_error(
            "POST",
            p,
            Some(r#"{"schema":"\"string\"","schemaType":"XML"}"#),
            422,
            42201,
        )
        .await;
    assert_eq!(m, "Invalid schema: Invalid schema type XML");
    http.expect_error(
        "POST",
        p,
        Some(&schema_body(r#"{"type":"record","name":"X"}"#)),
        422,
        42201,
    )
    .await;
    http.expect_error("POST", p, Some(&schema_body("{\"type\":")), 422, 42201)
        .await;
    http.expect_error("GET", "/subjects/s/versions/zero", None, 422, 42202)
        .await;
    http.expect_error("GET", "/subjects/s/versions/0", None, 422, 42202)
        .await;
    http.expect_error(
        "PUT",
        "/config",
        Some(r#"{"compatibility":"SIDEWAYS"}"#),
        422,
        42203,
    )
    .await;
    http.expect_error("PUT", "/mode", Some(r#"{"mode":"WRITEONLY"}"#), 422, 42204)
        .await;
    http.expect_error("GET", "/schemas/ids/77", None, 404, 40403)
        .await;
    http.expect_error("GET", "/subjects/none/versions", None, 404, 40401)
        .await;
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn register_lookup_and_versions_in_confluent_shapes() {
    let (server, http) = start().await;
    // Python's client sends normalize=False / verbose=True.
    let (s, _, v) = http
        .call(
            "POST",
            "/subjects/a%2Fb/versions?normalize=False",
            Some(&schema_body(REC)),
        )
        .await;
    assert_eq!((s, v.clone()), (200, json!({"id": 1})));
    let (_, _, v) = http
        .call("GET", "/subjects/a%2Fb/versions/latest", None)
        .await;
    assert_eq!(v, json!({"subject":"a/b","version":1,"id":1,"schema":REC}));
    let (_, _, v) = http
        .call("GET", "/subjects/a%2Fb/versions/1/schema", None)
        .await;
    assert_eq!(v, serde_json::from_str::<Value>(REC).unwrap());
    let (_, _, v) = http.call("GET", "/schemas/ids/1", None).await;
    assert_eq!(v, json!({"schema": REC}));
    let (_, _, v) = http.call("GET", "/schemas/ids/1/versions", None).await;
    assert_eq!(v, json!([{"subject":"a/b","version":1}]));
    let (_, _, v) = http.call("GET", "/subjects", None).await;
    assert_eq!(v, json!(["a/b"]));
    // whitespace does not make a new schema
    let spaced = REC.replace(',', " , ");
    let (_, _, v) = http
        .call("POST", "/subjects/a%2Fb", Some(&schema_body(&spaced)))
        .await;
    assert_eq!(v["version"], 1);
    // JSON and PROTOBUF are stored with their type
    let (s, _, v) = http
        .call(
            "POST",
            "/subjects/j/versions",
            Some(r#"{"schemaType":"JSON","schema":"{\"type\": \"object\"}"}"#),
        )
        .await;
    assert_eq!((s, v), (200, json!({"id": 2})));
    let (_, _, v) = http.call("GET", "/schemas/ids/2", None).await;
    assert_eq!(
        v,
        json!({"schema":"{\"type\":\"object\"}","schemaType":"JSON"})
    );
    let (s, _, v) = http
        .call("POST", "/subjects/p/versions", Some(r#"{"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";\nmessage M { int32 a = 1; }\n"}"#))
        .await;
    assert_eq!((s, v), (200, json!({"id": 3})));
    // compatibility with verbose reasons
    let incompatible = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}"#;
    let (s, _, v) = http
        .call(
            "POST",
            "/compatibility/subjects/a%2Fb/versions/latest?verbose=True",
            Some(&schema_body(incompatible)),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["is_compatible"], false);
    assert!(
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m.as_str().unwrap().contains("compatibility: 'BACKWARD'")),
        "{v}"
    );
    let m = http
        .expect_error(
            "POST",
            "/subjects/a%2Fb/versions",
            Some(&schema_body(incompatible)),
            409,
            40901,
        )
        .await;
    assert!(
        m.starts_with(
            "Schema being registered is incompatible with an earlier schema for subject \"a/b\""
        ),
        "{m}"
    );
    http.expect_error(
        "POST",
        "/compatibility/subjects/a%2Fb/versions/9",
        Some(&schema_body(REC)),
        404,
        40402,
    )
    .await;
    http.expect_error(
        "POST",
        "/compatibility/subjects/zz/versions/1",
        Some(&schema_body(REC)),
        404,
        40401,
    )
    .await;
    let (_, _, v) = http
        .call(
            "POST",
            "/compatibility/subjects/zz/versions",
            Some(&schema_body(REC)),
        )
        .await;
    assert_eq!(v, json!({"is_compatible": true}));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn import_mode_keeps_given_ids_and_versions() {
    let (server, http) = start().await;
    http.expect_error(
        "POST",
        "/subjects/s/versions",
        Some(&json!({"schema": REC, "id": 40}).to_string()),
        422,
        42205,
    )
    .await;
    let (s, _, v) = http
        .call("PUT", "/mode", Some(r#"{"mode":"IMPORT"}"#))
        .await;
    assert_eq!((s, v), (200, json!({"mode":"IMPORT"})));
    let (s, _, v) = http
        .call(
            "POST",
            "/subjects/s/versions",
            Some(&json!({"schema": REC, "id": 40, "version": 7}).to_string()),
        )
        .await;
    assert_eq!((s, v), (200, json!({"id": 40})));
    http.expect_error(
        "POST",
        "/subjects/t/versions",
        Some(&json!({"schema": "\"string\"", "id": 40}).to_string()),
        422,
        42207,
    )
    .await;
    let (_, _, v) = http.call("GET", "/subjects/s/versions", None).await;
    assert_eq!(v, json!([7]));
    http.call("PUT", "/mode", Some(r#"{"mode":"READWRITE"}"#))
        .await;
    let (_, _, v) = http
        .call(
            "POST",
            "/subjects/u/versions",
            Some(&schema_body("\"long\"")),
        )
        .await;
    assert_eq!(v, json!({"id": 41}), "new ids continue after imported ones");
    let (s, _, _) = http
        .call("PUT", "/mode", Some(r#"{"mode":"IMPORT"}"#))
        .await;
    assert_eq!(s, 422, "import needs an empty registry");
    let (s, _, _) = http
        .call("PUT", "/mode?force=true", Some(r#"{"mode":"IMPORT"}"#))
        .await;
    assert_eq!(s, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn normalize_makes_equivalent_schemas_one() {
    let (server, http) = start().await;
    let a = r#"{"type":"record","name":"N","fields":[{"name":"x","type":{"type":"string"}}]}"#;
    let b = r#"{"type":"record","name":"N","fields":[{"name":"x","type":"string"}]}"#;
    let (_, _, v1) = http
        .call(
            "POST",
            "/subjects/n/versions?normalize=true",
            Some(&schema_body(a)),
        )
        .await;
    let (_, _, v2) = http
        .call(
            "POST",
            "/subjects/n/versions?normalize=true",
            Some(&schema_body(b)),
        )
        .await;
    assert_eq!(v1, v2);
    let (_, _, v) = http.call("GET", "/subjects/n/versions", None).await;
    assert_eq!(v, json!([1]));
    server.shutdown().await.unwrap();
}
