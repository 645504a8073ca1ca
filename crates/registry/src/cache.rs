//! The client's caches. Locks are never held across an `.await`.

use crate::ParsedSchema;
use crate::types::{RegisteredSchema, SchemaDefinition};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

#[derive(Debug)]
pub(crate) struct Caches {
    /// Parsed schema by id, forever. One cell per id: concurrent misses
    /// wait on the same initialisation (one request).
    by_id: Mutex<HashMap<u32, Arc<OnceCell<Arc<ParsedSchema>>>>>,
    /// Id by subject, then by schema (for encoders), forever unless the
    /// subject is deleted through this client.
    ids: RwLock<HashMap<String, HashMap<SchemaDefinition, u32>>>,
    /// Latest version by subject, for `latest_ttl`.
    latest: Mutex<HashMap<String, (Instant, Arc<RegisteredSchema>)>>,
    latest_ttl: Duration,
}

impl Caches {
    pub(crate) fn new(latest_ttl: Duration) -> Self {
        Caches {
            by_id: Mutex::new(HashMap::new()),
            ids: RwLock::new(HashMap::new()),
            latest: Mutex::new(HashMap::new()),
            latest_ttl,
        }
    }

    pub(crate) fn schema_cell(&self, id: u32) -> Arc<OnceCell<Arc<ParsedSchema>>> {
        self.by_id.lock().entry(id).or_default().clone()
    }

    pub(crate) fn id(&self, subject: &str, schema: &SchemaDefinition) -> Option<u32> {
        self.ids
            .read()
            .get(subject)
            .and_then(|m| m.get(schema))
            .copied()
    }

    pub(crate) fn put_id(&self, subject: &str, schema: &SchemaDefinition, id: u32) {
        self.ids
            .write()
            .entry(subject.to_string())
            .or_default()
            .insert(schema.clone(), id);
    }

    pub(crate) fn latest(&self, subject: &str) -> Option<Arc<RegisteredSchema>> {
        let map = self.latest.lock();
        let (at, schema) = map.get(subject)?;
        (at.elapsed() < self.latest_ttl).then(|| schema.clone())
    }

    pub(crate) fn put_latest(&self, subject: &str, schema: Arc<RegisteredSchema>) {
        self.latest
            .lock()
            .insert(subject.to_string(), (Instant::now(), schema));
    }

    pub(crate) fn forget_subject(&self, subject: &str) {
        self.latest.lock().remove(subject);
        self.ids.write().remove(subject);
    }
}
