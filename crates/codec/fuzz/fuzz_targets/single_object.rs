#![no_main]
//! Single-object payloads: `C3 01` + a known fingerprint (first byte picks
//! one) + arbitrary datum bytes, and fully arbitrary payloads.

use std::sync::{Arc, OnceLock};

use kbridge_codec::{AvroSchema, Codec, NoHeaders, ResolvedSchema, Side, WireFormat};
use libfuzzer_sys::fuzz_target;

include!("schemas.rs");

fn setup() -> &'static (Codec, Vec<u64>) {
    static C: OnceLock<(Codec, Vec<u64>)> = OnceLock::new();
    C.get_or_init(|| {
        let mut b = Codec::builder(Side::Value).read(WireFormat::SingleObject).write(WireFormat::SingleObject);
        let mut fps = Vec::new();
        for t in [HEALTH, ALL_TYPES, LIST] {
            fps.push(AvroSchema::parse(t).expect("schema").fingerprint());
            b = b.known_schema(Arc::new(ResolvedSchema::avro(t).expect("schema")));
        }
        b = b.output_schema(Arc::new(ResolvedSchema::avro(HEALTH).expect("schema")));
        (b.build().expect("codec"), fps)
    })
}

fuzz_target!(|data: &[u8]| {
    let (c, fps) = setup();
    let _ = c.decode(Some(data), &NoHeaders);
    let Some((&pick, datum)) = data.split_first() else { return };
    let mut p = vec![0xC3, 0x01];
    p.extend_from_slice(&fps[pick as usize % fps.len()].to_le_bytes());
    p.extend_from_slice(datum);
    if let Ok(d) = c.decode(Some(&p), &NoHeaders) {
        assert!(d.schema.is_some());
    }
});
