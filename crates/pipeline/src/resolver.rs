//! [`Metered`]: counts the schema lookups the codecs make through the
//! registry resolver (each one is a miss of the codecs' own caches).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use kbridge_codec::{RegisteredId, ResolveError, ResolvedSchema, SchemaResolver};
use kbridge_metrics::RegistryMetrics;

/// A resolver that records `kbridge_registry_cache_misses_total` and the
/// request counters and latency for every lookup it forwards.
pub(crate) struct Metered {
    inner: Arc<dyn SchemaResolver>,
    meter: RegistryMeter,
}

/// What the loop needs to count cache hits: the registry metrics and the
/// number of lookups so far (a decode that made none was a hit).
#[derive(Debug, Clone)]
pub(crate) struct RegistryMeter {
    pub(crate) metrics: RegistryMetrics,
    pub(crate) lookups: Arc<AtomicU64>,
}

impl RegistryMeter {
    pub(crate) fn new(metrics: RegistryMetrics) -> Self {
        RegistryMeter {
            metrics,
            lookups: Arc::new(AtomicU64::new(0)),
        }
    }

    #[inline]
    pub(crate) fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }
}

impl Metered {
    pub(crate) fn new(inner: Arc<dyn SchemaResolver>, meter: RegistryMeter) -> Self {
        Metered { inner, meter }
    }

    fn timed<T>(&self, f: impl FnOnce() -> Result<T, ResolveError>) -> Result<T, ResolveError> {
        self.meter.lookups.fetch_add(1, Ordering::Relaxed);
        self.meter.metrics.cache_miss();
        let t = Instant::now();
        let r = f();
        self.meter.metrics.request(t.elapsed(), r.is_ok());
        r
    }
}

impl SchemaResolver for Metered {
    fn schema_by_id(&self, id: u32) -> Result<Arc<ResolvedSchema>, ResolveError> {
        self.timed(|| self.inner.schema_by_id(id))
    }

    fn schema_by_guid(&self, guid: &[u8; 16]) -> Result<Arc<ResolvedSchema>, ResolveError> {
        self.timed(|| self.inner.schema_by_guid(guid))
    }

    fn register_or_lookup(
        &self,
        subject: &str,
        schema: &ResolvedSchema,
    ) -> Result<RegisteredId, ResolveError> {
        self.timed(|| self.inner.register_or_lookup(subject, schema))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbridge_codec::{MemoryResolver, SchemaRef};
    use kbridge_metrics::Metrics;

    #[test]
    fn lookups_count_as_misses_and_requests() {
        let metrics = Metrics::new().unwrap();
        let mem = Arc::new(MemoryResolver::new());
        mem.insert(1, None, ResolvedSchema::avro(r#""string""#).unwrap());
        let meter = RegistryMeter::new(metrics.registry());
        let m = Metered::new(mem, meter.clone());
        assert!(m.schema_by_id(1).is_ok());
        let e = m.schema_by_id(2).unwrap_err();
        assert!(matches!(
            e,
            ResolveError::NotFound {
                what: SchemaRef::Id(2)
            }
        ));
        let text = metrics.render_prometheus().unwrap();
        assert!(
            text.contains("kbridge_registry_cache_misses_total 2"),
            "{text}"
        );
    }
}
