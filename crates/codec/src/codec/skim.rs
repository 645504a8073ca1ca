//! [`Skimmer`]: decode only the top-level fields a pipeline's transforms
//! use, and write the others to the output by copying their bytes.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::{Cached, Codec, Decoded, Encoded, Frame, HeaderView, WireFormat};
use crate::avro::AvroSchema;
use crate::avro::splice::{SkimPlan, SplicePlan};
use crate::error::CodecError;
use crate::resolver::SchemaRef;
use crate::value::Value;

/// Decodes framed Avro records keeping only some top-level fields as
/// values, and encodes them under an output schema copying the bytes of
/// the other fields.
///
/// For callers whose record edits are limited to known top-level fields
/// (a pipeline whose transforms all name their fields). The fields not
/// kept are still checked as [`Codec::decode`] checks them: a record that
/// `decode` refuses is refused here with the same error, because any
/// failure falls back to a full `decode`. Output fields whose type is the
/// writer's type are copied; others are decoded from their bytes and
/// encoded. Anything this cannot do (other formats, a pinned reader
/// schema, a JSON or non-record output) falls back to the full codec
/// path, so the result is always what `decode` then `encode` would give:
/// the same values, and the same bytes for input that is canonically
/// encoded.
///
/// Use one `Skimmer` with one decoding [`Codec`] (plans are kept by schema
/// reference).
#[derive(Debug)]
pub struct Skimmer {
    keep: HashSet<String>,
    plans: Vec<SkimPlan>,
    by_ref: HashMap<SchemaRef, Option<usize>>,
    last: Option<(SchemaRef, Option<usize>)>,
    /// Per (skim plan, output schema): how to write it.
    splices: Vec<(usize, AvroSchema, Option<SplicePlan>)>,
    last_splice: usize,
}

/// What [`Skimmer::decode`] kept of a record for [`Skimmer::encode`]:
/// byte ranges of the fields not decoded. Reuse it across records.
#[derive(Debug, Default)]
pub struct Skimmed {
    plan: Option<usize>,
    start: usize,
    spans: Vec<Range<usize>>,
}

impl Skimmed {
    /// Nothing skimmed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the last decode left fields undecoded (the value then holds
    /// only the kept fields).
    pub fn is_partial(&self) -> bool {
        self.plan.is_some()
    }
}

impl Skimmer {
    /// A skimmer decoding the top-level fields `keep` names.
    pub fn new<S: Into<String>>(keep: impl IntoIterator<Item = S>) -> Self {
        Skimmer {
            keep: keep.into_iter().map(Into::into).collect(),
            plans: Vec::new(),
            by_ref: HashMap::new(),
            last: None,
            splices: Vec::new(),
            last_splice: 0,
        }
    }

    /// Decodes like [`Codec::decode`], building values only for the kept
    /// fields when the payload is framed Avro with a record root; `skimmed`
    /// records what was left out (pass it to [`Skimmer::encode`] with the
    /// same payload).
    pub fn decode<'a>(
        &mut self,
        codec: &Codec,
        payload: Option<&'a [u8]>,
        headers: &(impl HeaderView + ?Sized),
        skimmed: &mut Skimmed,
    ) -> Result<Decoded<'a>, CodecError> {
        skimmed.plan = None;
        let Some(bytes) = payload else {
            return codec.decode(payload, headers);
        };
        if codec.reader.is_some() || !codec.read.is_framed_avro() {
            return codec.decode(payload, headers);
        }
        let Ok(Frame::Schema(sref, start)) = codec.frame(bytes, headers) else {
            return codec.decode(payload, headers);
        };
        let Some(p) = self.plan_for(codec, &sref) else {
            return codec.decode(payload, headers);
        };
        let body = bytes.get(start..).unwrap_or_default();
        match self.plans[p].decode(body, &mut skimmed.spans) {
            Ok(value) => {
                skimmed.plan = Some(p);
                skimmed.start = start;
                Ok(Decoded {
                    value,
                    schema: Some(sref),
                })
            }
            // the full decoder gives the error (with its path and offset)
            Err(_) => codec.decode(payload, headers),
        }
    }

    /// Encodes like [`Codec::encode`] a value decoded by
    /// [`Skimmer::decode`] from `payload` (and then edited only in its
    /// kept fields, or by adding fields).
    pub fn encode(
        &mut self,
        codec: &Codec,
        value: &Value<'_>,
        payload: &[u8],
        skimmed: &Skimmed,
        out: &mut Vec<u8>,
    ) -> Result<Encoded, CodecError> {
        let Some(p) = skimmed.plan else {
            return codec.encode(value, out);
        };
        let body = payload.get(skimmed.start..).unwrap_or_default();
        let avro_out = !matches!(
            codec.write,
            WireFormat::Bytes | WireFormat::String | WireFormat::Json
        ) && codec.output_json_schema.is_none();
        let entry = match codec.output_schema() {
            Some(schema) if avro_out => Some((self.splice_for(p, schema), schema)),
            _ => None,
        };
        let skim = &self.plans[p];
        let splice = entry.and_then(|(i, schema)| self.splices[i].2.as_ref().map(|s| (s, schema)));
        match splice {
            Some((splice, schema)) => {
                out.clear();
                let encoded = codec.write_header(out)?;
                splice.encode(skim, schema.graph(), value, body, &skimmed.spans, out)?;
                Ok(encoded)
            }
            None => {
                let full = skim.complete(value, body, &skimmed.spans)?;
                codec.encode(&full, out)
            }
        }
    }

    fn plan_for(&mut self, codec: &Codec, sref: &SchemaRef) -> Option<usize> {
        if let Some((r, p)) = &self.last
            && r == sref
        {
            return *p;
        }
        let p = match self.by_ref.get(sref) {
            Some(p) => *p,
            None => {
                let keep = &self.keep;
                // not cached on failure: the full decode reports it
                let built = codec
                    .with_cached(sref, |c| {
                        Ok(match c {
                            Cached::Avro { plan, .. } => SkimPlan::new(plan, keep),
                            Cached::Json => None,
                        })
                    })
                    .ok()?;
                let p = built.map(|b| {
                    self.plans.push(b);
                    self.plans.len() - 1
                });
                self.by_ref.insert(sref.clone(), p);
                p
            }
        };
        self.last = Some((sref.clone(), p));
        p
    }

    /// The entry of `self.splices` for skim plan `p` and output `schema`
    /// (made on first use; its plan is `None` for a non-record output).
    fn splice_for(&mut self, p: usize, schema: &AvroSchema) -> usize {
        let same = |(q, s, _): &(usize, AvroSchema, Option<SplicePlan>)| {
            *q == p && std::ptr::eq(s.graph(), schema.graph())
        };
        if self.splices.get(self.last_splice).is_some_and(same) {
            return self.last_splice;
        }
        let i = match self.splices.iter().position(same) {
            Some(i) => i,
            None => {
                let plan = SplicePlan::new(&self.plans[p], schema.graph());
                // the schema is kept alive with its plan: its address
                // cannot be reused by another schema
                self.splices.push((p, schema.clone(), plan));
                self.splices.len() - 1
            }
        };
        self.last_splice = i;
        i
    }
}
