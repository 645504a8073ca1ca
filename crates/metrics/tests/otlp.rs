//! OTLP/HTTP export reaches a collector (feature `otlp`).
#![cfg(feature = "otlp")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use kbridge_metrics::{Metrics, OtlpOptions};

#[derive(Debug, Clone)]
struct Request {
    path: String,
    content_type: String,
    authorization: String,
    body: Bytes,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_pushed_to_the_collector_on_shutdown() {
    let received: Arc<Mutex<Vec<Request>>> = Arc::default();
    let sink = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/v1/metrics",
        post(move |headers: HeaderMap, body: Bytes| {
            let sink = Arc::clone(&sink);
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                sink.lock().unwrap().push(Request {
                    path: "/v1/metrics".into(),
                    content_type: header("content-type"),
                    authorization: header("authorization"),
                    body,
                });
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let collector = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut options = OtlpOptions::new(format!("http://{addr}"));
    options.interval = Duration::from_secs(3600); // only the final export
    options
        .headers
        .insert("authorization".into(), "Bearer t0ken".into());
    let metrics = Metrics::builder()
        .service_name("kbridge-otlp-test")
        .otlp(options)
        .build()
        .unwrap();
    metrics.source_topic("orders").consumed_batch(3, 300);
    // shutdown flushes synchronously over the blocking client
    tokio::task::spawn_blocking(move || metrics.shutdown())
        .await
        .unwrap()
        .unwrap();

    let requests = received.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "one export on shutdown");
    let request = &requests[0];
    assert_eq!(request.path, "/v1/metrics");
    assert_eq!(request.content_type, "application/x-protobuf");
    assert_eq!(request.authorization, "Bearer t0ken");
    // protobuf carries strings verbatim: instrument, attribute and resource
    let body = &request.body[..];
    for needle in [
        "kbridge.records.in",
        "kbridge.consumed",
        "orders",
        "kbridge-otlp-test",
    ] {
        assert!(
            body.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} not in the export"
        );
    }
    collector.abort();
}
