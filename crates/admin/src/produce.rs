//! Producing from JSON lines: [`LineEncoder`] turns one line into key and
//! value bytes (Confluent-framed Avro under a registered schema, JSON, or
//! text), with errors that name the line and the field path;
//! [`RecordProducer`] sends records with optional rate limiting and counts
//! delivery reports.

use crate::{AdminError, Cluster};
use kbridge_codec::json::{parse_json, to_json_string};
use kbridge_codec::{AvroSchema, CodecError, FieldPath, JsonStyle, Path, Value};
use kbridge_registry::{RegistryClient, SchemaDefinition};
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How values are written.
#[derive(Debug, Clone)]
pub enum ValueEncoding {
    /// Magic byte 0, the schema id, the Avro datum.
    Avro {
        /// Subject the schema is registered under.
        subject: String,
        /// Registry schema id.
        id: u32,
        /// The compiled schema.
        schema: AvroSchema,
    },
    /// The JSON document, re-serialised compactly.
    Json,
    /// The line as it is (UTF-8 text).
    String,
}

/// Where record keys come from.
#[derive(Debug, Clone, Default)]
pub enum KeySource {
    /// No key.
    #[default]
    None,
    /// The same key for every record.
    Fixed(String),
    /// A field of the JSON document (`id`, `customer.id`): strings as they
    /// are, other values as JSON text, null as no key.
    Field(Path),
}

/// The bytes of one input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedLine {
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes.
    pub value: Vec<u8>,
}

/// Turns JSON lines into record bytes.
#[derive(Debug, Clone)]
pub struct LineEncoder {
    value: ValueEncoding,
    key: KeySource,
}

fn field_error(path: &FieldPath, reason: &str) -> String {
    if path.is_root() {
        reason.to_string()
    } else {
        format!("field `{path}`: {reason}")
    }
}

/// A codec error as a line error: the field path first.
fn describe(e: &CodecError) -> String {
    match e {
        CodecError::DecodeJson {
            reason,
            path,
            column,
            ..
        } => {
            if path.is_root() && *column > 0 {
                format!("invalid JSON at column {column}: {reason}")
            } else {
                field_error(path, reason)
            }
        }
        CodecError::EncodeDatum { reason, path } | CodecError::EncodeJson { reason, path } => {
            field_error(path, reason)
        }
        other => other.to_string(),
    }
}

impl LineEncoder {
    /// Writes values with `value`, keys from `key`.
    pub fn new(value: ValueEncoding, key: KeySource) -> Self {
        LineEncoder { value, key }
    }

    /// The value encoding.
    pub fn value_encoding(&self) -> &ValueEncoding {
        &self.value
    }

    /// Encodes one line (`line` is its 1-based number, for errors).
    pub fn encode(&self, line: u64, text: &str) -> Result<EncodedLine, AdminError> {
        let invalid = |reason: String| AdminError::InvalidRecord { line, reason };
        let text = text.trim_end_matches(['\r', '\n']);
        match &self.value {
            ValueEncoding::Avro { id, schema, .. } => {
                let value = schema
                    .value_from_json(text, JsonStyle::Natural)
                    .map_err(|e| invalid(describe(&e)))?;
                let key = self.key(line, Some(&value))?;
                let mut out = Vec::with_capacity(text.len());
                out.push(0);
                out.extend_from_slice(&id.to_be_bytes());
                schema
                    .encode(&value, &mut out)
                    .map_err(|e| invalid(describe(&e)))?;
                Ok(EncodedLine { key, value: out })
            }
            ValueEncoding::Json => {
                let value = parse_json(text.as_bytes()).map_err(|e| invalid(describe(&e)))?;
                let key = self.key(line, Some(&value))?;
                let out = to_json_string(&value, None, JsonStyle::Natural)
                    .map_err(|e| invalid(describe(&e)))?;
                Ok(EncodedLine {
                    key,
                    value: out.into_bytes(),
                })
            }
            ValueEncoding::String => {
                let key = match &self.key {
                    KeySource::Field(_) => {
                        let value = parse_json(text.as_bytes()).map_err(|e| {
                            invalid(format!("--key-field needs a JSON line: {}", describe(&e)))
                        })?;
                        self.key(line, Some(&value))?
                    }
                    _ => self.key(line, None)?,
                };
                Ok(EncodedLine {
                    key,
                    value: text.as_bytes().to_vec(),
                })
            }
        }
    }

    fn key(&self, line: u64, value: Option<&Value<'_>>) -> Result<Option<Vec<u8>>, AdminError> {
        match &self.key {
            KeySource::None => Ok(None),
            KeySource::Fixed(k) => Ok(Some(k.as_bytes().to_vec())),
            KeySource::Field(path) => {
                let found = value.and_then(|v| v.get_path(path));
                match found {
                    None => Err(AdminError::InvalidRecord {
                        line,
                        reason: format!("key field `{}` is missing", path.as_str()),
                    }),
                    Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_bytes().to_vec())),
                    Some(other) => to_json_string(other, None, JsonStyle::Natural)
                        .map(|s| Some(s.into_bytes()))
                        .map_err(|e| AdminError::InvalidRecord {
                            line,
                            reason: describe(&e),
                        }),
                }
            }
        }
    }
}

/// The schema to write `subject` with: `schema_text` registered (or found
/// already registered) under it, else the subject's latest version.
pub async fn avro_value_encoding(
    registry: &RegistryClient,
    subject: &str,
    schema_text: Option<&str>,
) -> Result<ValueEncoding, AdminError> {
    let id = match schema_text {
        Some(text) => {
            // parse locally first: a clear error beats the registry's 422
            AvroSchema::parse(text).map_err(|source| AdminError::ParseSchema {
                what: format!("for subject '{subject}'"),
                source: Box::new(source),
            })?;
            registry
                .register(subject, &SchemaDefinition::avro(text), false)
                .await
                .map_err(|source| AdminError::Registry {
                    operation: format!("register schema under subject '{subject}'"),
                    source: Box::new(source),
                })?
        }
        None => {
            registry
                .latest(subject)
                .await
                .map_err(|source| AdminError::Registry {
                    operation: format!(
                        "fetch the latest schema of subject '{subject}' (pass --schema FILE to register one)"
                    ),
                    source: Box::new(source),
                })?
                .id
        }
    };
    let parsed = registry
        .schema(id)
        .await
        .map_err(|source| AdminError::Registry {
            operation: format!("fetch schema id {id}"),
            source: Box::new(source),
        })?;
    let resolved =
        crate::resolver::resolved_from_parsed(&parsed).map_err(|e| AdminError::ParseSchema {
            what: format!("id {id}"),
            source: Box::new(CodecError::ParseSchema {
                reason: e.to_string(),
            }),
        })?;
    let schema =
        AvroSchema::compile(Arc::new(resolved)).map_err(|source| AdminError::ParseSchema {
            what: format!("id {id}"),
            source: Box::new(source),
        })?;
    Ok(ValueEncoding::Avro {
        subject: subject.to_string(),
        id,
        schema,
    })
}

/// Spaces records to at most `rate` per second.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    per_record: Duration,
    next: Option<Instant>,
}

impl RateLimiter {
    /// At most `rate` records per second (`rate` > 0).
    pub fn new(rate: f64) -> Result<Self, AdminError> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(AdminError::invalid(
                "rate",
                format!("{rate}: expected a positive number of records per second"),
            ));
        }
        Ok(RateLimiter {
            per_record: Duration::from_secs_f64(1.0 / rate),
            next: None,
        })
    }

    /// How long to wait before the next record, at `now`; counts it.
    /// A sender that fell behind (a slow broker) is not allowed to burst
    /// to catch up: the schedule restarts from `now`.
    pub fn delay(&mut self, now: Instant) -> Duration {
        let due = self.next.unwrap_or(now);
        self.next = Some(due.max(now) + self.per_record);
        due.saturating_duration_since(now)
    }
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

/// Counts delivery reports.
pub struct DeliveryCounter(Arc<Counters>);

impl std::fmt::Debug for DeliveryCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryCounter")
            .field("delivered", &self.0.delivered.load(Ordering::Relaxed))
            .field("failed", &self.0.failed.load(Ordering::Relaxed))
            .finish()
    }
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.0.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.0.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.0.first_error.lock()
                    && first.is_none()
                {
                    *first = Some(e.to_string());
                }
            }
        }
    }
}

/// Records sent and acknowledged so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProduceStats {
    /// Handed to the producer.
    pub sent: u64,
    /// Acknowledged by the broker.
    pub delivered: u64,
    /// Failed delivery.
    pub failed: u64,
}

/// One record to send.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutgoingRecord<'a> {
    /// Key.
    pub key: Option<&'a [u8]>,
    /// Value (`None`: a tombstone).
    pub value: Option<&'a [u8]>,
    /// Headers.
    pub headers: &'a [(&'a str, Option<&'a [u8]>)],
    /// Partition (default: by key).
    pub partition: Option<i32>,
    /// Timestamp in ms (default: now).
    pub timestamp_ms: Option<i64>,
}

/// A producer for one topic that waits on a full queue, rate-limits, and
/// counts delivery reports.
pub struct RecordProducer {
    producer: BaseProducer<DeliveryCounter>,
    counters: Arc<Counters>,
    topic: String,
    limiter: Option<RateLimiter>,
    sent: u64,
}

impl std::fmt::Debug for RecordProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordProducer")
            .field("topic", &self.topic)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl RecordProducer {
    /// A producer with the configuration's `[producer]` settings, writing
    /// to `topic`, at most `rate` records per second when set.
    pub fn new(cluster: &Cluster, topic: &str, rate: Option<f64>) -> Result<Self, AdminError> {
        let counters = Arc::new(Counters::default());
        let producer = cluster
            .producer_config(&[])
            .create_with_context(DeliveryCounter(Arc::clone(&counters)))
            .map_err(|source| AdminError::CreateClient {
                client: "producer",
                source,
            })?;
        Ok(RecordProducer {
            producer,
            counters,
            topic: topic.to_string(),
            limiter: rate.map(RateLimiter::new).transpose()?,
            sent: 0,
        })
    }

    /// Sends one record (waiting while the local queue is full, and for
    /// the rate limit).
    pub fn send(&mut self, record: OutgoingRecord<'_>) -> Result<(), AdminError> {
        if let Some(l) = &mut self.limiter {
            let wait = l.delay(Instant::now());
            if !wait.is_zero() {
                // serve delivery reports while waiting
                self.producer.poll(wait);
            }
        }
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (k, v) in record.headers {
            headers = headers.insert(Header { key: k, value: *v });
        }
        let mut base: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&self.topic).headers(headers);
        if let Some(k) = record.key {
            base = base.key(k);
        }
        if let Some(v) = record.value {
            base = base.payload(v);
        }
        if let Some(p) = record.partition {
            base = base.partition(p);
        }
        if let Some(t) = record.timestamp_ms {
            base = base.timestamp(t);
        }
        loop {
            match self.producer.send(base) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    base = back;
                    self.producer.poll(Duration::from_millis(50));
                }
                Err((source, _)) => {
                    return Err(AdminError::Produce {
                        topic: self.topic.clone(),
                        source,
                    });
                }
            }
        }
        self.sent += 1;
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    /// Counts so far.
    pub fn stats(&self) -> ProduceStats {
        ProduceStats {
            sent: self.sent,
            delivered: self.counters.delivered.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }

    /// Waits up to `timeout` for every record to be acknowledged; fails
    /// if any was not.
    pub fn flush(&mut self, timeout: Duration) -> Result<ProduceStats, AdminError> {
        let flushed = self.producer.flush(timeout);
        let stats = self.stats();
        if stats.failed > 0 {
            let first = self
                .counters
                .first_error
                .lock()
                .ok()
                .and_then(|f| f.clone())
                .unwrap_or_default();
            return Err(AdminError::Delivery {
                topic: self.topic.clone(),
                failed: stats.failed,
                first,
            });
        }
        if let Err(source) = flushed {
            return Err(AdminError::Produce {
                topic: self.topic.clone(),
                source,
            });
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"{"type":"record","name":"Order","fields":[
        {"name":"id","type":"string"},
        {"name":"qty","type":"int"},
        {"name":"customer","type":{"type":"record","name":"C","fields":[{"name":"id","type":"long"}]}},
        {"name":"note","type":["null","string"],"default":null}]}"#;

    fn avro(key: KeySource) -> LineEncoder {
        LineEncoder::new(
            ValueEncoding::Avro {
                subject: "orders-value".into(),
                id: 258,
                schema: AvroSchema::parse(SCHEMA).unwrap(),
            },
            key,
        )
    }

    #[test]
    fn avro_lines_are_confluent_framed_with_keys_from_fields() {
        let e = avro(KeySource::Field(Path::parse("customer.id").unwrap()));
        let out = e
            .encode(1, r#"{"id":"o1","qty":2,"customer":{"id":42},"note":"hi"}"#)
            .unwrap();
        assert_eq!(out.key.as_deref(), Some(&b"42"[..]));
        // magic, id 258 big-endian, "o1", 2 (zigzag 4), 42 (zigzag 84), branch 1, "hi"
        assert_eq!(
            out.value,
            [0, 0, 0, 1, 2, 4, b'o', b'1', 4, 84, 2, 4, b'h', b'i']
        );
        let e = avro(KeySource::Field(Path::parse("id").unwrap()));
        let out = e
            .encode(1, r#"{"id":"o1","qty":2,"customer":{"id":42}}"#)
            .unwrap();
        assert_eq!(out.key.as_deref(), Some(&b"o1"[..]));
    }

    #[test]
    fn errors_name_the_line_and_the_field_path() {
        let e = avro(KeySource::None);
        let err = e
            .encode(3, r#"{"id":"o1","qty":"two","customer":{"id":42}}"#)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("line 3: field `qty`: "), "{msg}");
        let err = e
            .encode(4, r#"{"id":"o1","qty":2,"customer":{"id":"x"}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 4: field `customer.id`: "), "{err}");
        let err = e.encode(5, r#"{"id":"o1","#).unwrap_err().to_string();
        assert!(err.starts_with("line 5: invalid JSON at column"), "{err}");
        let e = avro(KeySource::Field(Path::parse("missing").unwrap()));
        assert_eq!(
            e.encode(6, r#"{"id":"o1","qty":2,"customer":{"id":1}}"#)
                .unwrap_err()
                .to_string(),
            "line 6: key field `missing` is missing"
        );
    }

    #[test]
    fn json_and_string_values() {
        let e = LineEncoder::new(ValueEncoding::Json, KeySource::Fixed("k".into()));
        let out = e.encode(1, "{ \"a\" : [1, 2] }\r\n").unwrap();
        assert_eq!(out.value, br#"{"a":[1,2]}"#);
        assert_eq!(out.key.as_deref(), Some(&b"k"[..]));
        let e = LineEncoder::new(ValueEncoding::String, KeySource::None);
        let out = e.encode(1, "plain text\n").unwrap();
        assert_eq!(out.value, b"plain text");
        assert_eq!(out.key, None);
        let e = LineEncoder::new(
            ValueEncoding::String,
            KeySource::Field(Path::parse("id").unwrap()),
        );
        assert!(
            e.encode(2, "not json")
                .unwrap_err()
                .to_string()
                .starts_with("line 2: --key-field needs a JSON line")
        );
    }

    #[test]
    fn rate_limiter_spaces_records() {
        let mut l = RateLimiter::new(4.0).unwrap();
        let t0 = Instant::now();
        assert_eq!(l.delay(t0), Duration::ZERO);
        assert_eq!(l.delay(t0), Duration::from_millis(250));
        assert_eq!(
            l.delay(t0 + Duration::from_millis(100)),
            Duration::from_millis(400)
        );
        // running late: no wait, and no burst to catch up afterwards
        let late = t0 + Duration::from_secs(5);
        assert_eq!(l.delay(late), Duration::ZERO);
        assert_eq!(l.delay(late), Duration::from_millis(250));
        assert!(RateLimiter::new(0.0).is_err());
        assert!(RateLimiter::new(f64::NAN).is_err());
    }
}
