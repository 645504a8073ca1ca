//! The [`Metrics`] handle: meter provider, exporters and instruments.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{
    BoundCounter, BoundHistogram, Counter, Histogram, Meter, MeterProvider as _, UpDownCounter,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use parking_lot::Mutex;

use crate::catalogue::{self as cat, InstrumentSpec};
use crate::handles::{
    InFlightMetrics, PartitionCell, PartitionMetrics, RegistryMetrics, SinkTopicMetrics,
    SourceTopicMetrics,
};
use crate::health::Readiness;
use crate::rdkafka_stats::{self, RdKafkaStats, StatsSlot};
use crate::{MetricsError, events::Event};

/// Sentinel for "never set" in the atomic gauges.
pub(crate) const UNSET: i64 = i64::MIN;

/// Where and how often to push metrics over OTLP/HTTP (protobuf).
///
/// Always constructible so configuration can carry it; building a
/// [`Metrics`] with it fails with [`MetricsError::OtlpNotCompiled`] unless
/// the crate's `otlp` feature is on.
#[derive(Clone)]
#[non_exhaustive]
pub struct OtlpOptions {
    /// Collector URL: a base (`http://otel-collector:4318`), to which the
    /// metrics path `/v1/metrics` is appended, or a full URL with a path,
    /// used as is.
    pub endpoint: String,
    /// Export period. Default 60 s.
    pub interval: Duration,
    /// Timeout of one export request. Default 10 s.
    pub timeout: Duration,
    /// Extra HTTP headers (often an API key). Values never appear in `Debug`.
    pub headers: BTreeMap<String, String>,
}

impl OtlpOptions {
    /// Options for `endpoint` with the default interval and timeout.
    pub fn new(endpoint: impl Into<String>) -> Self {
        OtlpOptions {
            endpoint: endpoint.into(),
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            headers: BTreeMap::new(),
        }
    }
}

impl OtlpOptions {
    /// The URL metrics are posted to: `endpoint` plus `/v1/metrics` when it
    /// has no path (the OTLP/HTTP rule for a generic endpoint).
    pub fn metrics_url(&self) -> String {
        let url = self.endpoint.trim_end_matches('/');
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        if after_scheme.contains('/') {
            url.to_owned()
        } else {
            format!("{url}/v1/metrics")
        }
    }
}

impl fmt::Debug for OtlpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpOptions")
            .field("endpoint", &self.endpoint)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Configures a [`Metrics`]; see [`Metrics::builder`].
#[derive(Debug, Clone)]
pub struct MetricsBuilder {
    service_name: String,
    service_instance_id: Option<String>,
    otlp: Option<OtlpOptions>,
}

impl MetricsBuilder {
    /// `service.name` of the resource (`target_info` on `/metrics`).
    /// Default `kbridge`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// `service.instance.id` of the resource, e.g. the pod name.
    pub fn service_instance_id(mut self, id: impl Into<String>) -> Self {
        self.service_instance_id = Some(id.into());
        self
    }

    /// Also push every instrument to an OpenTelemetry collector.
    pub fn otlp(mut self, options: OtlpOptions) -> Self {
        self.otlp = Some(options);
        self
    }

    /// Creates the meter provider, the Prometheus reader, the optional OTLP
    /// reader and every instrument of the catalogue.
    pub fn build(self) -> Result<Metrics, MetricsError> {
        let mut resource = Resource::builder().with_service_name(self.service_name);
        if let Some(id) = self.service_instance_id {
            resource = resource.with_attribute(KeyValue::new("service.instance.id", id));
        }
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .scope_info_enabled(false)
            .build()
            .map_err(MetricsError::BuildPrometheusExporter)?;
        let provider = SdkMeterProvider::builder()
            .with_resource(resource.build())
            .with_reader(exporter);
        let provider = match self.otlp {
            None => provider,
            Some(options) => provider.with_reader(otlp_reader(options)?),
        };
        Ok(Metrics::from_provider(provider.build(), Some(registry)))
    }
}

#[cfg(feature = "otlp")]
fn otlp_reader(
    options: OtlpOptions,
) -> Result<
    opentelemetry_sdk::metrics::PeriodicReader<opentelemetry_otlp::MetricExporter>,
    MetricsError,
> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let url = options.metrics_url();
    let headers: HashMap<String, String> = options.headers.into_iter().collect();
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_endpoint(url.clone())
        .with_timeout(options.timeout)
        .with_headers(headers)
        .build()
        .map_err(|source| MetricsError::BuildOtlpExporter {
            endpoint: url.clone(),
            source: Box::new(source),
        })?;
    Ok(
        opentelemetry_sdk::metrics::PeriodicReader::builder(exporter)
            .with_interval(options.interval)
            .build(),
    )
}

#[cfg(not(feature = "otlp"))]
fn otlp_reader(
    options: OtlpOptions,
) -> Result<opentelemetry_sdk::metrics::ManualReader, MetricsError> {
    Err(MetricsError::OtlpNotCompiled {
        endpoint: options.metrics_url(),
    })
}

/// The metrics of one kbridge process: cheap to clone, shared by every
/// component. See the crate docs for how each crate records.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    provider: SdkMeterProvider,
    registry: Option<prometheus::Registry>,
    instruments: Instruments,
    observed: Arc<Observed>,
    readiness: Readiness,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("prometheus", &self.inner.registry.is_some())
            .field("readiness", &self.inner.readiness)
            .finish_non_exhaustive()
    }
}

/// Instruments created once; bound handles for the attribute-free ones.
pub(crate) struct Instruments {
    pub(crate) records_in: Counter<u64>,
    pub(crate) bytes_in: Counter<u64>,
    pub(crate) records_out: Counter<u64>,
    pub(crate) bytes_out: Counter<u64>,
    pub(crate) filtered: Counter<u64>,
    pub(crate) dead_lettered: Counter<u64>,
    pub(crate) errors: Counter<u64>,
    pub(crate) in_flight: UpDownCounter<i64>,
    pub(crate) end_to_end: Histogram<f64>,
    pub(crate) tx_committed: BoundCounter<u64>,
    pub(crate) tx_aborted: BoundCounter<u64>,
    pub(crate) tx_duration_committed: BoundHistogram<f64>,
    pub(crate) tx_duration_aborted: BoundHistogram<f64>,
    pub(crate) registry_hits: BoundCounter<u64>,
    pub(crate) registry_misses: BoundCounter<u64>,
    pub(crate) registry_ok: BoundCounter<u64>,
    pub(crate) registry_err: BoundCounter<u64>,
    pub(crate) registry_duration: BoundHistogram<f64>,
}

/// State read by the observable instruments at collection time.
#[derive(Default)]
pub(crate) struct Observed {
    partitions: Mutex<HashMap<(String, i32), Weak<PartitionCell>>>,
    pub(crate) stats: Mutex<Vec<Weak<StatsSlot>>>,
    watermark_ms: AtomicI64,
}

fn u64_counter(meter: &Meter, spec: &InstrumentSpec) -> Counter<u64> {
    meter
        .u64_counter(spec.name)
        .with_unit(spec.unit)
        .with_description(spec.description)
        .build()
}

fn f64_histogram(meter: &Meter, spec: &InstrumentSpec) -> Histogram<f64> {
    meter
        .f64_histogram(spec.name)
        .with_unit(spec.unit)
        .with_description(spec.description)
        .with_boundaries(cat::LATENCY_BUCKETS_SECONDS.to_vec())
        .build()
}

impl Instruments {
    fn new(meter: &Meter) -> Self {
        let tx_duration = f64_histogram(meter, &cat::TRANSACTION_DURATION);
        let registry_requests = u64_counter(meter, &cat::REGISTRY_REQUESTS);
        let instruments = Instruments {
            records_in: u64_counter(meter, &cat::RECORDS_IN),
            bytes_in: u64_counter(meter, &cat::BYTES_IN),
            records_out: u64_counter(meter, &cat::RECORDS_OUT),
            bytes_out: u64_counter(meter, &cat::BYTES_OUT),
            filtered: u64_counter(meter, &cat::RECORDS_FILTERED),
            dead_lettered: u64_counter(meter, &cat::RECORDS_DEAD_LETTERED),
            errors: u64_counter(meter, &cat::ERRORS),
            in_flight: meter
                .i64_up_down_counter(cat::RECORDS_IN_FLIGHT.name)
                .with_unit(cat::RECORDS_IN_FLIGHT.unit)
                .with_description(cat::RECORDS_IN_FLIGHT.description)
                .build(),
            end_to_end: f64_histogram(meter, &cat::END_TO_END_LATENCY),
            tx_committed: u64_counter(meter, &cat::TRANSACTIONS_COMMITTED).bind(&[]),
            tx_aborted: u64_counter(meter, &cat::TRANSACTIONS_ABORTED).bind(&[]),
            tx_duration_committed: tx_duration.bind(&[KeyValue::new("outcome", "committed")]),
            tx_duration_aborted: tx_duration.bind(&[KeyValue::new("outcome", "aborted")]),
            registry_hits: u64_counter(meter, &cat::REGISTRY_CACHE_HITS).bind(&[]),
            registry_misses: u64_counter(meter, &cat::REGISTRY_CACHE_MISSES).bind(&[]),
            registry_ok: registry_requests.bind(&[KeyValue::new("outcome", "success")]),
            registry_err: registry_requests.bind(&[KeyValue::new("outcome", "error")]),
            registry_duration: f64_histogram(meter, &cat::REGISTRY_REQUEST_DURATION).bind(&[]),
        };
        // Export label-free counters at 0 from the start (like the bound,
        // labelled ones), so the first increment shows up in `increase()`.
        for counter in [
            &instruments.tx_committed,
            &instruments.tx_aborted,
            &instruments.registry_hits,
            &instruments.registry_misses,
        ] {
            counter.add(0);
        }
        instruments.in_flight.add(0, &[]);
        instruments
    }
}

/// Registers an i64 observable gauge whose callback walks the live
/// partitions.
fn partition_gauge(
    meter: &Meter,
    spec: &InstrumentSpec,
    observed: &Arc<Observed>,
    value: fn(&PartitionCell) -> Option<i64>,
) {
    let observed = Arc::clone(observed);
    meter
        .i64_observable_gauge(spec.name)
        .with_unit(spec.unit)
        .with_description(spec.description)
        .with_callback(move |gauge| {
            observed.for_each_partition(|cell| {
                if let Some(v) = value(cell) {
                    gauge.observe(v, cell.attributes());
                }
            });
        })
        .build();
}

fn register_observables(meter: &Meter, observed: &Arc<Observed>) {
    partition_gauge(meter, &cat::CONSUMER_LAG, observed, PartitionCell::lag);
    partition_gauge(
        meter,
        &cat::CONSUMER_COMMITTED_OFFSET,
        observed,
        PartitionCell::committed_offset,
    );
    partition_gauge(
        meter,
        &cat::CONSUMER_CURRENT_OFFSET,
        observed,
        PartitionCell::position,
    );
    partition_gauge(
        meter,
        &cat::CONSUMER_HIGH_WATERMARK,
        observed,
        PartitionCell::high_watermark,
    );
    {
        let observed = Arc::clone(observed);
        let spec = &cat::PARTITION_WATERMARK;
        meter
            .f64_observable_gauge(spec.name)
            .with_unit(spec.unit)
            .with_description(spec.description)
            .with_callback(move |gauge| {
                observed.for_each_partition(|cell| {
                    if let Some(ms) = cell.watermark_ms() {
                        gauge.observe(millis_to_seconds(ms), cell.attributes());
                    }
                });
            })
            .build();
    }
    {
        let observed = Arc::clone(observed);
        let spec = &cat::WATERMARK;
        meter
            .f64_observable_gauge(spec.name)
            .with_unit(spec.unit)
            .with_description(spec.description)
            .with_callback(move |gauge| {
                let ms = observed.watermark_ms.load(Ordering::Relaxed);
                if ms != UNSET {
                    gauge.observe(millis_to_seconds(ms), &[]);
                }
            })
            .build();
    }
    rdkafka_stats::register_observables(meter, observed);
}

#[allow(clippy::cast_precision_loss)] // ms timestamps fit f64's 53-bit mantissa until year 285616
pub(crate) fn millis_to_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

impl Observed {
    pub(crate) fn for_each_partition(&self, mut f: impl FnMut(&PartitionCell)) {
        let mut partitions = self.partitions.lock();
        partitions.retain(|_, weak| match weak.upgrade() {
            Some(cell) => {
                f(&cell);
                true
            }
            None => false,
        });
    }

    pub(crate) fn for_each_stats(&self, mut f: impl FnMut(&StatsSlot)) {
        let mut slots = self.stats.lock();
        slots.retain(|weak| match weak.upgrade() {
            Some(slot) => {
                f(&slot);
                true
            }
            None => false,
        });
    }
}

impl Metrics {
    /// A builder with service name `kbridge`, the Prometheus reader and no
    /// OTLP export.
    pub fn builder() -> MetricsBuilder {
        MetricsBuilder {
            service_name: "kbridge".to_owned(),
            service_instance_id: None,
            otlp: None,
        }
    }

    /// `Metrics::builder().build()`.
    pub fn new() -> Result<Metrics, MetricsError> {
        Metrics::builder().build()
    }

    /// A handle that records nothing and exports nothing: the default for
    /// library users who do not pass a [`Metrics`]. Every recording call is
    /// a cheap no-op; readiness flags still work.
    pub fn disabled() -> Metrics {
        Metrics::from_provider(SdkMeterProvider::builder().build(), None)
    }

    fn from_provider(
        provider: SdkMeterProvider,
        registry: Option<prometheus::Registry>,
    ) -> Metrics {
        let meter = provider.meter("kbridge");
        let observed = Arc::new(Observed {
            watermark_ms: AtomicI64::new(UNSET),
            ..Observed::default()
        });
        let instruments = Instruments::new(&meter);
        register_observables(&meter, &observed);
        Metrics {
            inner: Arc::new(Inner {
                provider,
                registry,
                instruments,
                observed,
                readiness: Readiness::new(),
            }),
        }
    }

    pub(crate) fn instruments(&self) -> &Instruments {
        &self.inner.instruments
    }

    /// The metrics of records read from `topic`: bind once per topic (for
    /// example on partition assignment), then call
    /// [`SourceTopicMetrics::consumed`] per record.
    pub fn source_topic(&self, topic: &str) -> SourceTopicMetrics {
        let attrs = [KeyValue::new("topic", topic.to_owned())];
        let i = self.instruments();
        SourceTopicMetrics::new(
            i.records_in.bind(&attrs),
            i.bytes_in.bind(&attrs),
            i.filtered.bind(&attrs),
        )
    }

    /// The metrics of records written to `topic` (outputs and the DLQ
    /// topic): bind once per topic, call [`SinkTopicMetrics::delivered`] per
    /// acknowledgement.
    pub fn sink_topic(&self, topic: &str) -> SinkTopicMetrics {
        let attrs = [KeyValue::new("topic", topic.to_owned())];
        let i = self.instruments();
        SinkTopicMetrics::new(
            i.records_out.bind(&attrs),
            i.bytes_out.bind(&attrs),
            i.end_to_end.bind(&attrs),
        )
    }

    /// Offsets and watermark of one assigned partition. Returns the live
    /// handle if one exists for this topic-partition; the partition's
    /// series disappear from `/metrics` once every clone is dropped (drop
    /// it on revocation).
    pub fn partition(&self, topic: &str, partition: i32) -> PartitionMetrics {
        let mut partitions = self.inner.observed.partitions.lock();
        let key = (topic.to_owned(), partition);
        if let Some(cell) = partitions.get(&key).and_then(Weak::upgrade) {
            return PartitionMetrics::from_cell(cell);
        }
        let cell = Arc::new(PartitionCell::new(topic, partition));
        partitions.insert(key, Arc::downgrade(&cell));
        PartitionMetrics::from_cell(cell)
    }

    /// Sets the pipeline's event-time watermark (milliseconds since the
    /// Unix epoch), exported as `kbridge_watermark_seconds`.
    pub fn set_watermark_ms(&self, timestamp_ms: i64) {
        self.inner
            .observed
            .watermark_ms
            .store(timestamp_ms, Ordering::Relaxed);
    }

    /// The records-in-flight gauge (sink: add on send, subtract on
    /// acknowledgement or failure).
    pub fn in_flight(&self) -> InFlightMetrics {
        InFlightMetrics::new(self.instruments().in_flight.bind(&[]))
    }

    /// Cache and request counters of the schema registry client.
    pub fn registry(&self) -> RegistryMetrics {
        let i = self.instruments();
        RegistryMetrics::new(
            i.registry_hits.clone(),
            i.registry_misses.clone(),
            i.registry_ok.clone(),
            i.registry_err.clone(),
            i.registry_duration.clone(),
        )
    }

    /// A bridge for one librdkafka client's statistics, exported with
    /// `client="<role>"`. Use a distinct, fixed role per live client
    /// (`source`, `sink`, `dlq`). The client's series disappear when the
    /// returned handle is dropped.
    pub fn rdkafka_stats(&self, role: &str) -> RdKafkaStats {
        let slot = Arc::new(StatsSlot::new(role));
        self.inner.observed.stats.lock().push(Arc::downgrade(&slot));
        RdKafkaStats::new(slot)
    }

    /// Logs and counts one event; see [`crate::events`].
    pub fn emit(&self, event: impl Event) {
        event.emit(self);
    }

    /// The readiness flags behind `/readyz`.
    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    /// Whether a Prometheus reader is attached (false for
    /// [`Metrics::disabled`]).
    pub fn is_enabled(&self) -> bool {
        self.inner.registry.is_some()
    }

    /// Collects every instrument and encodes it in the Prometheus text
    /// exposition format (what `/metrics` serves). Empty when disabled.
    pub fn render_prometheus(&self) -> Result<String, MetricsError> {
        let Some(registry) = &self.inner.registry else {
            return Ok(String::new());
        };
        prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .map_err(MetricsError::EncodePrometheus)
    }

    /// Pushes a final OTLP export and stops the readers. Call once at
    /// shutdown; recording afterwards is a no-op.
    pub fn shutdown(&self) -> Result<(), MetricsError> {
        self.inner
            .provider
            .shutdown()
            .map_err(MetricsError::Shutdown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_otlp_endpoint_gets_the_metrics_path() {
        let url = |e: &str| OtlpOptions::new(e).metrics_url();
        assert_eq!(
            url("http://collector:4318"),
            "http://collector:4318/v1/metrics"
        );
        assert_eq!(
            url("http://collector:4318/"),
            "http://collector:4318/v1/metrics"
        );
        assert_eq!(
            url("https://otlp.example.com/otlp/v1/metrics"),
            "https://otlp.example.com/otlp/v1/metrics"
        );
    }

    #[test]
    fn shutdown_succeeds_with_and_without_a_reader() {
        Metrics::new().unwrap().shutdown().unwrap();
        Metrics::disabled().shutdown().unwrap();
    }

    #[cfg(not(feature = "otlp"))]
    #[test]
    fn otlp_without_the_feature_is_a_clear_error() {
        let err = Metrics::builder()
            .otlp(OtlpOptions::new("http://collector:4318"))
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "otlp export to http://collector:4318/v1/metrics is configured \
             but kbridge was built without the `otlp` feature"
        );
    }
}
