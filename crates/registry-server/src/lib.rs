//! `kbridge-registry-server` — an embedded, Confluent-compatible Schema
//! Registry, so local development and tests need no Java.
//!
//! Owns:
//! - the HTTP API ([`router`], [`serve`], [`spawn`]): Confluent's paths,
//!   status codes, `error_code`s and `application/vnd.schemaregistry.v1+json`
//!   content type (any request content type is accepted);
//! - the semantics ([`Registry`]): stable ids (the same schema gets the same
//!   id in every subject), idempotent re-registration, `normalize`,
//!   compatibility enforced on register (default BACKWARD, global and per
//!   subject; AVRO through `kbridge_registry::compat`, JSON and PROTOBUF are
//!   stored after a parse check without compatibility enforcement),
//!   READWRITE/READONLY/READONLY_OVERRIDE/IMPORT modes (IMPORT accepts an
//!   explicit id and version and skips compatibility), soft and permanent
//!   deletes (permanent only after soft: 40405/40407), references;
//! - the stores ([`StoreConfig`]): `memory`, and `kafka`, a compacted topic
//!   (default `_schemas`, Confluent's record layout) replayed on start.
//!
//! Bad JSON answers 400, a body of the wrong shape 422, an unknown schema
//! type or unparsable schema 42201 — never a 500 with a stack trace.
//!
//! Depends on `kbridge-registry` for the API types and the compatibility
//! engine, and on rdkafka for the Kafka store; nothing above that.

mod error;
mod record;
mod registry;
mod routes;
mod schema;
mod state;
mod store;

pub use error::{ApiError, ServerError};
pub use registry::Registry;
pub use routes::{CONTENT_TYPE, router};
pub use schema::SchemaBody;
pub use store::{KafkaStoreConfig, StoreConfig};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::info;

/// Serves `registry` on `listener` until `shutdown` completes, then
/// finishes in-flight requests and flushes the store.
pub async fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    if let Ok(addr) = listener.local_addr() {
        info!(%addr, "schema registry listening");
    }
    let result = axum::serve(listener, router(registry.clone()))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServerError::Serve { source });
    registry.flush();
    info!("schema registry stopped");
    result
}

/// A registry serving in the background (tests, `kbridge` embedding).
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops gracefully and waits for the server to finish.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result,
            Err(join) => Err(ServerError::Serve {
                source: std::io::Error::other(join.to_string()),
            }),
        }
    }
}

/// Opens the store, binds `addr` (`127.0.0.1:0` for a random port) and
/// serves in a background task.
pub async fn spawn(addr: &str, store: &StoreConfig) -> Result<RunningServer, ServerError> {
    let registry = Arc::new(Registry::open(store).await?);
    spawn_with(addr, registry).await
}

/// Like [`spawn`] with an already opened registry.
pub async fn spawn_with(addr: &str, registry: Arc<Registry>) -> Result<RunningServer, ServerError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: addr.to_string(),
        source,
    })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, registry, async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr: local,
        stop: Some(stop),
        task,
    })
}
