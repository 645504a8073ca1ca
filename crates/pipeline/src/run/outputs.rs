//! Output topics: their metrics and their encoders, cached per input
//! schema so the hot path compares one schema reference per record.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kbridge_codec::{Codec, Disposition, SchemaRef, Side};
use kbridge_metrics::{Metrics, SinkTopicMetrics};

use crate::codecs::{Encoders, SideCodec};
use crate::failure::{Failure, Message, Stage};
use crate::transform::Transform;

/// An encoder that could not be built for a schema: every record of that
/// schema fails the same way (kept so the check runs once).
#[derive(Debug, Clone)]
struct Refused {
    stage: Stage,
    class: &'static str,
    component: String,
    message: String,
    subject: Option<String>,
}

impl Refused {
    fn failure(&self) -> Failure {
        let mut f = Failure::new(
            self.stage,
            self.class,
            self.component.clone(),
            Disposition::Poison,
            Message(self.message.clone()),
        );
        f.subject = self.subject.clone();
        f
    }
}

#[derive(Default)]
struct Cache {
    map: HashMap<Option<SchemaRef>, Result<Arc<Codec>, Refused>>,
    last: Option<(Option<SchemaRef>, Arc<Codec>)>,
}

/// One output topic (the dead-letter topics included).
pub(crate) struct OutTopic {
    pub(crate) name: String,
    pub(crate) metrics: SinkTopicMetrics,
    /// Acknowledged since the last [`Outputs::flush_delivered`].
    delivered: Tally,
    key: Cache,
    value: Cache,
}

/// Records and bytes counted on the hot path and added to the metrics
/// counters once per batch (a counter update per record showed in
/// profiles).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) records: u64,
    pub(crate) bytes: u64,
}

impl Tally {
    #[inline]
    pub(crate) fn add(&mut self, bytes: u64) {
        self.records += 1;
        self.bytes += bytes;
    }

    /// The counts so far, reset.
    pub(crate) fn take(&mut self) -> Option<Tally> {
        (self.records > 0).then(|| std::mem::take(self))
    }
}

/// Every output topic seen so far.
pub(crate) struct Outputs {
    metrics: Metrics,
    topics: Vec<OutTopic>,
    index: HashMap<String, u32>,
    last: Option<u32>,
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outputs")
            .field(
                "topics",
                &self.topics.iter().map(|t| &t.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Outputs {
    pub(crate) fn new(metrics: Metrics) -> Self {
        Outputs {
            metrics,
            topics: Vec::new(),
            index: HashMap::new(),
            last: None,
        }
    }

    /// The index of topic `name`, added on first use.
    #[inline]
    pub(crate) fn index(&mut self, name: &str) -> u32 {
        if let Some(i) = self.last
            && self.topics[i as usize].name == name
        {
            return i;
        }
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                let i = self.topics.len() as u32;
                self.topics.push(OutTopic {
                    name: name.to_owned(),
                    metrics: self.metrics.sink_topic(name),
                    delivered: Tally::default(),
                    key: Cache::default(),
                    value: Cache::default(),
                });
                self.index.insert(name.to_owned(), i);
                i
            }
        };
        self.last = Some(i);
        i
    }

    /// How many topics have an index.
    pub(crate) fn len(&self) -> usize {
        self.topics.len()
    }

    pub(crate) fn get(&self, i: u32) -> &OutTopic {
        &self.topics[i as usize]
    }

    /// One record of `bytes` acknowledged on topic `t`: its latency is
    /// recorded now, the counts at the next
    /// [`flush_delivered`](Self::flush_delivered).
    #[inline]
    pub(crate) fn delivered(&mut self, t: u32, bytes: u64, latency: Option<Duration>) {
        let topic = &mut self.topics[t as usize];
        topic.delivered.add(bytes);
        if let Some(l) = latency {
            topic.metrics.latency(l);
        }
    }

    /// Adds the acknowledged records counted so far to the metrics.
    pub(crate) fn flush_delivered(&mut self) {
        for t in &mut self.topics {
            if let Some(d) = t.delivered.take() {
                t.metrics.delivered_batch(d.records, d.bytes);
            }
        }
    }

    /// The encoder of `side` for outputs of topic `t` whose input was
    /// decoded with schema `sref`.
    pub(crate) fn encoder<'s>(
        &'s mut self,
        t: u32,
        side: &'s SideCodec,
        sref: Option<&SchemaRef>,
        transforms: &[Box<dyn Transform>],
    ) -> Result<&'s Codec, Failure> {
        let derived = match &side.encoders {
            Encoders::Shared(c) => return Ok(c),
            Encoders::Derived(d) => d,
        };
        let topic = &mut self.topics[t as usize];
        let cache = match side.side {
            Side::Key => &mut topic.key,
            Side::Value => &mut topic.value,
        };
        let hit = matches!(&cache.last, Some((r, _)) if r.as_ref() == sref);
        if !hit {
            let key = sref.cloned();
            let entry = match cache.map.get(&key) {
                Some(e) => e.clone(),
                None => {
                    let input = match sref {
                        Some(s) => side
                            .decoder
                            .value_schema(s)
                            .map_err(|e| Failure::codec(side.encode_stage(), &side.component, e))?,
                        None => None,
                    };
                    match derived.build(&topic.name, input.as_ref(), transforms) {
                        Ok(c) => {
                            cache.map.insert(key.clone(), Ok(Arc::clone(&c)));
                            Ok(c)
                        }
                        // a registry outage or a fatal error is not remembered
                        Err(f) if f.disposition != Disposition::Poison => return Err(f),
                        Err(f) => {
                            let refused = Refused {
                                stage: f.stage,
                                class: f.class,
                                component: f.component.to_string(),
                                message: f.message(),
                                subject: f.subject.clone(),
                            };
                            cache.map.insert(key.clone(), Err(refused.clone()));
                            Err(refused)
                        }
                    }
                }
            };
            match entry {
                Ok(c) => cache.last = Some((key, c)),
                Err(refused) => return Err(refused.failure()),
            }
        }
        match &cache.last {
            Some((_, c)) => Ok(c),
            None => Err(Failure::new(
                side.encode_stage(),
                "NoEncoder",
                side.component.clone(),
                Disposition::Fatal,
                Message("no encoder".to_owned()),
            )),
        }
    }
}
