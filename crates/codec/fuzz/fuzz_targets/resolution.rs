#![no_main]
//! Data written with health v1 read through a pinned reader schema (health
//! v2: renamed, removed, added, promoted fields and an enum default).

use std::sync::{Arc, OnceLock};

use kbridge_codec::{AvroSchema, SchemaRef};
use libfuzzer_sys::fuzz_target;

include!("schemas.rs");

fn plan() -> &'static (kbridge_codec::ReadPlan, AvroSchema) {
    static P: OnceLock<(kbridge_codec::ReadPlan, AvroSchema)> = OnceLock::new();
    P.get_or_init(|| {
        let w = AvroSchema::parse(HEALTH).expect("schema");
        let r = AvroSchema::parse(HEALTH_V2).expect("schema");
        (r.plan_from(&w, SchemaRef::Id(1)).expect("resolves"), r)
    })
}

fuzz_target!(|data: &[u8]| {
    let (p, reader) = plan();
    if let Ok(v) = p.decode(data) {
        // what resolution produced fits the reader schema
        let mut out = Vec::new();
        reader.encode(&v, &mut out).expect("resolved value encodes under the reader schema");
        let _ = Arc::clone(reader.resolved());
    }
});
