//! Reading a topic for people and scripts: [`TopicReader`] (start positions,
//! optional group commits, follow or stop at the end) and
//! [`RecordDecoder`] (keys and values to JSON: Confluent-framed Avro through
//! the registry, JSON, text, or base64).
//!
//! The end of a topic is detected from librdkafka's partition EOF events
//! (`enable.partition.eof`) plus an idle timeout, never from the high
//! watermark alone: some brokers (tansu) under-report it.

use crate::{AdminError, Cluster};
use kbridge_codec::json::base64_encode;
use kbridge_codec::{Codec, CodecError, JsonStyle, SchemaRef, SchemaResolver, Side, WireFormat};
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Map, Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where to start reading each partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The first retained record.
    Earliest,
    /// Only records written from now on.
    Latest,
    /// The group's committed offsets (earliest where there are none).
    Committed,
    /// The first record at or after this time (ms since the epoch).
    Timestamp(i64),
    /// This offset in every partition read.
    Offset(i64),
    /// This many records before the end of every partition.
    FromEnd(i64),
}

impl FromStr for StartFrom {
    type Err = AdminError;

    /// `earliest` (`beginning`), `latest` (`end`), `committed`, an offset
    /// (`42`), a count from the end (`-10`), an RFC 3339 time
    /// (`2024-05-01T00:00:00Z`) or epoch milliseconds after `@` (`@1714521600000`).
    fn from_str(s: &str) -> Result<Self, AdminError> {
        let s = s.trim();
        let bad = |reason: String| AdminError::invalid("start position", reason);
        match s.to_ascii_lowercase().as_str() {
            "earliest" | "beginning" => return Ok(StartFrom::Earliest),
            "latest" | "end" => return Ok(StartFrom::Latest),
            "committed" | "stored" => return Ok(StartFrom::Committed),
            _ => {}
        }
        if let Some(ms) = s.strip_prefix('@') {
            return ms
                .parse()
                .map(StartFrom::Timestamp)
                .map_err(|_| bad(format!("'{s}': expected epoch milliseconds after '@'")));
        }
        if let Ok(n) = s.parse::<i64>() {
            return Ok(if n < 0 {
                StartFrom::FromEnd(-n)
            } else {
                StartFrom::Offset(n)
            });
        }
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| StartFrom::Timestamp(t.timestamp_millis()))
            .map_err(|e| {
                bad(format!(
                    "'{s}' is not earliest, latest, committed, an offset, -N or an RFC 3339 time ({e})"
                ))
            })
    }
}

/// What to read and how.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The topic.
    pub topic: String,
    /// Only these partitions (default: all).
    pub partitions: Option<Vec<i32>>,
    /// Start position; `None`: the group's commits with a group, else earliest.
    pub from: Option<StartFrom>,
    /// Consumer group: read positions are committed under it. With a
    /// group, no partitions and a start of committed/earliest/latest the
    /// reader joins the group (subscribe), the start being the fallback
    /// for partitions without commits; otherwise it assigns partitions
    /// itself and commits under the group id.
    pub group: Option<String>,
    /// Keep waiting for new records at the end.
    pub follow: bool,
    /// Not following: stop after this long without a record, even if a
    /// partition never reported its end.
    pub idle_timeout: Duration,
    /// How long to wait for the group to assign partitions.
    pub join_timeout: Duration,
    /// Extra librdkafka consumer properties (applied last).
    pub librdkafka: Vec<(String, String)>,
}

impl ReadOptions {
    /// All partitions from the earliest record, stopping at the end.
    pub fn to_end(topic: impl Into<String>) -> Self {
        ReadOptions {
            topic: topic.into(),
            partitions: None,
            from: Some(StartFrom::Earliest),
            group: None,
            follow: false,
            idle_timeout: Duration::from_secs(5),
            join_timeout: Duration::from_secs(60),
            librdkafka: Vec::new(),
        }
    }
}

/// A record read from Kafka (owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp (ms since the epoch), if the record has one.
    pub timestamp_ms: Option<i64>,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes.
    pub value: Option<Vec<u8>>,
    /// Headers in order (a header may repeat; values may be null).
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl ConsumedRecord {
    /// Headers as borrowed pairs.
    pub fn header_pairs(&self) -> impl Iterator<Item = (&str, Option<&[u8]>)> + Clone {
        self.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }
}

/// What [`TopicReader::poll`] saw.
#[derive(Debug)]
pub enum ReadEvent {
    /// A record.
    Record(ConsumedRecord),
    /// Nothing within the poll timeout; reading goes on.
    Idle,
    /// Not following, and every partition is at its end (or nothing came
    /// for the idle timeout).
    End,
}

/// Reads one topic from chosen positions.
pub struct TopicReader {
    consumer: BaseConsumer<ReaderContext>,
    topic: String,
    group: Option<String>,
    subscribed: bool,
    follow: bool,
    idle_timeout: Duration,
    join_deadline: Instant,
    last_progress: Instant,
    assigned: BTreeSet<i32>,
    at_end: BTreeSet<i32>,
    to_commit: BTreeMap<i32, i64>,
    committed_up_to: BTreeMap<i32, i64>,
    last_commit: Instant,
}

impl std::fmt::Debug for TopicReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicReader")
            .field("topic", &self.topic)
            .field("group", &self.group)
            .field("assigned", &self.assigned)
            .finish_non_exhaustive()
    }
}

/// Keeps partition-EOF notices (which the reader handles) out of the
/// error log; other client errors are logged as warnings (librdkafka
/// retries them).
#[derive(Debug, Clone, Copy)]
pub struct ReaderContext;

impl ClientContext for ReaderContext {
    fn error(&self, error: KafkaError, reason: &str) {
        match error {
            KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF) => {
                tracing::trace!(reason, "partition end")
            }
            e => tracing::warn!(error = %e, reason, "kafka client error"),
        }
    }
}

impl ConsumerContext for ReaderContext {}

const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

impl TopicReader {
    /// Checks that the topic (and the partitions asked for) exist, then
    /// starts reading.
    pub fn open(cluster: &Cluster, opts: &ReadOptions) -> Result<Self, AdminError> {
        let topic = opts.topic.clone();
        let existing = crate::topics::topic_partitions(cluster, &topic)?;
        let partitions: Vec<i32> = match &opts.partitions {
            Some(wanted) => {
                for p in wanted {
                    if !existing.iter().any(|e| e.partition == *p) {
                        return Err(AdminError::invalid(
                            "partition",
                            format!(
                                "topic '{topic}' has no partition {p} (it has {})",
                                existing.len()
                            ),
                        ));
                    }
                }
                wanted.clone()
            }
            None => existing.iter().map(|p| p.partition).collect(),
        };
        let from = opts.from.unwrap_or(if opts.group.is_some() {
            StartFrom::Committed
        } else {
            StartFrom::Earliest
        });
        if from == StartFrom::Committed && opts.group.is_none() {
            return Err(AdminError::invalid(
                "start position",
                "`committed` needs a consumer group (--group)",
            ));
        }
        let subscribe = opts.group.is_some()
            && opts.partitions.is_none()
            && matches!(
                from,
                StartFrom::Committed | StartFrom::Earliest | StartFrom::Latest
            );
        let reset = if from == StartFrom::Latest {
            "latest"
        } else {
            "earliest"
        };
        let mut extra: Vec<(&str, &str)> = vec![
            ("enable.partition.eof", "true"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", reset),
        ];
        extra.extend(
            opts.librdkafka
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        // librdkafka's assign() needs a group id even when nothing is
        // committed; without --group a private one is used and never
        // committed to (the broker keeps no state for it).
        let private_group = format!(
            "kbridge-reader-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let consumer: BaseConsumer<ReaderContext> = cluster
            .consumer_config(
                Some(opts.group.as_deref().unwrap_or(&private_group)),
                &extra,
            )
            .create_with_context(ReaderContext)
            .map_err(|source| AdminError::CreateClient {
                client: "consumer",
                source,
            })?;
        let subscribe_err = |source| AdminError::Subscribe {
            topic: topic.clone(),
            source,
        };
        let mut assigned = BTreeSet::new();
        if subscribe {
            consumer.subscribe(&[&topic]).map_err(subscribe_err)?;
        } else {
            let mut tpl = TopicPartitionList::new();
            for p in &partitions {
                let offset = match from {
                    StartFrom::Earliest => Offset::Beginning,
                    StartFrom::Latest => Offset::End,
                    StartFrom::Committed => Offset::Stored,
                    StartFrom::Offset(o) => Offset::Offset(o),
                    StartFrom::FromEnd(n) => Offset::OffsetTail(n),
                    // looked up below
                    StartFrom::Timestamp(t) => Offset::Offset(t),
                };
                tpl.add_partition_offset(&topic, *p, offset)
                    .map_err(subscribe_err)?;
            }
            if let StartFrom::Timestamp(ms) = from {
                tpl = consumer
                    .offsets_for_times(tpl, cluster.timeout())
                    .map_err(|source| AdminError::OffsetsForTimes {
                        topic: topic.clone(),
                        timestamp_ms: ms,
                        source,
                    })?;
                // partitions with no record at or after the time: their end
                for e in tpl.elements() {
                    if !matches!(e.offset(), Offset::Offset(_)) {
                        tracing::debug!(
                            topic = %topic,
                            partition = e.partition(),
                            "no record at or after the start time"
                        );
                    }
                }
                let mut fixed = TopicPartitionList::new();
                for e in tpl.elements() {
                    let offset = match e.offset() {
                        Offset::Offset(o) if o >= 0 => Offset::Offset(o),
                        _ => Offset::End,
                    };
                    fixed
                        .add_partition_offset(&topic, e.partition(), offset)
                        .map_err(subscribe_err)?;
                }
                tpl = fixed;
            }
            consumer.assign(&tpl).map_err(subscribe_err)?;
            assigned.extend(partitions.iter().copied());
        }
        let now = Instant::now();
        Ok(TopicReader {
            consumer,
            topic,
            group: opts.group.clone(),
            subscribed: subscribe,
            follow: opts.follow,
            idle_timeout: opts.idle_timeout,
            join_deadline: now + opts.join_timeout,
            last_progress: now,
            assigned,
            at_end: BTreeSet::new(),
            to_commit: BTreeMap::new(),
            committed_up_to: BTreeMap::new(),
            last_commit: now,
        })
    }

    /// The partitions being read.
    pub fn assigned(&self) -> &BTreeSet<i32> {
        &self.assigned
    }

    fn refresh_assignment(&mut self) {
        if !self.subscribed {
            return;
        }
        let Ok(tpl) = self.consumer.assignment() else {
            return;
        };
        let now: BTreeSet<i32> = tpl
            .elements()
            .iter()
            .filter(|e| e.topic() == self.topic)
            .map(|e| e.partition())
            .collect();
        if now != self.assigned {
            tracing::debug!(topic = %self.topic, partitions = ?now, "assignment changed");
            self.at_end.retain(|p| now.contains(p));
            self.assigned = now;
            self.last_progress = Instant::now();
        }
    }

    /// Waits up to `timeout` for the next record.
    pub fn poll(&mut self, timeout: Duration) -> Result<ReadEvent, AdminError> {
        self.maybe_commit();
        let polled = match self.consumer.poll(timeout) {
            Some(Ok(m)) => Some(Ok(owned(&m))),
            Some(Err(e)) => Some(Err(e)),
            None => None,
        };
        self.refresh_assignment();
        match polled {
            Some(Ok(record)) => {
                let partition = record.partition;
                self.at_end.remove(&partition);
                self.last_progress = Instant::now();
                if self.group.is_some() {
                    self.to_commit.insert(partition, record.offset + 1);
                }
                return Ok(ReadEvent::Record(record));
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                self.at_end.insert(p);
            }
            Some(Err(e)) => {
                if let KafkaError::MessageConsumption(code) = &e
                    && matches!(
                        code,
                        RDKafkaErrorCode::UnknownTopicOrPartition
                            | RDKafkaErrorCode::TopicAuthorizationFailed
                            | RDKafkaErrorCode::GroupAuthorizationFailed
                    )
                {
                    return Err(AdminError::Consume {
                        topic: self.topic.clone(),
                        source: e,
                    });
                }
                tracing::warn!(topic = %self.topic, error = %e, "consumer error (retrying)");
            }
            None => {}
        }
        if self.follow {
            return Ok(ReadEvent::Idle);
        }
        if self.subscribed && self.assigned.is_empty() {
            if Instant::now() > self.join_deadline {
                return Err(AdminError::Consume {
                    topic: self.topic.clone(),
                    source: KafkaError::Subscription(format!(
                        "group '{}' assigned no partition of '{}' in time",
                        self.group.as_deref().unwrap_or(""),
                        self.topic
                    )),
                });
            }
            return Ok(ReadEvent::Idle);
        }
        let all_at_end = !self.assigned.is_empty() && self.assigned.is_subset(&self.at_end);
        if all_at_end || self.last_progress.elapsed() >= self.idle_timeout {
            return Ok(ReadEvent::End);
        }
        Ok(ReadEvent::Idle)
    }

    fn pending(&self) -> Option<TopicPartitionList> {
        let mut tpl = TopicPartitionList::new();
        for (p, o) in &self.to_commit {
            if self.committed_up_to.get(p) != Some(o) {
                tpl.add_partition_offset(&self.topic, *p, Offset::Offset(*o))
                    .ok()?;
            }
        }
        (tpl.count() > 0).then_some(tpl)
    }

    fn maybe_commit(&mut self) {
        if self.group.is_none() || self.last_commit.elapsed() < COMMIT_INTERVAL {
            return;
        }
        self.last_commit = Instant::now();
        if let Some(tpl) = self.pending() {
            match self.consumer.commit(&tpl, CommitMode::Async) {
                Ok(()) => self.committed_up_to = self.to_commit.clone(),
                Err(e) => tracing::warn!(topic = %self.topic, error = %e, "async commit failed"),
            }
        }
    }

    /// Commits the positions read so far (with a group), synchronously.
    pub fn commit(&mut self) -> Result<(), AdminError> {
        let Some(group) = &self.group else {
            return Ok(());
        };
        if let Some(tpl) = self.pending() {
            self.consumer
                .commit(&tpl, CommitMode::Sync)
                .map_err(|source| AdminError::Commit {
                    group: group.clone(),
                    source,
                })?;
            self.committed_up_to = self.to_commit.clone();
        }
        Ok(())
    }

    /// Commits (with a group) and leaves the group.
    pub fn close(mut self) -> Result<(), AdminError> {
        let result = self.commit();
        if self.subscribed {
            self.consumer.unsubscribe();
        }
        result
    }
}

fn owned(m: &BorrowedMessage<'_>) -> ConsumedRecord {
    let headers = m
        .headers()
        .map(|hs| {
            hs.iter()
                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default();
    ConsumedRecord {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        timestamp_ms: m.timestamp().to_millis(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers,
    }
}

/// How to read keys or values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataFormat {
    /// Confluent-framed Avro when the bytes look like it and a registry is
    /// configured, else JSON, else UTF-8 text, else base64.
    #[default]
    Auto,
    /// Confluent-framed Avro (or JSON Schema) through the registry.
    Avro,
    /// A JSON document.
    Json,
    /// UTF-8 text.
    String,
    /// Raw bytes, shown as base64.
    Bytes,
}

impl FromStr for DataFormat {
    type Err = AdminError;
    fn from_str(s: &str) -> Result<Self, AdminError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "auto" => DataFormat::Auto,
            "avro" | "avro-confluent" => DataFormat::Avro,
            "json" => DataFormat::Json,
            "string" | "text" => DataFormat::String,
            "bytes" | "base64" => DataFormat::Bytes,
            other => {
                return Err(AdminError::invalid(
                    "format",
                    format!("'{other}', expected auto, avro, json, string or bytes"),
                ));
            }
        })
    }
}

/// A key or value as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedPart {
    /// The value (`null` for a missing key or a tombstone).
    pub json: Json,
    /// How it was read: `avro`, `json`, `string`, `base64` or `null`.
    pub encoding: &'static str,
    /// The registry schema id, for Avro.
    pub schema_id: Option<u32>,
    /// Why the requested format could not read it (the value is then base64).
    pub error: Option<String>,
}

/// Turns [`ConsumedRecord`]s into JSON.
pub struct RecordDecoder {
    key: DataFormat,
    value: DataFormat,
    key_codec: Option<Codec>,
    value_codec: Option<Codec>,
}

impl std::fmt::Debug for RecordDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordDecoder")
            .field("key", &self.key)
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

fn registry_codec(
    side: Side,
    resolver: &Option<Arc<dyn SchemaResolver>>,
) -> Result<Option<Codec>, AdminError> {
    let Some(r) = resolver else {
        return Ok(None);
    };
    Codec::builder(side)
        .resolver(Arc::clone(r))
        .read(WireFormat::ConfluentId)
        .write(WireFormat::Bytes)
        .build()
        .map(Some)
        .map_err(|source| AdminError::ParseSchema {
            what: "codec".into(),
            source: Box::new(source),
        })
}

impl RecordDecoder {
    /// Avro needs `resolver` (a schema registry); `Auto` uses it when given.
    pub fn new(
        key: DataFormat,
        value: DataFormat,
        resolver: Option<Arc<dyn SchemaResolver>>,
    ) -> Result<Self, AdminError> {
        if resolver.is_none() && (key == DataFormat::Avro || value == DataFormat::Avro) {
            return Err(AdminError::invalid(
                "format",
                "avro needs a schema registry (schema_registry.url)",
            ));
        }
        Ok(RecordDecoder {
            key,
            value,
            key_codec: registry_codec(Side::Key, &resolver)?,
            value_codec: registry_codec(Side::Value, &resolver)?,
        })
    }

    /// Decodes the key or value of a record.
    pub fn decode_part(
        &self,
        side: Side,
        bytes: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> DecodedPart {
        let (format, codec) = match side {
            Side::Key => (self.key, self.key_codec.as_ref()),
            Side::Value => (self.value, self.value_codec.as_ref()),
        };
        let Some(bytes) = bytes else {
            return DecodedPart {
                json: Json::Null,
                encoding: "null",
                schema_id: None,
                error: None,
            };
        };
        let failed = |error: String| DecodedPart {
            json: Json::String(base64_encode(bytes)),
            encoding: "base64",
            schema_id: None,
            error: Some(error),
        };
        match format {
            DataFormat::Avro => match codec.map(|c| avro_json(c, bytes, headers)) {
                Some(Ok(part)) => part,
                Some(Err(e)) => failed(e.to_string()),
                None => failed("no schema registry".to_string()),
            },
            DataFormat::Json => match serde_json::from_slice::<Json>(bytes) {
                Ok(j) => part(j, "json"),
                Err(e) => failed(format!("not JSON: {e}")),
            },
            DataFormat::String => match std::str::from_utf8(bytes) {
                Ok(s) => part(Json::String(s.to_string()), "string"),
                Err(e) => failed(format!("not UTF-8: {e}")),
            },
            DataFormat::Bytes => part(Json::String(base64_encode(bytes)), "base64"),
            DataFormat::Auto => {
                let framed = bytes.len() >= 5 && bytes.first() == Some(&0)
                    || headers.iter().any(|(n, _)| *n == side.schema_id_header());
                let mut avro_error = None;
                if framed && let Some(c) = codec {
                    match avro_json(c, bytes, headers) {
                        Ok(p) => return p,
                        Err(e) => avro_error = Some(e.to_string()),
                    }
                }
                if let Ok(j) = serde_json::from_slice::<Json>(bytes) {
                    return part(j, "json");
                }
                match std::str::from_utf8(bytes) {
                    Ok(s) if is_text(s) => part(Json::String(s.to_string()), "string"),
                    _ => DecodedPart {
                        error: avro_error,
                        ..part(Json::String(base64_encode(bytes)), "base64")
                    },
                }
            }
        }
    }

    /// The record as one JSON object: `topic`, `partition`, `offset`,
    /// `timestamp` (RFC 3339) and `timestamp_ms`, `key`, `value`,
    /// `headers` (`[[name, text-or-null], ...]`, non-UTF-8 values in
    /// base64), and when they apply `key_schema_id` / `value_schema_id`,
    /// `key_encoding` / `value_encoding` (`base64`), `key_error` / `value_error`.
    pub fn to_json(&self, record: &ConsumedRecord) -> Json {
        let headers: Vec<(&str, Option<&[u8]>)> = record.header_pairs().collect();
        let key = self.decode_part(Side::Key, record.key.as_deref(), &headers);
        let value = self.decode_part(Side::Value, record.value.as_deref(), &headers);
        let mut out = Map::new();
        out.insert("topic".into(), json!(record.topic));
        out.insert("partition".into(), json!(record.partition));
        out.insert("offset".into(), json!(record.offset));
        out.insert(
            "timestamp".into(),
            record
                .timestamp_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map_or(Json::Null, |t| {
                    json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                }),
        );
        out.insert("timestamp_ms".into(), json!(record.timestamp_ms));
        for (name, p) in [("key", &key), ("value", &value)] {
            out.insert(name.into(), p.json.clone());
            if let Some(id) = p.schema_id {
                out.insert(format!("{name}_schema_id"), json!(id));
            }
            if p.encoding == "base64" {
                out.insert(format!("{name}_encoding"), json!("base64"));
            }
            if let Some(e) = &p.error {
                out.insert(format!("{name}_error"), json!(e));
            }
        }
        out.insert(
            "headers".into(),
            Json::Array(
                headers
                    .iter()
                    .map(|(n, v)| json!([n, v.map(header_text)]))
                    .collect(),
            ),
        );
        Json::Object(out)
    }
}

/// A header value as text (UTF-8), else base64.
pub fn header_text(v: &[u8]) -> String {
    match std::str::from_utf8(v) {
        Ok(s) => s.to_string(),
        Err(_) => base64_encode(v),
    }
}

/// Printable text: no control characters but tabs and line breaks.
fn is_text(s: &str) -> bool {
    s.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

fn part(json: Json, encoding: &'static str) -> DecodedPart {
    DecodedPart {
        json,
        encoding,
        schema_id: None,
        error: None,
    }
}

fn avro_json(
    codec: &Codec,
    bytes: &[u8],
    headers: &[(&str, Option<&[u8]>)],
) -> Result<DecodedPart, CodecError> {
    let decoded = codec.decode(Some(bytes), headers)?;
    let mut out = Vec::with_capacity(bytes.len() * 2);
    codec.write_json(&decoded, JsonStyle::Natural, &mut out)?;
    let json = serde_json::from_slice(&out).map_err(|e| CodecError::EncodeJson {
        reason: e.to_string(),
        path: Default::default(),
    })?;
    Ok(DecodedPart {
        json,
        encoding: "avro",
        schema_id: match decoded.schema {
            Some(SchemaRef::Id(id)) => Some(id),
            _ => None,
        },
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbridge_codec::{MemoryResolver, ResolvedSchema};

    #[test]
    fn start_positions_parse() {
        let p = |s: &str| s.parse::<StartFrom>();
        assert_eq!(p("earliest").unwrap(), StartFrom::Earliest);
        assert_eq!(p("END").unwrap(), StartFrom::Latest);
        assert_eq!(p("committed").unwrap(), StartFrom::Committed);
        assert_eq!(p("42").unwrap(), StartFrom::Offset(42));
        assert_eq!(p("-10").unwrap(), StartFrom::FromEnd(10));
        assert_eq!(
            p("2024-05-01T00:00:00Z").unwrap(),
            StartFrom::Timestamp(1_714_521_600_000)
        );
        assert_eq!(
            p("2024-05-01T02:00:00.250+02:00").unwrap(),
            StartFrom::Timestamp(1_714_521_600_250)
        );
        assert_eq!(
            p("@1714521600000").unwrap(),
            StartFrom::Timestamp(1_714_521_600_000)
        );
        assert!(
            p("yesterday")
                .unwrap_err()
                .to_string()
                .starts_with("invalid start position: 'yesterday' is not earliest")
        );
        assert!(p("@x").is_err());
    }

    fn record(key: Option<&[u8]>, value: Option<&[u8]>) -> ConsumedRecord {
        ConsumedRecord {
            topic: "t".into(),
            partition: 1,
            offset: 7,
            timestamp_ms: Some(1_714_521_600_000),
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: vec![
                ("source".into(), Some(b"cli".to_vec())),
                ("bin".into(), Some(vec![0xff, 0x00])),
                ("nil".into(), None),
            ],
        }
    }

    #[test]
    fn auto_decodes_avro_json_text_and_bytes() {
        let schema = r#"{"type":"record","name":"R","fields":[{"name":"n","type":"long"},{"name":"tag","type":["null","string"]}]}"#;
        let resolver = Arc::new(MemoryResolver::new());
        resolver.insert(5, None, ResolvedSchema::avro(schema).unwrap());
        let d = RecordDecoder::new(DataFormat::Auto, DataFormat::Auto, Some(resolver)).unwrap();
        // magic 0, id 5, n = 3 (zigzag 6), tag branch 1 "x"
        let avro = [0, 0, 0, 0, 5, 6, 2, 2, b'x'];
        let j = d.to_json(&record(Some(b"k1"), Some(&avro)));
        assert_eq!(j["value"], json!({"n": 3, "tag": "x"}));
        assert_eq!(j["value_schema_id"], 5);
        assert_eq!(j["key"], "k1");
        assert_eq!(j["partition"], 1);
        assert_eq!(j["offset"], 7);
        assert_eq!(j["timestamp"], "2024-05-01T00:00:00.000Z");
        assert_eq!(
            j["headers"],
            json!([["source", "cli"], ["bin", "/wA="], ["nil", null]])
        );

        let j = d.to_json(&record(Some(br#"{"id":1}"#), Some(&[0xff, 0xfe])));
        assert_eq!(j["key"], json!({"id": 1}));
        assert_eq!(j["value"], "//4=");
        assert_eq!(j["value_encoding"], "base64");
        assert!(j.get("value_error").is_none());

        // an unknown schema id falls back in auto mode, fails in avro mode
        let unknown = [0, 0, 0, 0, 9, 6];
        let j = d.to_json(&record(None, Some(&unknown)));
        assert_eq!(j["key"], Json::Null);
        assert_eq!(j["value"], "AAAAAAkG");
        assert_eq!(j["value_encoding"], "base64");
        assert!(j["value_error"].as_str().unwrap().contains("id 9"), "{j}");
        let strict = RecordDecoder::new(
            DataFormat::String,
            DataFormat::Avro,
            Some(Arc::new(MemoryResolver::new())),
        )
        .unwrap();
        let j = strict.to_json(&record(None, Some(&unknown)));
        assert!(j["value_error"].as_str().unwrap().contains("id 9"), "{j}");
    }

    #[test]
    fn avro_without_registry_is_refused() {
        let e = RecordDecoder::new(DataFormat::Auto, DataFormat::Avro, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid format: avro needs a schema registry (schema_registry.url)"
        );
        let plain = RecordDecoder::new(DataFormat::Auto, DataFormat::Auto, None).unwrap();
        let j = plain.to_json(&record(None, Some(&[0, 0, 0, 0, 5, 6])));
        assert_eq!(j["value_encoding"], "base64");
        assert!(
            j.get("value_error").is_none(),
            "no registry, no attempt: {j}"
        );
        let j = plain.to_json(&record(None, Some(b"tab\tand\nlines")));
        assert_eq!(j["value"], "tab\tand\nlines");
    }
}
