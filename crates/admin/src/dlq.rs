//! Dead-letter records: the header contract between the pipeline (which
//! writes them) and `kbridge dlq` (which inspects and replays them), a
//! summary grouped by stage and class, and replay filters.
//!
//! A dead-letter record keeps the original key, value and headers, and adds
//! the error context as headers Kafka Connect tooling already reads
//! ([`ERROR_TOPIC`] … [`ERROR_EXCEPTION_MESSAGE`], UTF-8 text, numbers in
//! decimal), plus `kbridge.error.*` headers for what Connect lacks
//! ([`ERROR_SCHEMA_ID`], [`ERROR_SUBJECT`], [`ERROR_ATTEMPT`]). The pipeline
//! writes them with [`ErrorContext::to_headers`]; every header whose name
//! starts with [`CONNECT_ERRORS_PREFIX`] or [`KBRIDGE_ERROR_PREFIX`] is an
//! error header and is dropped on replay ([`is_error_header`]).

use crate::consume::{ReadEvent, ReadOptions, TopicReader};
use crate::produce::{OutgoingRecord, RecordProducer};
use crate::{AdminError, Cluster};
use regex::Regex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Prefix of Kafka Connect's error headers.
pub const CONNECT_ERRORS_PREFIX: &str = "__connect.errors.";
/// Prefix of kbridge's own error headers.
pub const KBRIDGE_ERROR_PREFIX: &str = "kbridge.error.";

/// Topic the failed record was read from.
pub const ERROR_TOPIC: &str = "__connect.errors.topic";
/// Partition the failed record was read from (decimal).
pub const ERROR_PARTITION: &str = "__connect.errors.partition";
/// Offset of the failed record (decimal).
pub const ERROR_OFFSET: &str = "__connect.errors.offset";
/// The stage that failed (see [`stage`]).
pub const ERROR_STAGE: &str = "__connect.errors.stage";
/// The component that failed in that stage (codec, transform name, ...).
pub const ERROR_CLASS_NAME: &str = "__connect.errors.class.name";
/// The error's type (the error enum variant).
pub const ERROR_EXCEPTION_CLASS_NAME: &str = "__connect.errors.exception.class.name";
/// The error message.
pub const ERROR_EXCEPTION_MESSAGE: &str = "__connect.errors.exception.message";
/// Schema id involved (decimal), when known.
pub const ERROR_SCHEMA_ID: &str = "kbridge.error.schema.id";
/// Subject involved, when known.
pub const ERROR_SUBJECT: &str = "kbridge.error.subject";
/// Which attempt failed (1-based, decimal).
pub const ERROR_ATTEMPT: &str = "kbridge.error.attempt";

/// Stage names, as Kafka Connect spells them.
pub mod stage {
    /// Decoding or encoding the key.
    pub const KEY_CONVERTER: &str = "KEY_CONVERTER";
    /// Decoding or encoding the value.
    pub const VALUE_CONVERTER: &str = "VALUE_CONVERTER";
    /// Reading headers.
    pub const HEADER_CONVERTER: &str = "HEADER_CONVERTER";
    /// A transform.
    pub const TRANSFORMATION: &str = "TRANSFORMATION";
    /// Producing to the output topic.
    pub const KAFKA_PRODUCE: &str = "KAFKA_PRODUCE";
    /// Consuming from the source topic.
    pub const KAFKA_CONSUME: &str = "KAFKA_CONSUME";
}

/// Whether a header is part of the error context (not of the original record).
pub fn is_error_header(name: &str) -> bool {
    name.starts_with(CONNECT_ERRORS_PREFIX) || name.starts_with(KBRIDGE_ERROR_PREFIX)
}

/// The error context of one dead-letter record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ErrorContext {
    /// [`ERROR_TOPIC`].
    pub topic: Option<String>,
    /// [`ERROR_PARTITION`].
    pub partition: Option<i32>,
    /// [`ERROR_OFFSET`].
    pub offset: Option<i64>,
    /// [`ERROR_STAGE`].
    pub stage: Option<String>,
    /// [`ERROR_CLASS_NAME`].
    pub class_name: Option<String>,
    /// [`ERROR_EXCEPTION_CLASS_NAME`].
    pub exception_class: Option<String>,
    /// [`ERROR_EXCEPTION_MESSAGE`].
    pub message: Option<String>,
    /// [`ERROR_SCHEMA_ID`].
    pub schema_id: Option<u32>,
    /// [`ERROR_SUBJECT`].
    pub subject: Option<String>,
    /// [`ERROR_ATTEMPT`].
    pub attempt: Option<u32>,
}

impl ErrorContext {
    /// The headers to append to the original ones, set fields only, in a
    /// fixed order.
    pub fn to_headers(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(10);
        let mut push = |name: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.push((name, v));
            }
        };
        push(ERROR_TOPIC, self.topic.clone());
        push(ERROR_PARTITION, self.partition.map(|p| p.to_string()));
        push(ERROR_OFFSET, self.offset.map(|o| o.to_string()));
        push(ERROR_STAGE, self.stage.clone());
        push(ERROR_CLASS_NAME, self.class_name.clone());
        push(ERROR_EXCEPTION_CLASS_NAME, self.exception_class.clone());
        push(ERROR_EXCEPTION_MESSAGE, self.message.clone());
        push(ERROR_SCHEMA_ID, self.schema_id.map(|i| i.to_string()));
        push(ERROR_SUBJECT, self.subject.clone());
        push(ERROR_ATTEMPT, self.attempt.map(|a| a.to_string()));
        out
    }

    /// Reads the context from a record's headers (the last value of a
    /// repeated header wins; unparsable numbers count as absent).
    pub fn from_headers<'a>(
        headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
    ) -> Self {
        let mut ctx = ErrorContext::default();
        for (name, value) in headers {
            let Some(text) = value.map(|v| String::from_utf8_lossy(v).into_owned()) else {
                continue;
            };
            match name {
                ERROR_TOPIC => ctx.topic = Some(text),
                ERROR_PARTITION => ctx.partition = text.trim().parse().ok(),
                ERROR_OFFSET => ctx.offset = text.trim().parse().ok(),
                ERROR_STAGE => ctx.stage = Some(text),
                ERROR_CLASS_NAME => ctx.class_name = Some(text),
                ERROR_EXCEPTION_CLASS_NAME => ctx.exception_class = Some(text),
                ERROR_EXCEPTION_MESSAGE => ctx.message = Some(text),
                ERROR_SCHEMA_ID => ctx.schema_id = text.trim().parse().ok(),
                ERROR_SUBJECT => ctx.subject = Some(text),
                ERROR_ATTEMPT => ctx.attempt = text.trim().parse().ok(),
                _ => {}
            }
        }
        ctx
    }

    /// Whether any error header was present.
    pub fn is_empty(&self) -> bool {
        *self == ErrorContext::default()
    }
}

/// One sample record of an [`ErrorGroup`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DlqSample {
    /// Partition of the dead-letter topic.
    pub partition: i32,
    /// Offset in the dead-letter topic.
    pub offset: i64,
    /// Record timestamp (ms since the epoch), if any.
    pub timestamp_ms: Option<i64>,
    /// Key as text (lossy UTF-8), if any.
    pub key: Option<String>,
    /// The error context.
    pub error: ErrorContext,
}

/// Dead-letter records that share a stage and class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorGroup {
    /// [`ERROR_STAGE`], or `(none)`.
    pub stage: String,
    /// [`ERROR_CLASS_NAME`], or `(none)`.
    pub class_name: String,
    /// How many records.
    pub count: u64,
    /// Source topics the records came from, with counts.
    pub source_topics: BTreeMap<String, u64>,
    /// The first records seen (up to the sample limit).
    pub samples: Vec<DlqSample>,
}

/// `dlq inspect`: totals and groups, largest group first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DlqSummary {
    /// Dead-letter topic.
    pub topic: String,
    /// Records read.
    pub total: u64,
    /// Records without any error header.
    pub without_context: u64,
    /// Groups by (stage, class), largest first.
    pub groups: Vec<ErrorGroup>,
}

const NONE: &str = "(none)";

/// Builds a [`DlqSummary`] record by record.
#[derive(Debug)]
pub struct DlqInspector {
    topic: String,
    samples: usize,
    total: u64,
    without_context: u64,
    groups: BTreeMap<(String, String), ErrorGroup>,
}

impl DlqInspector {
    /// Keeps up to `samples` records per group.
    pub fn new(topic: impl Into<String>, samples: usize) -> Self {
        DlqInspector {
            topic: topic.into(),
            samples,
            total: 0,
            without_context: 0,
            groups: BTreeMap::new(),
        }
    }

    /// Counts one record.
    pub fn add(&mut self, sample: DlqSample) {
        self.total += 1;
        if sample.error.is_empty() {
            self.without_context += 1;
        }
        let stage = sample.error.stage.clone().unwrap_or_else(|| NONE.into());
        let class_name = sample
            .error
            .class_name
            .clone()
            .unwrap_or_else(|| NONE.into());
        let group = self
            .groups
            .entry((stage.clone(), class_name.clone()))
            .or_insert_with(|| ErrorGroup {
                stage,
                class_name,
                count: 0,
                source_topics: BTreeMap::new(),
                samples: Vec::new(),
            });
        group.count += 1;
        let source = sample.error.topic.clone().unwrap_or_else(|| NONE.into());
        *group.source_topics.entry(source).or_default() += 1;
        if group.samples.len() < self.samples {
            group.samples.push(sample);
        }
    }

    /// The summary, largest group first (ties by stage, class).
    pub fn finish(self) -> DlqSummary {
        let mut groups: Vec<ErrorGroup> = self.groups.into_values().collect();
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (&a.stage, &a.class_name).cmp(&(&b.stage, &b.class_name)))
        });
        DlqSummary {
            topic: self.topic,
            total: self.total,
            without_context: self.without_context,
            groups,
        }
    }
}

/// Which dead-letter records to replay; every set condition must hold.
#[derive(Debug, Clone, Default)]
pub struct ReplayFilter {
    stage: Option<String>,
    class_name: Option<String>,
    message: Option<Regex>,
    headers: Vec<(String, Regex)>,
}

impl ReplayFilter {
    /// Matches every record.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only records of this stage (case-insensitive).
    #[must_use]
    pub fn stage(mut self, stage: impl Into<String>) -> Self {
        self.stage = Some(stage.into());
        self
    }

    /// Only records of this class (exact).
    #[must_use]
    pub fn class_name(mut self, class_name: impl Into<String>) -> Self {
        self.class_name = Some(class_name.into());
        self
    }

    /// Only records whose error message matches `pattern` (a regular expression).
    pub fn message(mut self, pattern: &str) -> Result<Self, AdminError> {
        self.message = Some(compile(pattern)?);
        Ok(self)
    }

    /// Only records with a header `name` whose value (as text) matches
    /// `pattern`; repeatable.
    pub fn header(mut self, name: impl Into<String>, pattern: &str) -> Result<Self, AdminError> {
        self.headers.push((name.into(), compile(pattern)?));
        Ok(self)
    }

    /// Whether a record with this context and these headers is selected.
    pub fn matches<'a>(
        &self,
        ctx: &ErrorContext,
        headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)> + Clone,
    ) -> bool {
        if let Some(s) = &self.stage
            && !ctx
                .stage
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(s))
        {
            return false;
        }
        if let Some(c) = &self.class_name
            && ctx.class_name.as_deref() != Some(c.as_str())
        {
            return false;
        }
        if let Some(re) = &self.message
            && !ctx.message.as_deref().is_some_and(|m| re.is_match(m))
        {
            return false;
        }
        self.headers.iter().all(|(name, re)| {
            headers.clone().into_iter().any(|(n, v)| {
                n == name && v.is_some_and(|v| re.is_match(&String::from_utf8_lossy(v)))
            })
        })
    }
}

/// Reads dead-letter records (from `read`, normally [`ReadOptions::to_end`])
/// into a summary; `on_record` sees the count after each record.
pub fn inspect(
    cluster: &Cluster,
    read: &ReadOptions,
    samples: usize,
    mut on_record: impl FnMut(u64),
) -> Result<DlqSummary, AdminError> {
    let mut reader = TopicReader::open(cluster, read)?;
    let mut inspector = DlqInspector::new(&read.topic, samples);
    loop {
        match reader.poll(POLL)? {
            ReadEvent::Record(r) => {
                inspector.add(DlqSample {
                    partition: r.partition,
                    offset: r.offset,
                    timestamp_ms: r.timestamp_ms,
                    key: r
                        .key
                        .as_deref()
                        .map(|k| String::from_utf8_lossy(k).into_owned()),
                    error: ErrorContext::from_headers(r.header_pairs()),
                });
                on_record(inspector.total);
            }
            ReadEvent::Idle => {}
            ReadEvent::End => break,
        }
    }
    reader.close()?;
    Ok(inspector.finish())
}

const POLL: Duration = Duration::from_millis(200);

/// Counts of a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReplayStats {
    /// Dead-letter records read.
    pub read: u64,
    /// Records re-produced (or, in a dry run, that would be).
    pub replayed: u64,
    /// Records the filter left out.
    pub skipped: u64,
}

/// How to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Destination topic.
    pub to: String,
    /// Which records.
    pub filter: ReplayFilter,
    /// Count only; produce nothing.
    pub dry_run: bool,
    /// Keep each record's timestamp (default: the time of the replay).
    pub keep_timestamp: bool,
    /// At most this many records per second.
    pub rate: Option<f64>,
}

/// Re-produces dead-letter records to `options.to`: the original key,
/// value and headers, without the error headers. `on_progress` sees the
/// counts after each record.
pub fn replay(
    cluster: &Cluster,
    read: &ReadOptions,
    options: &ReplayOptions,
    mut on_progress: impl FnMut(&ReplayStats),
) -> Result<ReplayStats, AdminError> {
    // fail on a missing destination before reading anything
    crate::topics::topic_partitions(cluster, &options.to)?;
    let mut reader = TopicReader::open(cluster, read)?;
    let mut producer = if options.dry_run {
        None
    } else {
        Some(RecordProducer::new(cluster, &options.to, options.rate)?)
    };
    let mut stats = ReplayStats::default();
    loop {
        match reader.poll(POLL)? {
            ReadEvent::Record(r) => {
                stats.read += 1;
                let ctx = ErrorContext::from_headers(r.header_pairs());
                if options.filter.matches(&ctx, r.header_pairs()) {
                    stats.replayed += 1;
                    if let Some(p) = &mut producer {
                        let headers: Vec<(&str, Option<&[u8]>)> = r
                            .header_pairs()
                            .filter(|(n, _)| !is_error_header(n))
                            .collect();
                        p.send(OutgoingRecord {
                            key: r.key.as_deref(),
                            value: r.value.as_deref(),
                            headers: &headers,
                            partition: None,
                            timestamp_ms: if options.keep_timestamp {
                                r.timestamp_ms
                            } else {
                                None
                            },
                        })?;
                    }
                } else {
                    stats.skipped += 1;
                }
                on_progress(&stats);
            }
            ReadEvent::Idle => {}
            ReadEvent::End => break,
        }
    }
    if let Some(p) = &mut producer {
        p.flush(Duration::from_secs(60))?;
    }
    reader.close()?;
    Ok(stats)
}

fn compile(pattern: &str) -> Result<Regex, AdminError> {
    Regex::new(pattern).map_err(|e| AdminError::invalid("regular expression", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(stage: &str, class: &str, message: &str) -> ErrorContext {
        ErrorContext {
            topic: Some("orders".into()),
            partition: Some(2),
            offset: Some(41),
            stage: Some(stage.into()),
            class_name: Some(class.into()),
            exception_class: Some("DecodeDatum".into()),
            message: Some(message.into()),
            schema_id: Some(7),
            subject: Some("orders-value".into()),
            attempt: Some(1),
        }
    }

    #[test]
    fn headers_round_trip_with_connect_names() {
        let c = ctx(
            stage::VALUE_CONVERTER,
            "kbridge.codec.avro",
            "bad int at field qty",
        );
        let headers = c.to_headers();
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "__connect.errors.topic",
                "__connect.errors.partition",
                "__connect.errors.offset",
                "__connect.errors.stage",
                "__connect.errors.class.name",
                "__connect.errors.exception.class.name",
                "__connect.errors.exception.message",
                "kbridge.error.schema.id",
                "kbridge.error.subject",
                "kbridge.error.attempt",
            ]
        );
        assert!(names.iter().all(|n| is_error_header(n)));
        assert_eq!(headers[1].1, "2");
        let back =
            ErrorContext::from_headers(headers.iter().map(|(n, v)| (*n, Some(v.as_bytes()))));
        assert_eq!(back, c);
        assert!(!is_error_header("trace-id"));
        assert!(ErrorContext::from_headers([("trace-id", Some(&b"x"[..]))]).is_empty());
    }

    #[test]
    fn bad_numbers_are_absent_not_errors() {
        let c = ErrorContext::from_headers([
            (ERROR_PARTITION, Some(&b"two"[..])),
            (ERROR_OFFSET, None),
            (ERROR_STAGE, Some(&b"TRANSFORMATION"[..])),
        ]);
        assert_eq!(c.partition, None);
        assert_eq!(c.offset, None);
        assert_eq!(c.stage.as_deref(), Some("TRANSFORMATION"));
    }

    fn sample(offset: i64, error: ErrorContext) -> DlqSample {
        DlqSample {
            partition: 0,
            offset,
            timestamp_ms: None,
            key: None,
            error,
        }
    }

    #[test]
    fn inspector_groups_by_stage_and_class_largest_first() {
        let mut i = DlqInspector::new("orders.dlq", 2);
        for o in 0..3 {
            i.add(sample(o, ctx("VALUE_CONVERTER", "avro", "x")));
        }
        i.add(sample(3, ctx("TRANSFORMATION", "filter", "y")));
        i.add(sample(4, ErrorContext::default()));
        let s = i.finish();
        assert_eq!(s.total, 5);
        assert_eq!(s.without_context, 1);
        let g: Vec<(&str, &str, u64, usize)> = s
            .groups
            .iter()
            .map(|g| {
                (
                    g.stage.as_str(),
                    g.class_name.as_str(),
                    g.count,
                    g.samples.len(),
                )
            })
            .collect();
        assert_eq!(
            g,
            [
                ("VALUE_CONVERTER", "avro", 3, 2),
                ("(none)", "(none)", 1, 1),
                ("TRANSFORMATION", "filter", 1, 1),
            ]
        );
        assert_eq!(s.groups[0].samples[1].offset, 1);
        assert_eq!(s.groups[0].source_topics["orders"], 3);
    }

    #[test]
    fn filters_combine_stage_class_message_and_headers() {
        let c = ctx("VALUE_CONVERTER", "avro", "unknown schema id 99");
        let headers: Vec<(&str, Option<&[u8]>)> =
            vec![("tenant", Some(b"acme-eu")), ("trace", None)];
        let h = || headers.iter().copied();
        assert!(ReplayFilter::all().matches(&c, h()));
        assert!(
            ReplayFilter::all()
                .stage("value_converter")
                .matches(&c, h())
        );
        assert!(!ReplayFilter::all().stage("TRANSFORMATION").matches(&c, h()));
        assert!(ReplayFilter::all().class_name("avro").matches(&c, h()));
        assert!(!ReplayFilter::all().class_name("Avro").matches(&c, h()));
        let f = ReplayFilter::all().message("schema id \\d+").unwrap();
        assert!(f.matches(&c, h()));
        let f = ReplayFilter::all().header("tenant", "^acme-").unwrap();
        assert!(f.matches(&c, h()));
        let f = ReplayFilter::all().header("trace", ".*").unwrap();
        assert!(!f.matches(&c, h()), "a null header value matches nothing");
        let f = ReplayFilter::all()
            .stage("VALUE_CONVERTER")
            .header("tenant", "^globex")
            .unwrap();
        assert!(!f.matches(&c, h()));
        assert_eq!(
            ReplayFilter::all()
                .message("(")
                .unwrap_err()
                .to_string()
                .lines()
                .next(),
            Some("invalid regular expression: regex parse error:")
        );
    }
}
