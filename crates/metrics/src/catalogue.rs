//! The instrument catalogue: every metric kbridge exports, declared once.
//!
//! Each [`InstrumentSpec`] names an OpenTelemetry instrument (dotted name,
//! UCUM unit, description) together with the Prometheus name the exporter
//! derives from it by the OpenTelemetry → Prometheus rules (dots become
//! underscores, the unit becomes a suffix — `s` → `_seconds`, `By` →
//! `_bytes`, annotations like `{record}` are dropped — and monotonic counters
//! get `_total`). Because the same rules apply when a Prometheus server
//! ingests OTLP, the names are identical on both export paths.
//!
//! Nothing outside this crate creates instruments: other crates record
//! through the typed handles and events of [`crate::Metrics`]. The table in
//! `docs/metrics.md` is checked against [`ALL`] by a test.

/// How an instrument aggregates, in Prometheus terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstrumentKind {
    /// Monotonic sum (`_total`).
    Counter,
    /// Sum that goes up and down, exported as a Prometheus gauge.
    UpDownCounter,
    /// Last observed value.
    Gauge,
    /// Explicit-bucket histogram (`_bucket`, `_sum`, `_count`).
    Histogram,
}

impl InstrumentKind {
    /// The Prometheus `# TYPE` of the exported family.
    pub fn prometheus_type(self) -> &'static str {
        match self {
            InstrumentKind::Counter => "counter",
            InstrumentKind::UpDownCounter | InstrumentKind::Gauge => "gauge",
            InstrumentKind::Histogram => "histogram",
        }
    }
}

/// One declared instrument.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct InstrumentSpec {
    /// OpenTelemetry instrument name (what OTLP export carries).
    pub name: &'static str,
    /// The family name on `/metrics`.
    pub prometheus_name: &'static str,
    /// Aggregation.
    pub kind: InstrumentKind,
    /// UCUM unit (`s`, `By`, `{record}`).
    pub unit: &'static str,
    /// Attribute keys every data point carries, in this order.
    pub labels: &'static [&'static str],
    /// One-line help text (the Prometheus `# HELP`).
    pub description: &'static str,
}

const fn spec(
    name: &'static str,
    prometheus_name: &'static str,
    kind: InstrumentKind,
    unit: &'static str,
    labels: &'static [&'static str],
    description: &'static str,
) -> InstrumentSpec {
    InstrumentSpec {
        name,
        prometheus_name,
        kind,
        unit,
        labels,
        description,
    }
}

use InstrumentKind::{Counter, Gauge, Histogram, UpDownCounter};

/// Bucket bounds (seconds) of the latency histograms: 1 ms to 5 min.
pub const LATENCY_BUCKETS_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

// ---- records and bytes -------------------------------------------------

/// Records read from an input topic, counted before decoding.
pub const RECORDS_IN: InstrumentSpec = spec(
    "kbridge.records.in",
    "kbridge_records_in_total",
    Counter,
    "{record}",
    &["topic"],
    "Records consumed from an input topic, before decoding.",
);
/// Key + value bytes read from an input topic.
pub const BYTES_IN: InstrumentSpec = spec(
    "kbridge.consumed",
    "kbridge_consumed_bytes_total",
    Counter,
    "By",
    &["topic"],
    "Key and value bytes consumed from an input topic.",
);
/// Records acknowledged by the broker on an output topic (DLQ included).
pub const RECORDS_OUT: InstrumentSpec = spec(
    "kbridge.records.out",
    "kbridge_records_out_total",
    Counter,
    "{record}",
    &["topic"],
    "Records acknowledged by the broker on an output topic (the dead-letter topic included).",
);
/// Key + value bytes acknowledged on an output topic.
pub const BYTES_OUT: InstrumentSpec = spec(
    "kbridge.produced",
    "kbridge_produced_bytes_total",
    Counter,
    "By",
    &["topic"],
    "Key and value bytes acknowledged by the broker on an output topic.",
);
/// Records a transform dropped on purpose.
pub const RECORDS_FILTERED: InstrumentSpec = spec(
    "kbridge.records.filtered",
    "kbridge_records_filtered_total",
    Counter,
    "{record}",
    &["topic"],
    "Records dropped by a filter transform, by input topic.",
);
/// Records written to the dead-letter queue.
pub const RECORDS_DEAD_LETTERED: InstrumentSpec = spec(
    "kbridge.records.dead_lettered",
    "kbridge_records_dead_lettered_total",
    Counter,
    "{record}",
    &["topic", "stage", "class"],
    "Records sent to the dead-letter queue, by input topic, failing stage and error class.",
);
/// Errors seen, whatever happened next (DLQ, retry, stop).
pub const ERRORS: InstrumentSpec = spec(
    "kbridge.errors",
    "kbridge_errors_total",
    Counter,
    "{error}",
    &["stage", "class"],
    "Errors by stage and class, whether the record was dead-lettered, retried or the job stopped.",
);
/// Records sent to the producer and not yet acknowledged.
pub const RECORDS_IN_FLIGHT: InstrumentSpec = spec(
    "kbridge.records.in_flight",
    "kbridge_records_in_flight",
    UpDownCounter,
    "{record}",
    &[],
    "Records handed to the producer and not yet acknowledged.",
);
/// Source record timestamp to produce acknowledgement.
pub const END_TO_END_LATENCY: InstrumentSpec = spec(
    "kbridge.end_to_end.latency",
    "kbridge_end_to_end_latency_seconds",
    Histogram,
    "s",
    &["topic"],
    "Time from the input record's timestamp to the broker's acknowledgement of the output record, by output topic.",
);

// ---- consumer position ---------------------------------------------------

/// Log end offset minus committed offset.
pub const CONSUMER_LAG: InstrumentSpec = spec(
    "kbridge.consumer.lag",
    "kbridge_consumer_lag",
    Gauge,
    "{record}",
    &["topic", "partition"],
    "Records between the committed offset (or the position before the first commit) and the high watermark.",
);
/// Offset committed for the group (the next offset to read).
pub const CONSUMER_COMMITTED_OFFSET: InstrumentSpec = spec(
    "kbridge.consumer.committed_offset",
    "kbridge_consumer_committed_offset",
    Gauge,
    "",
    &["topic", "partition"],
    "Offset last committed for the consumer group: the next offset to read after a restart.",
);
/// Position of the consumer (offset of the last record read + 1).
pub const CONSUMER_CURRENT_OFFSET: InstrumentSpec = spec(
    "kbridge.consumer.current_offset",
    "kbridge_consumer_current_offset",
    Gauge,
    "",
    &["topic", "partition"],
    "Consumer position: offset of the last record read plus one.",
);
/// High watermark last seen for the partition.
pub const CONSUMER_HIGH_WATERMARK: InstrumentSpec = spec(
    "kbridge.consumer.high_watermark",
    "kbridge_consumer_high_watermark",
    Gauge,
    "",
    &["topic", "partition"],
    "High watermark (log end offset, or last stable offset under read_committed) last seen.",
);
/// Event-time watermark of one input partition.
pub const PARTITION_WATERMARK: InstrumentSpec = spec(
    "kbridge.partition.watermark",
    "kbridge_partition_watermark_seconds",
    Gauge,
    "s",
    &["topic", "partition"],
    "Event-time watermark of an input partition, seconds since the Unix epoch.",
);
/// Event-time watermark of the job (minimum over its partitions).
pub const WATERMARK: InstrumentSpec = spec(
    "kbridge.watermark",
    "kbridge_watermark_seconds",
    Gauge,
    "s",
    &[],
    "Current event-time watermark of the pipeline, seconds since the Unix epoch.",
);

// ---- transactions --------------------------------------------------------

/// Producer transactions committed.
pub const TRANSACTIONS_COMMITTED: InstrumentSpec = spec(
    "kbridge.transactions.committed",
    "kbridge_transactions_committed_total",
    Counter,
    "{transaction}",
    &[],
    "Producer transactions committed.",
);
/// Producer transactions aborted.
pub const TRANSACTIONS_ABORTED: InstrumentSpec = spec(
    "kbridge.transactions.aborted",
    "kbridge_transactions_aborted_total",
    Counter,
    "{transaction}",
    &[],
    "Producer transactions aborted.",
);
/// Begin-to-commit (or abort) time of a transaction.
pub const TRANSACTION_DURATION: InstrumentSpec = spec(
    "kbridge.transaction.duration",
    "kbridge_transaction_duration_seconds",
    Histogram,
    "s",
    &["outcome"],
    "Time from begin_transaction to the end of commit or abort; outcome is committed or aborted.",
);

// ---- schema registry -----------------------------------------------------

/// Lookups answered from the registry client's cache.
pub const REGISTRY_CACHE_HITS: InstrumentSpec = spec(
    "kbridge.registry.cache.hits",
    "kbridge_registry_cache_hits_total",
    Counter,
    "{lookup}",
    &[],
    "Schema registry lookups answered from the client cache.",
);
/// Lookups that had to ask the registry.
pub const REGISTRY_CACHE_MISSES: InstrumentSpec = spec(
    "kbridge.registry.cache.misses",
    "kbridge_registry_cache_misses_total",
    Counter,
    "{lookup}",
    &[],
    "Schema registry lookups not in the client cache.",
);
/// HTTP requests sent to the registry.
pub const REGISTRY_REQUESTS: InstrumentSpec = spec(
    "kbridge.registry.requests",
    "kbridge_registry_requests_total",
    Counter,
    "{request}",
    &["outcome"],
    "HTTP requests sent to the schema registry; outcome is success or error.",
);
/// Registry request latency.
pub const REGISTRY_REQUEST_DURATION: InstrumentSpec = spec(
    "kbridge.registry.request.duration",
    "kbridge_registry_request_duration_seconds",
    Histogram,
    "s",
    &[],
    "Duration of schema registry HTTP requests, retries included.",
);

// ---- librdkafka statistics -----------------------------------------------

/// `msg_cnt`.
pub const RDKAFKA_QUEUE_MESSAGES: InstrumentSpec = spec(
    "kbridge.rdkafka.queue.messages",
    "kbridge_rdkafka_queue_messages",
    Gauge,
    "{message}",
    &["client"],
    "librdkafka msg_cnt: messages in the producer queues.",
);
/// `msg_size`.
pub const RDKAFKA_QUEUE_SIZE: InstrumentSpec = spec(
    "kbridge.rdkafka.queue.size",
    "kbridge_rdkafka_queue_size_bytes",
    Gauge,
    "By",
    &["client"],
    "librdkafka msg_size: bytes of the messages in the producer queues.",
);
/// `replyq`.
pub const RDKAFKA_REPLY_QUEUE: InstrumentSpec = spec(
    "kbridge.rdkafka.reply_queue",
    "kbridge_rdkafka_reply_queue",
    Gauge,
    "{event}",
    &["client"],
    "librdkafka replyq: events waiting to be served by poll.",
);
/// `tx_bytes`.
pub const RDKAFKA_TRANSMITTED: InstrumentSpec = spec(
    "kbridge.rdkafka.transmitted",
    "kbridge_rdkafka_transmitted_bytes_total",
    Counter,
    "By",
    &["client"],
    "librdkafka tx_bytes: bytes sent to all brokers.",
);
/// `rx_bytes`.
pub const RDKAFKA_RECEIVED: InstrumentSpec = spec(
    "kbridge.rdkafka.received",
    "kbridge_rdkafka_received_bytes_total",
    Counter,
    "By",
    &["client"],
    "librdkafka rx_bytes: bytes received from all brokers.",
);
/// `txmsgs`.
pub const RDKAFKA_MESSAGES_TRANSMITTED: InstrumentSpec = spec(
    "kbridge.rdkafka.messages.transmitted",
    "kbridge_rdkafka_messages_transmitted_total",
    Counter,
    "{message}",
    &["client"],
    "librdkafka txmsgs: messages sent to brokers.",
);
/// `rxmsgs`.
pub const RDKAFKA_MESSAGES_RECEIVED: InstrumentSpec = spec(
    "kbridge.rdkafka.messages.received",
    "kbridge_rdkafka_messages_received_total",
    Counter,
    "{message}",
    &["client"],
    "librdkafka rxmsgs: messages fetched from brokers.",
);
/// `brokers[].rtt.avg`.
pub const RDKAFKA_BROKER_RTT_AVG: InstrumentSpec = spec(
    "kbridge.rdkafka.broker.rtt.avg",
    "kbridge_rdkafka_broker_rtt_avg_seconds",
    Gauge,
    "s",
    &["client", "broker"],
    "librdkafka brokers[].rtt.avg: mean request round-trip time over the last statistics window (fetch long-polls included).",
);
/// `brokers[].rtt.p99`.
pub const RDKAFKA_BROKER_RTT_P99: InstrumentSpec = spec(
    "kbridge.rdkafka.broker.rtt.p99",
    "kbridge_rdkafka_broker_rtt_p99_seconds",
    Gauge,
    "s",
    &["client", "broker"],
    "librdkafka brokers[].rtt.p99: 99th percentile request round-trip time over the last statistics window.",
);
/// `brokers[].outbuf_cnt`.
pub const RDKAFKA_BROKER_REQUESTS_QUEUED: InstrumentSpec = spec(
    "kbridge.rdkafka.broker.requests.queued",
    "kbridge_rdkafka_broker_requests_queued",
    Gauge,
    "{request}",
    &["client", "broker"],
    "librdkafka brokers[].outbuf_cnt: requests waiting to be sent to the broker.",
);
/// `brokers[].waitresp_cnt`.
pub const RDKAFKA_BROKER_REQUESTS_IN_FLIGHT: InstrumentSpec = spec(
    "kbridge.rdkafka.broker.requests.in_flight",
    "kbridge_rdkafka_broker_requests_in_flight",
    Gauge,
    "{request}",
    &["client", "broker"],
    "librdkafka brokers[].waitresp_cnt: requests sent and awaiting a response.",
);
/// `brokers[].state == "UP"`.
pub const RDKAFKA_BROKER_UP: InstrumentSpec = spec(
    "kbridge.rdkafka.broker.up",
    "kbridge_rdkafka_broker_up",
    Gauge,
    "",
    &["client", "broker"],
    "1 when librdkafka's connection to the broker is UP, else 0.",
);
/// `topics[].partitions[].consumer_lag`.
pub const RDKAFKA_CONSUMER_LAG: InstrumentSpec = spec(
    "kbridge.rdkafka.consumer.lag",
    "kbridge_rdkafka_consumer_lag",
    Gauge,
    "{message}",
    &["client", "topic", "partition"],
    "librdkafka consumer_lag: high watermark (or last stable offset) minus committed offset.",
);
/// `topics[].partitions[].fetchq_cnt`.
pub const RDKAFKA_FETCH_QUEUE: InstrumentSpec = spec(
    "kbridge.rdkafka.partition.fetch_queue",
    "kbridge_rdkafka_partition_fetch_queue",
    Gauge,
    "{message}",
    &["client", "topic", "partition"],
    "librdkafka fetchq_cnt: messages fetched and waiting in the consumer's queue.",
);
/// `topics[].partitions[].msgq_cnt + xmit_msgq_cnt`.
pub const RDKAFKA_PRODUCE_QUEUE: InstrumentSpec = spec(
    "kbridge.rdkafka.partition.produce_queue",
    "kbridge_rdkafka_partition_produce_queue",
    Gauge,
    "{message}",
    &["client", "topic", "partition"],
    "librdkafka msgq_cnt + xmit_msgq_cnt: messages waiting to be sent to the partition leader.",
);
/// `cgrp.rebalance_cnt`.
pub const RDKAFKA_REBALANCES: InstrumentSpec = spec(
    "kbridge.rdkafka.consumer.rebalances",
    "kbridge_rdkafka_consumer_rebalances_total",
    Counter,
    "{rebalance}",
    &["client"],
    "librdkafka cgrp.rebalance_cnt: consumer group rebalances (assign or revoke).",
);
/// `cgrp.assignment_size`.
pub const RDKAFKA_ASSIGNED_PARTITIONS: InstrumentSpec = spec(
    "kbridge.rdkafka.consumer.assigned_partitions",
    "kbridge_rdkafka_consumer_assigned_partitions",
    Gauge,
    "{partition}",
    &["client"],
    "librdkafka cgrp.assignment_size: partitions currently assigned to this consumer.",
);

/// Every instrument, in documentation order.
pub const ALL: &[InstrumentSpec] = &[
    RECORDS_IN,
    BYTES_IN,
    RECORDS_OUT,
    BYTES_OUT,
    RECORDS_FILTERED,
    RECORDS_DEAD_LETTERED,
    ERRORS,
    RECORDS_IN_FLIGHT,
    END_TO_END_LATENCY,
    CONSUMER_LAG,
    CONSUMER_COMMITTED_OFFSET,
    CONSUMER_CURRENT_OFFSET,
    CONSUMER_HIGH_WATERMARK,
    PARTITION_WATERMARK,
    WATERMARK,
    TRANSACTIONS_COMMITTED,
    TRANSACTIONS_ABORTED,
    TRANSACTION_DURATION,
    REGISTRY_CACHE_HITS,
    REGISTRY_CACHE_MISSES,
    REGISTRY_REQUESTS,
    REGISTRY_REQUEST_DURATION,
    RDKAFKA_QUEUE_MESSAGES,
    RDKAFKA_QUEUE_SIZE,
    RDKAFKA_REPLY_QUEUE,
    RDKAFKA_TRANSMITTED,
    RDKAFKA_RECEIVED,
    RDKAFKA_MESSAGES_TRANSMITTED,
    RDKAFKA_MESSAGES_RECEIVED,
    RDKAFKA_BROKER_RTT_AVG,
    RDKAFKA_BROKER_RTT_P99,
    RDKAFKA_BROKER_REQUESTS_QUEUED,
    RDKAFKA_BROKER_REQUESTS_IN_FLIGHT,
    RDKAFKA_BROKER_UP,
    RDKAFKA_CONSUMER_LAG,
    RDKAFKA_FETCH_QUEUE,
    RDKAFKA_PRODUCE_QUEUE,
    RDKAFKA_REBALANCES,
    RDKAFKA_ASSIGNED_PARTITIONS,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenTelemetry → Prometheus translation for the units used here.
    fn translate(spec: &InstrumentSpec) -> String {
        let mut name = spec.name.replace('.', "_");
        match spec.unit {
            "s" => name.push_str("_seconds"),
            "By" => name.push_str("_bytes"),
            _ => {}
        }
        if spec.kind == InstrumentKind::Counter {
            name.push_str("_total");
        }
        name
    }

    #[test]
    fn prometheus_names_follow_the_translation_rules() {
        for spec in ALL {
            assert_eq!(translate(spec), spec.prometheus_name, "{}", spec.name);
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ALL.iter().map(|s| s.prometheus_name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}
