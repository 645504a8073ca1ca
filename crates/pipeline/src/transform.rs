//! The transform stage's contract: [`Transform`] and the [`PipelineRecord`]
//! it works on. Built-in transforms (filter, fields, route, ...) and library
//! users' own transforms implement the same trait.

use std::borrow::Cow;

use kbridge_codec::{AvroSchema, Value};
use kbridge_source::TimestampType;

/// Where a record was read from. Read-only for transforms; the pipeline
/// uses it for offsets and dead-letter headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceMeta<'a> {
    /// Source topic.
    pub topic: &'a str,
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// Kafka record timestamp in epoch milliseconds, when the broker gave one.
    pub timestamp: Option<i64>,
    /// What the Kafka timestamp means.
    pub timestamp_type: TimestampType,
}

/// One header: name and value (`None` is a header with a null value).
pub type Header<'a> = (Cow<'a, str>, Option<Cow<'a, [u8]>>);

/// A record between decode and encode. Values borrow from the consumed
/// message where they can; a transform replaces what it changes with owned
/// values.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRecord<'a> {
    /// Decoded key; [`Value::Null`] when the Kafka record had no key.
    pub key: Value<'a>,
    /// Decoded value; [`Value::Null`] for a tombstone.
    pub value: Value<'a>,
    /// Headers to write, in order (starts as the source record's headers,
    /// minus schema-id headers the codec consumed).
    pub headers: Vec<Header<'a>>,
    /// Output topic; `None` writes to the sink's configured topic.
    pub topic: Option<Cow<'a, str>>,
    /// Output partition; `None` lets the partitioner choose (by key).
    pub partition: Option<i32>,
    /// Output timestamp in epoch milliseconds; starts as the source
    /// timestamp (event time after a timestamp transform).
    pub timestamp: Option<i64>,
    /// Where the record came from.
    pub source: SourceMeta<'a>,
}

impl<'a> PipelineRecord<'a> {
    /// A record with a value only, as read from `source`.
    pub fn new(value: Value<'a>, source: SourceMeta<'a>) -> Self {
        PipelineRecord {
            key: Value::Null,
            value,
            headers: Vec::new(),
            topic: None,
            partition: None,
            timestamp: source.timestamp,
            source,
        }
    }

    /// The first header called `name`, if any.
    pub fn header(&self, name: &str) -> Option<&Header<'a>> {
        self.headers.iter().find(|(n, _)| n == name)
    }
}

/// Milliseconds since the Unix epoch, now (0 before it): one clock read,
/// without calendar arithmetic. For processing-time fields and latencies.
pub fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// What the pipeline does with a record a transform could not handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformDisposition {
    /// The record itself is bad (missing field, impossible cast): it goes
    /// to the dead-letter queue with stage `transform`.
    Poison,
    /// A passing condition (e.g. a lookup service down): retry later.
    Retriable,
    /// The pipeline cannot go on: stop without committing.
    Fatal,
}

/// A transform's failure for one record.
#[derive(Debug, thiserror::Error)]
#[error("{message}{}", .path.as_ref().map(|p| format!(" (field `{p}`)")).unwrap_or_default())]
#[non_exhaustive]
pub struct TransformError {
    /// What to do with the record.
    pub disposition: TransformDisposition,
    /// Short class for metrics and the DLQ `class.name` header, e.g.
    /// `MissingField`, `CastFailed`, `ExpressionError`.
    pub class: &'static str,
    /// Field path involved, when there is one.
    pub path: Option<String>,
    /// Human-readable reason.
    pub message: String,
    /// Underlying cause.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TransformError {
    /// A poison-record error: the record goes to the dead-letter queue.
    pub fn poison(class: &'static str, message: impl Into<String>) -> Self {
        TransformError {
            disposition: TransformDisposition::Poison,
            class,
            path: None,
            message: message.into(),
            source: None,
        }
    }

    /// A fatal error: the pipeline stops.
    pub fn fatal(class: &'static str, message: impl Into<String>) -> Self {
        TransformError {
            disposition: TransformDisposition::Fatal,
            ..Self::poison(class, message)
        }
    }

    /// A retriable error: the pipeline retries the record later.
    pub fn retriable(class: &'static str, message: impl Into<String>) -> Self {
        TransformError {
            disposition: TransformDisposition::Retriable,
            ..Self::poison(class, message)
        }
    }

    /// Names the field path involved.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// One step of the transform stage: a record in, zero, one or several
/// records out, or a classified error.
///
/// Implementations push their outputs to `out` (pushing nothing drops the
/// record — counted as filtered by the pipeline). They run on the
/// pipeline's thread, once per record, so they must not block.
pub trait Transform: Send {
    /// Name used in logs, metrics and error messages (e.g. `drop_fields`).
    fn name(&self) -> &str;

    /// Transforms one record.
    fn apply<'a>(
        &mut self,
        record: PipelineRecord<'a>,
        out: &mut Vec<PipelineRecord<'a>>,
    ) -> Result<(), TransformError>;

    /// Transforms one record in place, for transforms that yield at most
    /// one record per input: `Some(Ok(true))` keeps it, `Some(Ok(false))`
    /// drops it. `None` (the default) means "not supported": the pipeline
    /// calls [`apply`](Self::apply) instead. When implemented it must do
    /// what `apply` does; it spares moving the record in and out of the
    /// output vector at every step.
    fn apply_in_place(
        &mut self,
        record: &mut PipelineRecord<'_>,
    ) -> Option<Result<bool, TransformError>> {
        let _ = record;
        None
    }

    /// The value schema of this transform's outputs, given the schema of its
    /// inputs. Called at start-up so that a mismatch with the output schema
    /// is reported before any record is consumed. The default says "the
    /// schema is unchanged".
    fn output_schema(&self, input: &AvroSchema) -> Result<AvroSchema, TransformError> {
        Ok(input.clone())
    }

    /// The top-level fields of the record value this transform reads,
    /// writes, adds or removes — when it uses nothing else of the value and
    /// every output is its input record with at most those fields changed
    /// (a filter, a field edit, a route by a field). `None`, the default,
    /// means it may use the whole value.
    ///
    /// When every transform names its fields and both ends are Avro, the
    /// pipeline decodes only those fields: the others are checked as they
    /// are read and their bytes are copied from input to output. A
    /// transform that names too few fields sees records without the others,
    /// so `None` is the safe answer.
    fn value_fields(&self) -> Option<Vec<String>> {
        None
    }
}

/// Runs one record through `transforms` in order, appending the surviving
/// records to `out`. On a failure, returns the position of the transform
/// that failed and its error, and removes the records of this call from
/// `out`. Allocates nothing while each transform yields at most one record
/// (reuse `out` across calls).
pub fn apply_all<'a>(
    transforms: &mut [Box<dyn Transform>],
    mut record: PipelineRecord<'a>,
    out: &mut Vec<PipelineRecord<'a>>,
) -> Result<(), (usize, TransformError)> {
    // in place while the transforms support it
    let mut first = 0;
    while let Some(t) = transforms.get_mut(first) {
        match t.apply_in_place(&mut record) {
            Some(Ok(true)) => first += 1,
            Some(Ok(false)) => return Ok(()),
            Some(Err(e)) => return Err((first, e)),
            None => break,
        }
    }
    let base = out.len();
    let result = apply_from(&mut transforms[first..], record, out, base);
    if result.is_err() {
        out.truncate(base);
    }
    result.map_err(|(i, e)| (first + i, e))
}

fn apply_from<'a>(
    transforms: &mut [Box<dyn Transform>],
    record: PipelineRecord<'a>,
    out: &mut Vec<PipelineRecord<'a>>,
    base: usize,
) -> Result<(), (usize, TransformError)> {
    let Some((first, rest)) = transforms.split_first_mut() else {
        out.push(record);
        return Ok(());
    };
    first.apply(record, out).map_err(|e| (0, e))?;
    for (i, t) in rest.iter_mut().enumerate() {
        // the records past `base` are the next transform's inputs
        match out.len() - base {
            0 => break,
            1 => {
                let Some(last) = out.last_mut() else { break };
                match t.apply_in_place(last) {
                    Some(Ok(true)) => {}
                    Some(Ok(false)) => {
                        out.pop();
                    }
                    Some(Err(e)) => return Err((i + 1, e)),
                    None => {
                        if let Some(r) = out.pop() {
                            t.apply(r, out).map_err(|e| (i + 1, e))?;
                        }
                    }
                }
            }
            _ => {
                let inputs: Vec<PipelineRecord<'a>> = out.drain(base..).collect();
                for r in inputs {
                    t.apply(r, out).map_err(|e| (i + 1, e))?;
                }
            }
        }
    }
    Ok(())
}

/// An empty vector of records of another lifetime, reusing `v`'s
/// allocation (the standard library collects a mapped `IntoIter` in place
/// when the element layout is the same). The pipeline keeps one such
/// buffer across records.
pub(crate) fn recycle<'b>(mut v: Vec<PipelineRecord<'_>>) -> Vec<PipelineRecord<'b>> {
    v.clear();
    v.into_iter().map(|_| unreachable_record()).collect()
}

#[cold]
fn unreachable_record<'b>() -> PipelineRecord<'b> {
    // `recycle` clears the vector first, so this is never called.
    PipelineRecord::new(
        Value::Null,
        SourceMeta {
            topic: "",
            partition: -1,
            offset: -1,
            timestamp: None,
            timestamp_type: TimestampType::NotAvailable,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Emits `copies` copies of each record, optionally failing on a value.
    struct Fan {
        copies: usize,
        fail_on: Option<i64>,
    }

    impl Transform for Fan {
        fn name(&self) -> &str {
            "fan"
        }
        fn apply<'a>(
            &mut self,
            record: PipelineRecord<'a>,
            out: &mut Vec<PipelineRecord<'a>>,
        ) -> Result<(), TransformError> {
            if record.value.as_i64() == self.fail_on {
                return Err(TransformError::poison("Boom", "boom"));
            }
            for _ in 0..self.copies {
                out.push(record.clone());
            }
            Ok(())
        }
    }

    fn rec(v: i64) -> PipelineRecord<'static> {
        PipelineRecord::new(
            Value::Long(v),
            SourceMeta {
                topic: "t",
                partition: 0,
                offset: v,
                timestamp: None,
                timestamp_type: TimestampType::CreateTime,
            },
        )
    }

    #[test]
    fn chains_fan_out_filter_and_report_the_failing_position() {
        let mut ts: Vec<Box<dyn Transform>> = vec![
            Box::new(Fan {
                copies: 2,
                fail_on: None,
            }),
            Box::new(Fan {
                copies: 1,
                fail_on: Some(3),
            }),
        ];
        let mut out = vec![rec(100)];
        apply_all(&mut ts, rec(1), &mut out).unwrap();
        assert_eq!(out.len(), 3, "the earlier record stays, two copies added");
        let (i, e) = apply_all(&mut ts, rec(3), &mut out).unwrap_err();
        assert_eq!((i, e.class), (1, "Boom"));
        assert_eq!(out.len(), 3, "the failed call's records are removed");
        let mut none: Vec<Box<dyn Transform>> = vec![Box::new(Fan {
            copies: 0,
            fail_on: None,
        })];
        let mut out2 = Vec::new();
        apply_all(&mut none, rec(1), &mut out2).unwrap();
        assert!(out2.is_empty(), "filtered");
        apply_all(&mut [], rec(9), &mut out2).unwrap();
        assert_eq!(out2.len(), 1, "no transforms: the record passes");
    }

    /// Adds `add` to the value; drops `drop_on`, fails on `fail_on`; with
    /// `in_place` it also offers the in-place path (same behaviour).
    struct Add {
        add: i64,
        drop_on: Option<i64>,
        fail_on: Option<i64>,
        in_place: bool,
    }

    impl Add {
        fn step(&self, r: &mut PipelineRecord<'_>) -> Result<bool, TransformError> {
            let v = r.value.as_i64();
            if v == self.fail_on {
                return Err(TransformError::poison("AddFailed", "no"));
            }
            if v == self.drop_on {
                return Ok(false);
            }
            r.value = Value::Long(v.unwrap_or(0) + self.add);
            Ok(true)
        }
    }

    impl Transform for Add {
        fn name(&self) -> &str {
            "add"
        }
        fn apply<'a>(
            &mut self,
            mut record: PipelineRecord<'a>,
            out: &mut Vec<PipelineRecord<'a>>,
        ) -> Result<(), TransformError> {
            if self.step(&mut record)? {
                out.push(record);
            }
            Ok(())
        }
        fn apply_in_place(
            &mut self,
            record: &mut PipelineRecord<'_>,
        ) -> Option<Result<bool, TransformError>> {
            self.in_place.then(|| self.step(record))
        }
    }

    fn values(out: &[PipelineRecord<'_>]) -> Vec<Option<i64>> {
        out.iter().map(|r| r.value.as_i64()).collect()
    }

    #[test]
    fn in_place_steps_give_what_apply_gives() {
        // the same chain with and without the in-place path: an in-place
        // prefix, a fan-out, then steps on each copy and on a single record
        for in_place in [true, false] {
            let add = |add, drop_on, fail_on| -> Box<dyn Transform> {
                Box::new(Add {
                    add,
                    drop_on,
                    fail_on,
                    in_place,
                })
            };
            let mut ts: Vec<Box<dyn Transform>> = vec![
                add(10, Some(2), Some(3)),
                add(100, None, Some(15)),
                Box::new(Fan {
                    copies: 2,
                    fail_on: Some(121),
                }),
                add(1000, None, Some(122)),
                add(1, Some(1120), None),
            ];
            let mut out = vec![rec(-1)];
            apply_all(&mut ts, rec(0), &mut out).unwrap();
            assert_eq!(
                values(&out),
                [Some(-1), Some(1111), Some(1111)],
                "{in_place}"
            );
            out.truncate(1);
            apply_all(&mut ts, rec(2), &mut out).unwrap();
            assert_eq!(values(&out), [Some(-1)], "dropped by the first step");
            for (input, at, class) in [
                (3, 0, "AddFailed"),
                (5, 1, "AddFailed"),
                (11, 2, "Boom"),
                (12, 3, "AddFailed"),
            ] {
                let (i, e) = apply_all(&mut ts, rec(input), &mut out).unwrap_err();
                assert_eq!((i, e.class), (at, class), "input {input}, {in_place}");
                assert_eq!(values(&out), [Some(-1)], "nothing of a failed record stays");
            }
            // 10 -> 20 -> 120 -> two copies -> 1120 each -> dropped by the last
            apply_all(&mut ts, rec(10), &mut out).unwrap();
            assert_eq!(values(&out), [Some(-1)], "both copies dropped");
            // a single record after the fan-out's position goes in place too
            let mut single: Vec<Box<dyn Transform>> = vec![
                Box::new(Fan {
                    copies: 1,
                    fail_on: None,
                }),
                add(5, Some(7), Some(8)),
            ];
            apply_all(&mut single, rec(1), &mut out).unwrap();
            apply_all(&mut single, rec(7), &mut out).unwrap();
            assert_eq!(values(&out), [Some(-1), Some(6)]);
            let (i, _) = apply_all(&mut single, rec(8), &mut out).unwrap_err();
            assert_eq!(i, 1);
            assert_eq!(values(&out), [Some(-1), Some(6)]);
        }
    }

    #[test]
    fn recycling_keeps_the_allocation() {
        let mut v = Vec::with_capacity(8);
        v.push(rec(1));
        let cap = v.capacity();
        let ptr = v.as_ptr() as usize;
        let w: Vec<PipelineRecord<'_>> = recycle(v);
        assert!(w.is_empty());
        assert_eq!(w.capacity(), cap);
        assert_eq!(w.as_ptr() as usize, ptr);
    }
}
