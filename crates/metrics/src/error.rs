//! The one error type of `kbridge-metrics`.

use std::net::SocketAddr;

/// Everything that can fail in this crate.
///
/// None of these concern a record: a metrics failure never sends a record to
/// the dead-letter queue. Setup errors ([`BuildPrometheusExporter`],
/// [`BuildOtlpExporter`], [`OtlpNotCompiled`], [`BindServer`],
/// [`InitTracing`]) are fatal at start-up; [`ParseStatistics`] is a
/// per-sample problem the caller logs and skips.
///
/// [`BuildPrometheusExporter`]: MetricsError::BuildPrometheusExporter
/// [`BuildOtlpExporter`]: MetricsError::BuildOtlpExporter
/// [`OtlpNotCompiled`]: MetricsError::OtlpNotCompiled
/// [`BindServer`]: MetricsError::BindServer
/// [`InitTracing`]: MetricsError::InitTracing
/// [`ParseStatistics`]: MetricsError::ParseStatistics
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The Prometheus reader could not be created or registered.
    #[error("failed to build the prometheus exporter")]
    BuildPrometheusExporter(#[source] opentelemetry_sdk::error::OTelSdkError),

    /// Gathered metrics could not be encoded in the Prometheus text format.
    #[error("failed to encode metrics in the prometheus text format")]
    EncodePrometheus(#[source] prometheus::Error),

    /// The OTLP exporter could not be created (bad endpoint, TLS setup).
    #[error("failed to build the otlp metric exporter for {endpoint}")]
    BuildOtlpExporter {
        /// The configured collector endpoint.
        endpoint: String,
        /// What the exporter builder reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// OTLP export was configured but this binary was built without the
    /// `otlp` feature of `kbridge-metrics`.
    #[error(
        "otlp export to {endpoint} is configured but kbridge was built without the `otlp` feature"
    )]
    OtlpNotCompiled {
        /// The configured collector endpoint.
        endpoint: String,
    },

    /// Flushing or shutting down the meter provider failed.
    #[error("failed to shut down the meter provider")]
    Shutdown(#[source] opentelemetry_sdk::error::OTelSdkError),

    /// The HTTP endpoint could not listen on its address.
    #[error("failed to bind the metrics server to {addr}")]
    BindServer {
        /// The address from the configuration.
        addr: SocketAddr,
        /// The listener error (address in use, permission denied...).
        #[source]
        source: std::io::Error,
    },

    /// The HTTP endpoint stopped with an I/O error.
    #[error("the metrics server on {addr} failed")]
    Serve {
        /// The address it was listening on.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A librdkafka statistics document was not valid JSON of the expected
    /// shape. The previous sample for this client stays exported.
    #[error("failed to parse librdkafka statistics of client {client}")]
    ParseStatistics {
        /// The client role given to [`crate::Metrics::rdkafka_stats`].
        client: String,
        /// The JSON error, with line and column.
        #[source]
        source: serde_json::Error,
    },

    /// The log filter directive (`RUST_LOG` syntax) does not parse.
    #[error("invalid log filter {filter:?}")]
    InvalidLogFilter {
        /// The directive as given.
        filter: String,
        /// The parser's complaint.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },

    /// The log format is not `pretty` or `json`.
    #[error("unknown log format {value:?}, expected pretty or json")]
    UnknownLogFormat {
        /// The value as given.
        value: String,
    },

    /// A global tracing subscriber was already installed.
    #[error("failed to install the tracing subscriber")]
    InitTracing(#[source] Box<dyn std::error::Error + Send + Sync>),
}
