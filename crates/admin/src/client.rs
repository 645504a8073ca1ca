//! [`Cluster`]: the librdkafka properties (from `kbridge-config`) and the
//! per-request timeout every tool uses to reach the cluster.

use crate::AdminError;
use kbridge_config::{ClientProperties, Config};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::BaseConsumer;
use rdkafka::metadata::Metadata;
use std::fmt;
use std::time::Duration;

/// The default limit of one admin request, metadata fetch or offset lookup.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How the tools reach the cluster: the admin, consumer and producer
/// properties of one [`Config`] (brokers, security, passthrough maps) and
/// the time limit of each request.
#[derive(Clone)]
pub struct Cluster {
    admin: ClientProperties,
    consumer: ClientProperties,
    producer: ClientProperties,
    timeout: Duration,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ClientProperties redact secrets in their own Debug.
        f.debug_struct("Cluster")
            .field("brokers", &self.brokers())
            .field("admin", &self.admin)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// The clients of `config`, with [`DEFAULT_TIMEOUT`] per request.
    pub fn from_config(config: &Config) -> Self {
        Cluster {
            admin: config.client_config_for_admin(),
            consumer: config.client_config_for_consumer(),
            producer: config.client_config_for_producer(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sets the limit of each request (metadata, admin call, offset lookup).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit of each request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `bootstrap.servers`.
    pub fn brokers(&self) -> &str {
        self.admin.get("bootstrap.servers").unwrap_or("")
    }

    /// Admin properties plus no topic auto-creation: for metadata and
    /// watermark lookups that must not create what they look at.
    pub(crate) fn metadata_client(&self) -> Result<BaseConsumer, AdminError> {
        let mut cfg = to_client_config(&self.admin, &[]);
        cfg.set("allow.auto.create.topics", "false");
        cfg.create().map_err(|source| AdminError::CreateClient {
            client: "consumer",
            source,
        })
    }

    /// An admin client.
    pub(crate) fn admin_client(&self) -> Result<AdminClient<DefaultClientContext>, AdminError> {
        to_client_config(&self.admin, &[])
            .create()
            .map_err(|source| AdminError::CreateClient {
                client: "admin",
                source,
            })
    }

    /// Admin request options bounded by the timeout.
    pub(crate) fn admin_options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout))
    }

    /// Consumer properties, with `group.id` replaced by `group` (or removed),
    /// no topic auto-creation, then `extra`.
    pub(crate) fn consumer_config(
        &self,
        group: Option<&str>,
        extra: &[(&str, &str)],
    ) -> ClientConfig {
        let mut cfg = to_client_config(&self.consumer, &["group.id"]);
        if let Some(group) = group {
            cfg.set("group.id", group);
        }
        cfg.set("allow.auto.create.topics", "false");
        for (k, v) in extra {
            cfg.set(*k, *v);
        }
        cfg
    }

    /// Producer properties, then `extra`.
    pub(crate) fn producer_config(&self, extra: &[(&str, &str)]) -> ClientConfig {
        let mut cfg = to_client_config(&self.producer, &[]);
        for (k, v) in extra {
            cfg.set(*k, *v);
        }
        cfg
    }

    /// Cluster metadata (one topic, or all), within the timeout.
    pub(crate) fn metadata(
        &self,
        client: &BaseConsumer,
        topic: Option<&str>,
    ) -> Result<Metadata, AdminError> {
        use rdkafka::consumer::Consumer;
        client
            .fetch_metadata(topic, self.timeout)
            .map_err(|source| AdminError::FetchMetadata {
                brokers: self.brokers().to_string(),
                source,
            })
    }
}

fn to_client_config(props: &ClientProperties, skip: &[&str]) -> ClientConfig {
    let mut cfg = ClientConfig::new();
    for (k, v) in props.iter() {
        if !skip.contains(&k) {
            cfg.set(k, v);
        }
    }
    cfg
}
