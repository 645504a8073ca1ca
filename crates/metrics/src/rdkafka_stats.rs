//! librdkafka statistics bridged to gauges.
//!
//! librdkafka emits a JSON document every `statistics.interval.ms`
//! (format: librdkafka's `STATISTICS.md`). The source and sink crates hand
//! the raw bytes from their client context's `stats_raw` callback to
//! [`RdKafkaStats::update`]; the last parsed sample is read whenever
//! `/metrics` is scraped (or OTLP exports). This crate does not depend on
//! rdkafka.
//!
//! Exported (label `client` = the role given to
//! [`crate::Metrics::rdkafka_stats`]): client queue depth and size, reply
//! queue, tx/rx bytes and messages; per broker (`broker` = node id, only
//! learned brokers — bootstrap and logical coordinator entries are
//! skipped) RTT average and p99, queued and in-flight requests, UP state;
//! per partition (`topic`, `partition`; the internal `-1` partition is
//! skipped) consumer lag, fetch queue (consumers, assigned partitions) and
//! produce queue (producers); consumer group rebalances and assignment size.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Meter;
use parking_lot::Mutex;
use serde::Deserialize;

use crate::MetricsError;
use crate::catalogue::{self as cat, InstrumentSpec};
use crate::metrics::Observed;

/// One statistics sample (the fields kbridge uses; the rest is ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Statistics {
    /// librdkafka handle name, e.g. `rdkafka#consumer-1`.
    pub name: String,
    /// `consumer` or `producer`.
    #[serde(rename = "type")]
    pub client_type: String,
    /// Monotonic clock of the sample, microseconds.
    pub ts: i64,
    /// Operations waiting in the reply queue for `poll`.
    pub replyq: i64,
    /// Messages in the producer queues.
    pub msg_cnt: i64,
    /// Bytes of the messages in the producer queues.
    pub msg_size: i64,
    /// Bytes sent to brokers.
    pub tx_bytes: i64,
    /// Bytes received from brokers.
    pub rx_bytes: i64,
    /// Messages sent.
    pub txmsgs: i64,
    /// Messages received.
    pub rxmsgs: i64,
    /// Brokers by name.
    pub brokers: BTreeMap<String, Broker>,
    /// Topics by name.
    pub topics: BTreeMap<String, Topic>,
    /// Consumer group state (consumers only).
    pub cgrp: Option<ConsumerGroup>,
    /// Idempotence / transaction state (producers only).
    pub eos: Option<Eos>,
}

/// `brokers[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Broker {
    /// `host:port/nodeid`, or a logical name like `GroupCoordinator`.
    pub name: String,
    /// Node id; -1 for bootstrap and logical entries.
    pub nodeid: i32,
    /// `host:port`.
    pub nodename: String,
    /// `learned`, `configured`, `internal` or `logical`.
    pub source: String,
    /// Connection state (`UP`, `DOWN`, `CONNECT`, ...).
    pub state: String,
    /// Requests waiting to be sent.
    pub outbuf_cnt: i64,
    /// Requests sent, awaiting a response.
    pub waitresp_cnt: i64,
    /// Bytes sent.
    pub txbytes: i64,
    /// Bytes received.
    pub rxbytes: i64,
    /// Transmission errors.
    pub txerrs: i64,
    /// Reception errors.
    pub rxerrs: i64,
    /// Round-trip time window, microseconds.
    pub rtt: Window,
}

/// A rolling window (`rtt`, `int_latency`...), microseconds.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Window {
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
    /// Mean.
    pub avg: i64,
    /// Median.
    pub p50: i64,
    /// 95th percentile.
    pub p95: i64,
    /// 99th percentile.
    pub p99: i64,
    /// Number of values in the window.
    pub cnt: i64,
}

/// `topics[]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Topic {
    /// Topic name.
    pub topic: String,
    /// Partitions by id (as a string; `-1` is librdkafka's internal one).
    pub partitions: BTreeMap<String, Partition>,
}

/// `topics[].partitions[]`; offsets are -1001 when unknown.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Partition {
    /// Partition id.
    pub partition: i32,
    /// Assigned to (desired by) this consumer.
    pub desired: bool,
    /// Messages waiting in the first-level produce queue.
    pub msgq_cnt: i64,
    /// Messages ready to be sent to the leader.
    pub xmit_msgq_cnt: i64,
    /// Pre-fetched messages in the consumer queue.
    pub fetchq_cnt: i64,
    /// Next offset the application will see.
    pub app_offset: i64,
    /// Last committed offset.
    pub committed_offset: i64,
    /// Log start offset.
    pub lo_offset: i64,
    /// High watermark.
    pub hi_offset: i64,
    /// Last stable offset.
    pub ls_offset: i64,
    /// High watermark (or LSO) minus committed offset; -1 when unknown.
    pub consumer_lag: i64,
}

/// `cgrp`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ConsumerGroup {
    /// Coordinator state (`up` when joined).
    pub state: String,
    /// Join state (`steady` when assigned).
    pub join_state: String,
    /// Rebalances so far.
    pub rebalance_cnt: i64,
    /// Partitions currently assigned.
    pub assignment_size: i64,
}

/// `eos`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Eos {
    /// Idempotent producer state (`Assigned` when ready).
    pub idemp_state: String,
    /// Transaction state (`Ready`, `InTransaction`, ...).
    pub txn_state: String,
    /// Producer id.
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i64,
}

impl Statistics {
    fn parse(client: &str, json: &[u8]) -> Result<Statistics, MetricsError> {
        serde_json::from_slice(json).map_err(|source| MetricsError::ParseStatistics {
            client: client.to_owned(),
            source,
        })
    }
}

/// The latest sample of one client.
pub(crate) struct StatsSlot {
    role: String,
    client: KeyValue,
    latest: Mutex<Option<Arc<Statistics>>>,
}

impl StatsSlot {
    pub(crate) fn new(role: &str) -> Self {
        StatsSlot {
            role: role.to_owned(),
            client: KeyValue::new("client", role.to_owned()),
            latest: Mutex::new(None),
        }
    }

    fn latest(&self) -> Option<Arc<Statistics>> {
        self.latest.lock().clone()
    }
}

/// Receives one librdkafka client's statistics; from
/// [`crate::Metrics::rdkafka_stats`]. Keep it as long as the client lives.
///
/// ```
/// # let metrics = kbridge_metrics::Metrics::disabled();
/// // in the ClientContext of the source's consumer:
/// // fn stats_raw(&self, statistics: &[u8]) { let _ = self.stats.update(statistics); }
/// let stats = metrics.rdkafka_stats("source");
/// stats.update(br#"{"type":"consumer","rx_bytes":4858}"#)?;
/// assert_eq!(stats.latest().map(|s| s.rx_bytes), Some(4858));
/// # Ok::<(), kbridge_metrics::MetricsError>(())
/// ```
#[derive(Clone)]
pub struct RdKafkaStats {
    slot: Arc<StatsSlot>,
}

impl fmt::Debug for RdKafkaStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RdKafkaStats")
            .field("role", &self.slot.role)
            .finish_non_exhaustive()
    }
}

impl RdKafkaStats {
    pub(crate) fn new(slot: Arc<StatsSlot>) -> Self {
        RdKafkaStats { slot }
    }

    /// The `client` label of this bridge.
    pub fn role(&self) -> &str {
        &self.slot.role
    }

    /// Parses one statistics document and makes it the exported sample.
    /// On error the previous sample stays; nothing is logged (the caller
    /// decides, e.g. `debug!` once).
    pub fn update(&self, json: &[u8]) -> Result<(), MetricsError> {
        let stats = Statistics::parse(&self.slot.role, json)?;
        *self.slot.latest.lock() = Some(Arc::new(stats));
        Ok(())
    }

    /// The last sample accepted by [`update`](Self::update).
    pub fn latest(&self) -> Option<Arc<Statistics>> {
        self.slot.latest()
    }
}

fn learned_brokers(stats: &Statistics) -> impl Iterator<Item = &Broker> {
    stats.brokers.values().filter(|b| b.nodeid >= 0)
}

fn partitions(stats: &Statistics) -> impl Iterator<Item = (&str, &Partition)> {
    stats.topics.values().flat_map(|t| {
        t.partitions
            .values()
            .filter(|p| p.partition >= 0)
            .map(move |p| (t.topic.as_str(), p))
    })
}

#[allow(clippy::cast_precision_loss)] // microsecond RTTs are far below 2^53
fn micros_to_seconds(us: i64) -> f64 {
    us as f64 / 1_000_000.0
}

fn each_sample(observed: &Observed, mut f: impl FnMut(&KeyValue, &Statistics)) {
    observed.for_each_stats(|slot| {
        if let Some(stats) = slot.latest() {
            f(&slot.client, &stats);
        }
    });
}

fn client_gauge(
    meter: &Meter,
    spec: &InstrumentSpec,
    observed: &Arc<Observed>,
    value: fn(&Statistics) -> Option<i64>,
) {
    let observed = Arc::clone(observed);
    meter
        .i64_observable_gauge(spec.name)
        .with_unit(spec.unit)
        .with_description(spec.description)
        .with_callback(move |gauge| {
            each_sample(&observed, |client, stats| {
                if let Some(v) = value(stats) {
                    gauge.observe(v, std::slice::from_ref(client));
                }
            });
        })
        .build();
}

fn client_counter(
    meter: &Meter,
    spec: &InstrumentSpec,
    observed: &Arc<Observed>,
    value: fn(&Statistics) -> Option<i64>,
) {
    let observed = Arc::clone(observed);
    meter
        .u64_observable_counter(spec.name)
        .with_unit(spec.unit)
        .with_description(spec.description)
        .with_callback(move |counter| {
            each_sample(&observed, |client, stats| {
                if let Some(v) = value(stats).and_then(|v| u64::try_from(v).ok()) {
                    counter.observe(v, std::slice::from_ref(client));
                }
            });
        })
        .build();
}

fn broker_attrs(client: &KeyValue, broker: &Broker) -> [KeyValue; 2] {
    [
        client.clone(),
        KeyValue::new("broker", broker.nodeid.to_string()),
    ]
}

fn broker_gauge(
    meter: &Meter,
    spec: &InstrumentSpec,
    observed: &Arc<Observed>,
    value: fn(&Broker) -> i64,
) {
    let observed = Arc::clone(observed);
    meter
        .i64_observable_gauge(spec.name)
        .with_unit(spec.unit)
        .with_description(spec.description)
        .with_callback(move |gauge| {
            each_sample(&observed, |client, stats| {
                for broker in learned_brokers(stats) {
                    gauge.observe(value(broker), &broker_attrs(client, broker));
                }
            });
        })
        .build();
}

fn broker_rtt(
    meter: &Meter,
    spec: &InstrumentSpec,
    observed: &Arc<Observed>,
    value: fn(&Window) -> i64,
) {
    let observed = Arc::clone(observed);
    meter
        .f64_observable_gauge(spec.name)
        .with_unit(spec.unit)
        .with_description(spec.description)
        .with_callback(move |gauge| {
            each_sample(&observed, |client, stats| {
                for broker in learned_brokers(stats) {
                    gauge.observe(
                        micros_to_seconds(value(&broker.rtt)),
                        &broker_attrs(client, broker),
                    );
                }
            });
        })
        .build();
}

fn partition_gauge(
    meter: &Meter,
    spec: &InstrumentSpec,
    observed: &Arc<Observed>,
    value: fn(&Statistics, &Partition) -> Option<i64>,
) {
    let observed = Arc::clone(observed);
    meter
        .i64_observable_gauge(spec.name)
        .with_unit(spec.unit)
        .with_description(spec.description)
        .with_callback(move |gauge| {
            each_sample(&observed, |client, stats| {
                for (topic, p) in partitions(stats) {
                    if let Some(v) = value(stats, p) {
                        gauge.observe(
                            v,
                            &[
                                client.clone(),
                                KeyValue::new("topic", topic.to_owned()),
                                KeyValue::new("partition", i64::from(p.partition)),
                            ],
                        );
                    }
                }
            });
        })
        .build();
}

fn is_consumer(stats: &Statistics) -> bool {
    stats.client_type == "consumer"
}

pub(crate) fn register_observables(meter: &Meter, observed: &Arc<Observed>) {
    client_gauge(meter, &cat::RDKAFKA_QUEUE_MESSAGES, observed, |s| {
        Some(s.msg_cnt)
    });
    client_gauge(meter, &cat::RDKAFKA_QUEUE_SIZE, observed, |s| {
        Some(s.msg_size)
    });
    client_gauge(meter, &cat::RDKAFKA_REPLY_QUEUE, observed, |s| {
        Some(s.replyq)
    });
    client_counter(meter, &cat::RDKAFKA_TRANSMITTED, observed, |s| {
        Some(s.tx_bytes)
    });
    client_counter(meter, &cat::RDKAFKA_RECEIVED, observed, |s| {
        Some(s.rx_bytes)
    });
    client_counter(meter, &cat::RDKAFKA_MESSAGES_TRANSMITTED, observed, |s| {
        Some(s.txmsgs)
    });
    client_counter(meter, &cat::RDKAFKA_MESSAGES_RECEIVED, observed, |s| {
        Some(s.rxmsgs)
    });
    broker_rtt(meter, &cat::RDKAFKA_BROKER_RTT_AVG, observed, |w| w.avg);
    broker_rtt(meter, &cat::RDKAFKA_BROKER_RTT_P99, observed, |w| w.p99);
    broker_gauge(meter, &cat::RDKAFKA_BROKER_REQUESTS_QUEUED, observed, |b| {
        b.outbuf_cnt
    });
    broker_gauge(
        meter,
        &cat::RDKAFKA_BROKER_REQUESTS_IN_FLIGHT,
        observed,
        |b| b.waitresp_cnt,
    );
    broker_gauge(meter, &cat::RDKAFKA_BROKER_UP, observed, |b| {
        i64::from(b.state == "UP")
    });
    partition_gauge(meter, &cat::RDKAFKA_CONSUMER_LAG, observed, |_, p| {
        (p.consumer_lag >= 0).then_some(p.consumer_lag)
    });
    partition_gauge(meter, &cat::RDKAFKA_FETCH_QUEUE, observed, |s, p| {
        (is_consumer(s) && p.desired).then_some(p.fetchq_cnt)
    });
    partition_gauge(meter, &cat::RDKAFKA_PRODUCE_QUEUE, observed, |s, p| {
        (!is_consumer(s)).then_some(p.msgq_cnt.saturating_add(p.xmit_msgq_cnt))
    });
    client_counter(meter, &cat::RDKAFKA_REBALANCES, observed, |s| {
        s.cgrp.as_ref().map(|g| g.rebalance_cnt)
    });
    client_gauge(meter, &cat::RDKAFKA_ASSIGNED_PARTITIONS, observed, |s| {
        s.cgrp.as_ref().map(|g| g.assignment_size)
    });
}
