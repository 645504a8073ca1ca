//! [`Pipeline`] and its builder.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use kbridge_codec::{Codec, Side};
use kbridge_config::Config;
use kbridge_metrics::{Metrics, ReadinessCheck};
use kbridge_registry::RegistryClient;
use kbridge_sink::KafkaSink;
use kbridge_source::KafkaSource;

use crate::codecs::SideCodec;
use crate::error::PipelineError;
use crate::options::{
    DeadLetter, EventTime, Guarantee, Limits, OutputTopic, RetryPolicy, TransactionLimits,
};
use crate::run::{Alo, Core, CoreParts, Eos, Mode};
use crate::shutdown::Shutdown;
use crate::summary::{Progress, Summary};
use crate::transform::Transform;
use crate::watermark::{WatermarkHandle, WatermarkTracker};

/// Builds a [`Pipeline`], from parts ([`Pipeline::builder`]) or from
/// kbridge's configuration ([`Pipeline::from_config`]).
#[must_use]
pub struct PipelineBuilder {
    pub(crate) source: Option<KafkaSource>,
    pub(crate) sink: Option<KafkaSink>,
    pub(crate) key: Option<Arc<Codec>>,
    pub(crate) value: Option<Arc<Codec>>,
    pub(crate) transforms: Vec<Box<dyn Transform>>,
    pub(crate) output: Option<OutputTopic>,
    pub(crate) dead_letter: DeadLetter,
    pub(crate) guarantee: Option<Guarantee>,
    pub(crate) transactions: TransactionLimits,
    pub(crate) limits: Limits,
    pub(crate) retry: RetryPolicy,
    pub(crate) shutdown: Shutdown,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) metrics: Metrics,
    pub(crate) event_time: EventTime,
    pub(crate) commit_interval: Duration,
    pub(crate) config: Option<Box<Config>>,
    pub(crate) registry: Option<RegistryClient>,
    pub(crate) instance: Option<String>,
    pub(crate) registry_meter: Option<crate::resolver::RegistryMeter>,
}

impl std::fmt::Debug for PipelineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBuilder")
            .field("source", &self.source)
            .field("sink", &self.sink)
            .field(
                "transforms",
                &self.transforms.iter().map(|t| t.name()).collect::<Vec<_>>(),
            )
            .field("output", &self.output)
            .field("dead_letter", &self.dead_letter)
            .field("guarantee", &self.guarantee)
            .field("transactions", &self.transactions)
            .field("limits", &self.limits)
            .field("from_config", &self.config.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for PipelineBuilder {
    fn default() -> Self {
        PipelineBuilder {
            source: None,
            sink: None,
            key: None,
            value: None,
            transforms: Vec::new(),
            output: None,
            dead_letter: DeadLetter::default(),
            guarantee: None,
            transactions: TransactionLimits::default(),
            limits: Limits::default(),
            retry: RetryPolicy::default(),
            shutdown: Shutdown::new(),
            shutdown_timeout: Duration::from_secs(30),
            metrics: Metrics::disabled(),
            event_time: EventTime::default(),
            commit_interval: Duration::from_secs(1),
            config: None,
            registry: None,
            instance: None,
            registry_meter: None,
        }
    }
}

impl PipelineBuilder {
    /// The Kafka source (required when building from parts).
    pub fn source(mut self, source: KafkaSource) -> Self {
        self.source = Some(source);
        self
    }

    /// The Kafka sink (required when building from parts). Its delivery
    /// guarantee decides the pipeline's: a sink built with `exactly_once`
    /// makes an exactly-once pipeline.
    pub fn sink(mut self, sink: KafkaSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Decodes keys and encodes output keys (default: raw bytes).
    pub fn key_codec(mut self, codec: Arc<Codec>) -> Self {
        self.key = Some(codec);
        self
    }

    /// Decodes values and encodes output values (default: raw bytes).
    pub fn value_codec(mut self, codec: Arc<Codec>) -> Self {
        self.value = Some(codec);
        self
    }

    /// Appends a transform (applied in the order added).
    pub fn transform(mut self, transform: Box<dyn Transform>) -> Self {
        self.transforms.push(transform);
        self
    }

    /// Appends transforms (applied in order).
    pub fn transforms(mut self, transforms: impl IntoIterator<Item = Box<dyn Transform>>) -> Self {
        self.transforms.extend(transforms);
        self
    }

    /// Where outputs go unless a transform routes them (default: the
    /// sink's default topic, else every record must be routed).
    pub fn output_topic(mut self, output: OutputTopic) -> Self {
        self.output = Some(output);
        self
    }

    /// The dead-letter queue and the error tolerance (default: enabled,
    /// `{topic}.dlq`, tolerance `all`).
    pub fn dead_letter(mut self, dead_letter: DeadLetter) -> Self {
        self.dead_letter = dead_letter;
        self
    }

    /// States the guarantee the sink must provide; `build` fails if it
    /// does not (default: whatever the sink was built for).
    pub fn guarantee(mut self, guarantee: Guarantee) -> Self {
        self.guarantee = Some(guarantee);
        self
    }

    /// Exactly-once transaction size (default 10,000 records or 100 ms).
    pub fn transactions(mut self, limits: TransactionLimits) -> Self {
        self.transactions = limits;
        self
    }

    /// In-flight limits (backpressure; default 100,000 records, 64 MiB).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Backoff of retriable failures (default 100 ms doubling to 5 s).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The stop switch to watch (default: a new one; see
    /// [`Pipeline::shutdown_handle`]).
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// How long a stopping pipeline may wait for outstanding deliveries
    /// and its last commit (default 30 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Where to record metrics (default: [`Metrics::disabled`]).
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Watermarks and the late-record policy (default: 5 s
    /// out-of-orderness, 60 s idle timeout, late records kept).
    pub fn event_time(mut self, event_time: EventTime) -> Self {
        self.event_time = event_time;
        self
    }

    /// At-least-once: how often durable offsets are committed (default 1 s).
    pub fn commit_interval(mut self, every: Duration) -> Self {
        self.commit_interval = every;
        self
    }

    /// The schema registry client ([`Pipeline::from_config`] with
    /// registry formats needs one).
    pub fn registry(mut self, client: RegistryClient) -> Self {
        self.registry = Some(client);
        self
    }

    /// [`Pipeline::from_config`]: this instance's name in the
    /// transactional id `<sink.transactional_id_prefix>-<instance>` (default:
    /// the host name). Give each concurrently running replica its own, and
    /// a restarted replica the same one again, so that it fences its
    /// previous run.
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Builds the pipeline. From configuration this reads the schemas the
    /// pipeline needs, checks the output schema against the transforms
    /// (before anything is consumed), then creates the source and the sink
    /// (exactly-once: `init_transactions` fences a previous run). Call it
    /// outside any async runtime: it blocks on registry requests.
    pub fn build(mut self) -> Result<Pipeline, PipelineError> {
        if let Some(config) = self.config.take() {
            return crate::setup::build(self, &config);
        }
        let source = self
            .source
            .take()
            .ok_or_else(|| PipelineError::configure("no source given"))?;
        let sink = self
            .sink
            .take()
            .ok_or_else(|| PipelineError::configure("no sink given"))?;
        let key = match self.key.take() {
            Some(c) => SideCodec::shared(Side::Key, c),
            None => SideCodec::bytes(Side::Key).map_err(|source| PipelineError::BuildCodec {
                side: "key",
                source: Box::new(source),
            })?,
        };
        let value = match self.value.take() {
            Some(c) => SideCodec::shared(Side::Value, c),
            None => SideCodec::bytes(Side::Value).map_err(|source| PipelineError::BuildCodec {
                side: "value",
                source: Box::new(source),
            })?,
        };
        let output = match self.output.take() {
            Some(o) => o,
            None => match sink.default_topic() {
                Some(t) => OutputTopic::Fixed(t.to_owned()),
                None => OutputTopic::Routed,
            },
        };
        self.assemble(source, sink, key, value, output)
    }

    /// The last step of both ways to build.
    pub(crate) fn assemble(
        self,
        source: KafkaSource,
        sink: KafkaSink,
        key: SideCodec,
        value: SideCodec,
        output: OutputTopic,
    ) -> Result<Pipeline, PipelineError> {
        let transactional = sink.transactional_id().is_some();
        let guarantee = match (self.guarantee, transactional) {
            (None | Some(Guarantee::ExactlyOnce), true) => Guarantee::ExactlyOnce,
            (None | Some(Guarantee::AtLeastOnce), false) => Guarantee::AtLeastOnce,
            (Some(Guarantee::ExactlyOnce), false) => {
                return Err(PipelineError::configure(
                    "exactly-once needs a sink built with exactly_once (a transactional producer)",
                ));
            }
            (Some(Guarantee::AtLeastOnce), true) => {
                return Err(PipelineError::configure(
                    "at-least-once needs a sink without transactions (it was built with exactly_once)",
                ));
            }
        };
        if self.transactions.max_records == 0 || self.transactions.max_duration.is_zero() {
            return Err(PipelineError::configure(
                "transactions need at least 1 record and a duration above zero",
            ));
        }
        if self.limits.max_in_flight_records == 0 || self.limits.max_in_flight_bytes == 0 {
            return Err(PipelineError::configure(
                "in-flight limits must be at least 1 record and 1 byte",
            ));
        }
        if let OutputTopic::Fixed(t) | OutputTopic::Template(t) = &output
            && t.trim().is_empty()
        {
            return Err(PipelineError::configure("the output topic is empty"));
        }
        let mode = match guarantee {
            Guarantee::AtLeastOnce => Mode::Alo(Box::new(Alo::new(self.commit_interval))),
            Guarantee::ExactlyOnce => Mode::Eos(Box::new(Eos::new(self.transactions))),
        };
        let readiness = self.metrics.readiness();
        let assigned = readiness.require(ReadinessCheck::PartitionsAssigned);
        readiness.require(ReadinessCheck::ProducerReady).set_ready();
        let wm = WatermarkTracker::new(self.event_time.watermarks);
        let watermark = wm.handle();
        let shutdown = self.shutdown.clone();
        let progress = Progress::default();
        let core = Core::new(CoreParts {
            progress: progress.clone(),
            registry_meter: self.registry_meter,
            key,
            value,
            transforms: self.transforms,
            output,
            dead_letter: self.dead_letter,
            sink,
            mode,
            limits: self.limits,
            retry: self.retry,
            shutdown: self.shutdown,
            shutdown_timeout: self.shutdown_timeout,
            metrics: self.metrics,
            late: self.event_time.late,
            wm,
            assigned,
        });
        Ok(Pipeline {
            core,
            source,
            watermark,
            shutdown,
            guarantee,
            progress,
        })
    }
}

/// A built pipeline: source → decode → transforms → encode → sink, with a
/// dead-letter queue, at-least-once or exactly-once.
///
/// [`Pipeline::run`] runs it on the calling thread (synchronously: the
/// Kafka clients are polled in a loop) until the source finishes (stop
/// offsets), [`Shutdown::request`] is called, or an error stops it.
pub struct Pipeline {
    core: Core,
    source: KafkaSource,
    watermark: WatermarkHandle,
    shutdown: Shutdown,
    guarantee: Guarantee,
    progress: Progress,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("source", &self.source)
            .field("guarantee", &self.guarantee)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A builder from parts: source, codecs, transforms, sink, options.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// A builder from kbridge's configuration: `[source]`, `[consumer]`,
    /// `[codec.*]`, `[sink]`, `[producer]`, `[dead_letter]`, the shutdown
    /// timeout, and `transforms` already built by the caller (the
    /// `kbridge-transforms` crate parses the configuration's
    /// `[[transforms]]`; library users may pass their own). Add
    /// [`PipelineBuilder::registry`] for registry formats, and metrics, a
    /// shutdown switch and the instance name, then [`PipelineBuilder::build`].
    pub fn from_config(config: &Config, transforms: Vec<Box<dyn Transform>>) -> PipelineBuilder {
        PipelineBuilder {
            config: Some(Box::new(config.clone())),
            transforms,
            shutdown_timeout: config.shutdown_timeout,
            ..PipelineBuilder::default()
        }
    }

    /// The guarantee this pipeline runs with.
    pub fn guarantee(&self) -> Guarantee {
        self.guarantee
    }

    /// The combined event-time watermark, readable from any thread.
    pub fn watermark(&self) -> WatermarkHandle {
        self.watermark.clone()
    }

    /// Live totals, for a progress display.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
    }

    /// The switch that stops this pipeline.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Runs on the calling thread until the source finishes, a shutdown is
    /// requested, or an error stops it. On the way out it commits what is
    /// durable (exactly-once: the open transaction; at-least-once: the
    /// offsets of acknowledged records), within the shutdown timeout.
    pub fn run(self) -> Result<Summary, PipelineError> {
        let Pipeline { core, source, .. } = self;
        let result = core.run(&source);
        source.close();
        result
    }

    /// [`Pipeline::run`] on a thread of its own (`kbridge-pipeline`).
    pub fn spawn(self) -> Result<JoinHandle<Result<Summary, PipelineError>>, PipelineError> {
        std::thread::Builder::new()
            .name("kbridge-pipeline".to_owned())
            .spawn(move || self.run())
            .map_err(|source| PipelineError::SpawnThread { source })
    }
}
