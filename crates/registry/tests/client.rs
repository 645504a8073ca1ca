//! The client against the embedded registry over real HTTP on 127.0.0.1.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use kbridge_registry::compat::CompatibilityLevel;
use kbridge_registry::{
    ErrorClass, Mode, RegistryClient, RegistryError, RetryPolicy, SchemaDefinition,
    SchemaReference, SchemaType, Secret, StaticToken, SubjectVersion, TokenFuture, TokenProvider,
    VersionSelector, error_code,
};
use kbridge_registry_server::{Registry, router};
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

const V1: &str =
    r#"{"type":"record","name":"Order","namespace":"acme","fields":[{"name":"id","type":"long"}]}"#;
const V2_COMPATIBLE: &str = r#"{"type":"record","name":"Order","namespace":"acme","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}"#;
const V2_INCOMPATIBLE: &str = r#"{"type":"record","name":"Order","namespace":"acme","fields":[{"name":"id","type":"long"},{"name":"qty","type":"int"}]}"#;

/// What the test server saw.
#[derive(Default)]
struct Seen {
    requests: Mutex<Vec<(String, String)>>,
    authorization: Mutex<Vec<Option<String>>>,
    /// Answer this many requests with `fail_status` first.
    fail_first: AtomicUsize,
    fail_status: Mutex<Option<StatusCode>>,
    /// Bearer token the server accepts (None: any).
    accept_token: Mutex<Option<String>>,
}

impl Seen {
    fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.requests
            .lock()
            .iter()
            .filter(|(m, p)| m == method && p.starts_with(path_prefix))
            .count()
    }
    fn total(&self) -> usize {
        self.requests.lock().len()
    }
}

struct TestServer {
    url: String,
    seen: Arc<Seen>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start() -> TestServer {
    let seen = Arc::new(Seen::default());
    let registry = Arc::new(Registry::in_memory());
    let s = seen.clone();
    let app = router(registry).layer(middleware::from_fn(move |req: Request, next: Next| {
        let s = s.clone();
        async move {
            s.requests
                .lock()
                .push((req.method().to_string(), req.uri().to_string()));
            let auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            s.authorization.lock().push(auth.clone());
            let failing = s
                .fail_first
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                let status = s
                    .fail_status
                    .lock()
                    .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return (status, "try again").into_response();
            }
            if let Some(token) = s.accept_token.lock().clone()
                && auth.as_deref() != Some(&format!("Bearer {token}"))
            {
                let mut r: Response = (
                    StatusCode::UNAUTHORIZED,
                    r#"{"error_code":401,"message":"Unauthorized"}"#,
                )
                    .into_response();
                r.headers_mut()
                    .insert("content-type", HeaderValue::from_static("application/json"));
                return r;
            }
            next.run(req).await
        }
    }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    TestServer {
        url,
        seen,
        _stop: stop,
    }
}

fn fast_retry(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    }
}

fn client(url: &str) -> RegistryClient {
    RegistryClient::builder([url])
        .retry(fast_retry(3))
        .build()
        .unwrap()
}

/// A URL on which nothing listens.
async fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

#[tokio::test]
async fn every_endpoint_round_trips() {
    let server = start().await;
    let c = client(&server.url);
    c.check_reachable().await.unwrap();
    let subject = "team/orders:value";

    let mut types = c.schema_types().await.unwrap();
    types.sort();
    assert_eq!(types, ["AVRO", "JSON", "PROTOBUF"]);

    // register: idempotent, same id across subjects
    let id1 = c
        .register(subject, &SchemaDefinition::avro(V1), false)
        .await
        .unwrap();
    assert_eq!(
        c.register(subject, &SchemaDefinition::avro(V1), false)
            .await
            .unwrap(),
        id1
    );
    assert_eq!(
        c.register("other", &SchemaDefinition::avro(V1), false)
            .await
            .unwrap(),
        id1
    );
    assert_eq!(c.versions(subject, false).await.unwrap(), [1]);

    // by id
    let def = c.schema_by_id(id1, Some(subject)).await.unwrap();
    assert_eq!(def.schema, V1);
    assert_eq!(def.schema_type, SchemaType::Avro);
    let parsed = c.schema(id1).await.unwrap();
    assert_eq!(parsed.id(), id1);
    assert_eq!(parsed.raw(), V1);
    assert_eq!(
        parsed.avro().unwrap().full_name().as_deref(),
        Some("acme.Order")
    );
    let mut subjects = c.subjects_for_id(id1, false).await.unwrap();
    subjects.sort();
    assert_eq!(subjects, ["other", subject]);
    assert!(
        c.versions_for_id(id1, false)
            .await
            .unwrap()
            .contains(&SubjectVersion {
                subject: subject.to_string(),
                version: 1
            })
    );

    // compatibility (BACKWARD by default)
    let ok = c
        .test_compatibility(
            subject,
            Some(VersionSelector::Latest),
            &SchemaDefinition::avro(V2_COMPATIBLE),
            true,
        )
        .await
        .unwrap();
    assert!(ok.is_compatible, "{:?}", ok.messages);
    let bad = c
        .test_compatibility(
            subject,
            None,
            &SchemaDefinition::avro(V2_INCOMPATIBLE),
            true,
        )
        .await
        .unwrap();
    assert!(!bad.is_compatible);
    assert!(
        bad.messages.iter().any(|m| m.contains("qty")),
        "{:?}",
        bad.messages
    );
    let err = c
        .register(subject, &SchemaDefinition::avro(V2_INCOMPATIBLE), false)
        .await
        .unwrap_err();
    assert!(err.is_incompatible(), "{err}");
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.class(), ErrorClass::Fatal);

    let id2 = c
        .register(subject, &SchemaDefinition::avro(V2_COMPATIBLE), false)
        .await
        .unwrap();
    assert_ne!(id2, id1);
    let latest = c
        .version(subject, VersionSelector::Latest, false)
        .await
        .unwrap();
    assert_eq!(
        (latest.version, latest.id, latest.subject.as_str()),
        (2, id2, subject)
    );
    assert_eq!(
        c.version_schema_text(subject, VersionSelector::Number(1))
            .await
            .unwrap(),
        V1
    );

    // lookup
    let found = c
        .lookup(subject, &SchemaDefinition::avro(V1), false, false)
        .await
        .unwrap();
    assert_eq!((found.version, found.id), (1, id1));
    let missing = c
        .lookup(
            subject,
            &SchemaDefinition::avro(r#""string""#),
            false,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(missing.error_code(), Some(error_code::SCHEMA_NOT_FOUND));

    // subjects
    let mut all = c.subjects(false).await.unwrap();
    all.sort();
    assert_eq!(all, ["other", subject]);

    // config
    assert_eq!(
        c.config(None, false).await.unwrap(),
        CompatibilityLevel::Backward
    );
    assert_eq!(
        c.set_config(Some(subject), CompatibilityLevel::None)
            .await
            .unwrap(),
        CompatibilityLevel::None
    );
    assert_eq!(
        c.config(Some(subject), false).await.unwrap(),
        CompatibilityLevel::None
    );
    let not_set = c.config(Some("other"), false).await.unwrap_err();
    assert_eq!(
        not_set.error_code(),
        Some(error_code::SUBJECT_COMPATIBILITY_NOT_CONFIGURED)
    );
    assert_eq!(
        c.config(Some("other"), true).await.unwrap(),
        CompatibilityLevel::Backward
    );
    assert_eq!(
        c.delete_config(Some(subject)).await.unwrap(),
        CompatibilityLevel::None
    );
    c.set_config(None, CompatibilityLevel::Full).await.unwrap();
    assert_eq!(
        c.config(None, false).await.unwrap(),
        CompatibilityLevel::Full
    );
    assert_eq!(
        c.delete_config(None).await.unwrap(),
        CompatibilityLevel::Full
    );
    assert_eq!(
        c.config(None, false).await.unwrap(),
        CompatibilityLevel::Backward
    );

    // mode
    assert_eq!(c.mode(None).await.unwrap(), Mode::Readwrite);
    assert_eq!(
        c.set_mode(Some(subject), Mode::Readonly, false)
            .await
            .unwrap(),
        Mode::Readonly
    );
    assert_eq!(c.mode(Some(subject)).await.unwrap(), Mode::Readonly);
    let ro = c
        .register(
            subject,
            &SchemaDefinition::avro(
                r#"{"type":"record","name":"Order","namespace":"acme","fields":[]}"#,
            ),
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(ro.error_code(), Some(error_code::OPERATION_NOT_PERMITTED));
    assert_eq!(c.delete_mode(subject).await.unwrap(), Mode::Readonly);
    let import = c.set_mode(None, Mode::Import, false).await.unwrap_err();
    assert_eq!(
        import.error_code(),
        Some(error_code::OPERATION_NOT_PERMITTED)
    );

    // deletes: version soft then permanent
    let perm_first = c
        .delete_version(subject, VersionSelector::Number(1), true)
        .await
        .unwrap_err();
    assert_eq!(
        perm_first.error_code(),
        Some(error_code::VERSION_NOT_SOFT_DELETED)
    );
    assert_eq!(
        c.delete_version(subject, VersionSelector::Number(1), false)
            .await
            .unwrap(),
        1
    );
    assert_eq!(c.versions(subject, false).await.unwrap(), [2]);
    assert_eq!(c.versions(subject, true).await.unwrap(), [1, 2]);
    let deleted_v1 = c
        .version(subject, VersionSelector::Number(1), true)
        .await
        .unwrap();
    assert_eq!(deleted_v1.id, id1);
    assert_eq!(
        c.delete_version(subject, VersionSelector::Number(1), true)
            .await
            .unwrap(),
        1
    );
    let gone = c
        .version(subject, VersionSelector::Number(1), true)
        .await
        .unwrap_err();
    assert_eq!(gone.error_code(), Some(error_code::VERSION_NOT_FOUND));

    // deletes: subject soft then permanent
    let not_soft = c.delete_subject(subject, true).await.unwrap_err();
    assert_eq!(
        not_soft.error_code(),
        Some(error_code::SUBJECT_NOT_SOFT_DELETED)
    );
    assert_eq!(c.delete_subject(subject, false).await.unwrap(), [2]);
    let again = c.delete_subject(subject, false).await.unwrap_err();
    assert_eq!(again.error_code(), Some(error_code::SUBJECT_SOFT_DELETED));
    assert_eq!(c.subjects(false).await.unwrap(), ["other"]);
    assert!(
        c.subjects(true)
            .await
            .unwrap()
            .contains(&subject.to_string())
    );
    assert_eq!(c.delete_subject(subject, true).await.unwrap(), [2]);
    let nf = c.versions(subject, true).await.unwrap_err();
    assert_eq!(nf.error_code(), Some(error_code::SUBJECT_NOT_FOUND));
    assert!(nf.is_not_found());
    // the id of a schema still used elsewhere survives
    assert_eq!(c.schema_by_id(id1, None).await.unwrap().schema, V1);
    let unknown = c.schema_by_id(9999, None).await.unwrap_err();
    assert_eq!(unknown.error_code(), Some(error_code::SCHEMA_NOT_FOUND));
    assert_eq!(unknown.class(), ErrorClass::Poison);

    // every request went to the path-encoded subject
    assert!(
        server
            .seen
            .count("POST", "/subjects/team%2Forders%3Avalue/versions")
            >= 3
    );
}

#[tokio::test]
async fn references_are_resolved_recursively() {
    let server = start().await;
    let c = client(&server.url);
    let geo = r#"{"type":"record","name":"Geo","namespace":"acme","fields":[{"name":"lat","type":"double"}]}"#;
    let address = r#"{"type":"record","name":"Address","namespace":"acme","fields":[{"name":"at","type":"acme.Geo"}]}"#;
    let customer = r#"{"type":"record","name":"Customer","namespace":"acme","fields":[{"name":"home","type":"acme.Address"},{"name":"work","type":"acme.Geo"}]}"#;
    c.register("geo", &SchemaDefinition::avro(geo), false)
        .await
        .unwrap();
    let geo_ref = SchemaReference {
        name: "acme.Geo".into(),
        subject: "geo".into(),
        version: 1,
    };
    c.register(
        "address",
        &SchemaDefinition::avro(address).with_references(vec![geo_ref.clone()]),
        false,
    )
    .await
    .unwrap();
    let refs = vec![
        SchemaReference {
            name: "acme.Address".into(),
            subject: "address".into(),
            version: 1,
        },
        geo_ref,
    ];
    let id = c
        .register(
            "customer",
            &SchemaDefinition::avro(customer).with_references(refs.clone()),
            false,
        )
        .await
        .unwrap();
    let parsed = c.schema(id).await.unwrap();
    assert_eq!(parsed.references(), refs.as_slice());
    let avro = parsed.avro().unwrap();
    assert_eq!(avro.referenced().len(), 2);
    let canonical = avro.resolved().canonical_form();
    assert!(
        canonical.contains(r#""name":"acme.Geo""#)
            && canonical.contains(r#""name":"acme.Address""#),
        "{canonical}"
    );
    assert_eq!(
        c.referenced_by("geo", VersionSelector::Number(1))
            .await
            .unwrap()
            .len(),
        2
    );
    let blocked = c.delete_subject("geo", false).await.unwrap_err();
    assert_eq!(blocked.error_code(), Some(error_code::REFERENCE_EXISTS));
}

#[tokio::test]
async fn concurrent_misses_for_one_id_make_one_request() {
    let server = start().await;
    let c = client(&server.url);
    let id = c
        .register("s", &SchemaDefinition::avro(V1), false)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.schema(id).await.map(|p| p.id()) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), id);
    }
    assert_eq!(server.seen.count("GET", &format!("/schemas/ids/{id}")), 1);
    c.schema(id).await.unwrap();
    assert_eq!(server.seen.count("GET", &format!("/schemas/ids/{id}")), 1);
}

#[tokio::test]
async fn ids_for_encoding_and_latest_versions_are_cached() {
    let server = start().await;
    let c = RegistryClient::builder([server.url.as_str()])
        .latest_ttl(Duration::from_secs(600))
        .build()
        .unwrap();
    let def = SchemaDefinition::avro(V1);
    let id = c.id_for("s", &def, true).await.unwrap();
    assert_eq!(c.id_for("s", &def, true).await.unwrap(), id);
    assert_eq!(c.id_for("s", &def, false).await.unwrap(), id);
    assert_eq!(server.seen.count("POST", "/subjects/s"), 1);
    let other = c.id_for("t", &def, true).await.unwrap();
    assert_eq!(other, id, "same schema, same id in another subject");
    assert_eq!(server.seen.count("POST", "/subjects/"), 2);

    let a = c.latest("s").await.unwrap();
    let b = c.latest("s").await.unwrap();
    assert_eq!((a.version, b.version), (1, 1));
    assert_eq!(server.seen.count("GET", "/subjects/s/versions/latest"), 1);

    let no_ttl = RegistryClient::builder([server.url.as_str()])
        .latest_ttl(Duration::ZERO)
        .build()
        .unwrap();
    no_ttl.latest("s").await.unwrap();
    no_ttl.latest("s").await.unwrap();
    assert_eq!(server.seen.count("GET", "/subjects/s/versions/latest"), 3);
}

#[tokio::test]
async fn server_errors_and_429_are_retried_until_success() {
    for status in [
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let server = start().await;
        *server.seen.fail_status.lock() = Some(status);
        server.seen.fail_first.store(2, Ordering::SeqCst);
        let c = client(&server.url);
        assert_eq!(c.subjects(false).await.unwrap(), Vec::<String>::new());
        assert_eq!(
            server.seen.total(),
            3,
            "{status}: two failures then success"
        );
    }
}

#[tokio::test]
async fn retries_give_up_with_the_last_error() {
    let server = start().await;
    server.seen.fail_first.store(100, Ordering::SeqCst);
    let c = client(&server.url);
    let err = c.subjects(false).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retriable());
    assert_eq!(server.seen.total(), 4, "first try + 3 retries");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = start().await;
    let c = client(&server.url);
    let err = c.versions("nope", false).await.unwrap_err();
    assert_eq!(err.error_code(), Some(error_code::SUBJECT_NOT_FOUND));
    assert_eq!(
        err.to_string(),
        "list versions of subject 'nope': schema registry answered http 404, error code 40401: Subject 'nope' not found."
    );
    assert_eq!(server.seen.total(), 1);
}

#[tokio::test]
async fn fails_over_to_the_next_url_and_stays_there() {
    let server = start().await;
    let dead = dead_url().await;
    let c = RegistryClient::builder([dead.as_str(), server.url.as_str()])
        .retry(fast_retry(0))
        .build()
        .unwrap();
    c.check_reachable().await.unwrap();
    assert_eq!(c.subjects(false).await.unwrap(), Vec::<String>::new());
    assert_eq!(c.subjects(false).await.unwrap(), Vec::<String>::new());
    // check_reachable probes each URL; the two calls after it went straight
    // to the live URL.
    assert_eq!(server.seen.total(), 3);
}

#[tokio::test]
async fn unreachable_registry_fails_fast_with_every_url() {
    let a = dead_url().await;
    let b = dead_url().await;
    let c = RegistryClient::builder([format!("{a},{b}")])
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = c.check_reachable().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(err, RegistryError::Unreachable { .. }));
    let text = err.to_string();
    assert!(text.starts_with("schema registry unreachable: "), "{text}");
    assert!(text.contains(&a) && text.contains(&b), "{text}");
    assert!(err.is_retriable());
}

#[tokio::test]
async fn basic_auth_is_sent_and_never_printed() {
    let server = start().await;
    let c = RegistryClient::builder([server.url.as_str()])
        .basic_auth("alice", Secret::new("s3cret"))
        .build()
        .unwrap();
    c.subjects(false).await.unwrap();
    // base64("alice:s3cret")
    assert_eq!(
        server
            .seen
            .authorization
            .lock()
            .last()
            .cloned()
            .flatten()
            .as_deref(),
        Some("Basic YWxpY2U6czNjcmV0")
    );
    assert!(!format!("{c:?}").contains("s3cret"));

    let with_url_creds = RegistryClient::builder([server.url.replace("http://", "http://bob:pw@")])
        .build()
        .unwrap();
    with_url_creds.subjects(false).await.unwrap();
    assert_eq!(
        server
            .seen
            .authorization
            .lock()
            .last()
            .cloned()
            .flatten()
            .as_deref(),
        Some("Basic Ym9iOnB3")
    );
}

struct Rotating {
    calls: AtomicUsize,
    refreshes: AtomicUsize,
}

impl TokenProvider for Rotating {
    fn token(&self, refresh: bool) -> TokenFuture<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if refresh {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
        }
        let token = if self.refreshes.load(Ordering::SeqCst) > 0 {
            "fresh"
        } else {
            "stale"
        };
        Box::pin(async move { Ok(Secret::new(token)) })
    }
}

#[tokio::test]
async fn bearer_token_is_refreshed_once_after_401() {
    let server = start().await;
    *server.seen.accept_token.lock() = Some("fresh".to_string());
    let provider = Arc::new(Rotating {
        calls: AtomicUsize::new(0),
        refreshes: AtomicUsize::new(0),
    });
    struct Shared(Arc<Rotating>);
    impl TokenProvider for Shared {
        fn token(&self, refresh: bool) -> TokenFuture<'_> {
            self.0.token(refresh)
        }
    }
    let c = RegistryClient::builder([server.url.as_str()])
        .bearer(Shared(provider.clone()))
        .build()
        .unwrap();
    c.subjects(false).await.unwrap();
    assert_eq!(
        *server.seen.authorization.lock(),
        [
            Some("Bearer stale".to_string()),
            Some("Bearer fresh".to_string())
        ]
    );
    assert_eq!(provider.refreshes.load(Ordering::SeqCst), 1);

    // A token the registry never accepts: one refresh, then the 401 surfaces.
    let static_client = RegistryClient::builder([server.url.as_str()])
        .bearer(StaticToken(Secret::new("wrong")))
        .build()
        .unwrap();
    let err = static_client.subjects(false).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(server.seen.total(), 4);
    let reach = static_client.check_reachable().await.unwrap_err();
    assert_eq!(
        reach.status(),
        Some(401),
        "credentials refused is not 'unreachable'"
    );
}
