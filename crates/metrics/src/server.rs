//! The HTTP endpoint: `/metrics`, `/healthz`, `/readyz`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Metrics, MetricsError};

/// Content type of the Prometheus text exposition format 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The three routes, for embedding in another axum server:
/// - `GET /metrics`: Prometheus text format (empty for [`Metrics::disabled`]);
/// - `GET /healthz`: 200 `{"status":"ok"}` while the process runs;
/// - `GET /readyz`: 200 or 503 with the [`crate::ReadinessReport`] JSON.
pub fn router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(metrics)
}

async fn metrics_handler(State(metrics): State<Metrics>) -> Response {
    match metrics.render_prometheus() {
        Ok(body) => ([(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], body).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "failed to render /metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, err.to_string()).into_response()
        }
    }
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn readyz(State(metrics): State<Metrics>) -> Response {
    let report = metrics.readiness().report();
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}

/// A running metrics endpoint. Dropping it stops the server too; prefer
/// [`shutdown`](Self::shutdown) to wait for in-flight scrapes.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl MetricsServer {
    /// Listens on `addr` (port 0 picks a free port) and serves
    /// [`router`] on the current tokio runtime.
    pub async fn bind(addr: SocketAddr, metrics: Metrics) -> Result<MetricsServer, MetricsError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::BindServer { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| MetricsError::BindServer { addr, source })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(metrics);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A send or a dropped sender both mean stop.
                    let _ = stopped.await;
                })
                .await
        });
        tracing::info!(address = %local_addr, "metrics endpoint listening");
        Ok(MetricsServer {
            local_addr,
            stop: Some(stop),
            task,
        })
    }

    /// The bound address (with the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits for open requests to finish.
    pub async fn shutdown(mut self) -> Result<(), MetricsError> {
        if let Some(stop) = self.stop.take() {
            // The server may have exited already; then there is no receiver.
            let _ = stop.send(());
        }
        let addr = self.local_addr;
        match (&mut self.task).await {
            Ok(result) => result.map_err(|source| MetricsError::Serve { addr, source }),
            Err(join) => Err(MetricsError::Serve {
                addr,
                source: std::io::Error::other(join),
            }),
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
