#![no_main]
//! Arbitrary bytes decoded as a datum of one of several schemas (the first
//! byte picks it). A successful decode must re-encode and decode to the
//! same value.

use std::sync::OnceLock;

use kbridge_codec::AvroSchema;
use libfuzzer_sys::fuzz_target;

include!("schemas.rs");

fn schemas() -> &'static [AvroSchema] {
    static S: OnceLock<Vec<AvroSchema>> = OnceLock::new();
    S.get_or_init(|| [HEALTH, ALL_TYPES, LIST].iter().map(|t| AvroSchema::parse(t).expect("schema")).collect())
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, datum)) = data.split_first() else { return };
    let s = &schemas()[pick as usize % schemas().len()];
    if let Ok(v) = s.decode(datum) {
        let mut out = Vec::new();
        s.encode(&v, &mut out).expect("a decoded value re-encodes");
        let again = s.decode(&out).expect("re-encoded bytes decode");
        // NaN != NaN: compare the bytes of a third encoding instead
        let mut out2 = Vec::new();
        s.encode(&again, &mut out2).expect("re-encodes");
        assert_eq!(out, out2);
    }
});
