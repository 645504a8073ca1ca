#![no_main]
//! Arbitrary text as plain JSON and as JSON under a schema (both styles).
//! Whatever parses under the schema must encode.

use std::sync::OnceLock;

use kbridge_codec::{AvroSchema, JsonStyle};
use libfuzzer_sys::fuzz_target;

include!("schemas.rs");

fn schemas() -> &'static [AvroSchema] {
    static S: OnceLock<Vec<AvroSchema>> = OnceLock::new();
    S.get_or_init(|| [HEALTH, ALL_TYPES, LIST].iter().map(|t| AvroSchema::parse(t).expect("schema")).collect())
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = kbridge_codec::json::parse_json(data) {
        let mut out = Vec::new();
        kbridge_codec::json::write_json(&v, None, JsonStyle::Natural, &mut out).expect("render");
    }
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let s = &schemas()[pick as usize % schemas().len()];
    for style in [JsonStyle::Natural, JsonStyle::Avro] {
        if let Ok(v) = s.value_from_json(text, style) {
            let mut out = Vec::new();
            s.encode(&v, &mut out).expect("a value parsed under the schema encodes");
            let back = s.decode(&out).expect("decodes");
            let mut j = Vec::new();
            s.write_json(&back, style, &mut j).expect("renders");
        }
    }
});
