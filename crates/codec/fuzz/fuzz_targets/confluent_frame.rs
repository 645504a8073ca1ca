#![no_main]
//! Arbitrary payloads (and an optional schema-id header) through a
//! Confluent-framed codec: ids 1 and 2 resolve, everything else must be a
//! typed error.

use std::sync::{Arc, OnceLock};

use kbridge_codec::{Codec, MemoryResolver, ResolvedSchema, Side, WireFormat};
use libfuzzer_sys::fuzz_target;

include!("schemas.rs");

fn codec() -> &'static Codec {
    static C: OnceLock<Codec> = OnceLock::new();
    C.get_or_init(|| {
        let r = Arc::new(MemoryResolver::new());
        r.insert(1, Some([7; 16]), ResolvedSchema::avro(HEALTH).expect("schema"));
        r.insert(2, Some([9; 16]), ResolvedSchema::avro(ALL_TYPES).expect("schema"));
        Codec::builder(Side::Value)
            .resolver(r)
            .read(WireFormat::ConfluentId)
            .write(WireFormat::ConfluentId)
            .output_schema(Arc::new(ResolvedSchema::avro(HEALTH_OUT).expect("schema")))
            .output_subject("out")
            .build()
            .expect("codec")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else { return };
    let c = codec();
    let r = if flags & 1 == 1 {
        // first up-to-17 bytes are a header value
        let n = (usize::from(flags >> 1) % 18).min(rest.len());
        let (h, payload) = rest.split_at(n);
        let headers: &[(&str, Option<&[u8]>)] = &[("__value_schema_id", Some(h))];
        c.decode(Some(payload), headers)
    } else {
        c.decode(Some(rest), &kbridge_codec::NoHeaders)
    };
    if let Err(e) = r {
        // every error is classified and printable
        let _ = (e.disposition(), e.to_string());
    }
    let _ = c.decode_typed::<serde_json_free::Any>(rest, &kbridge_codec::NoHeaders);
});

mod serde_json_free {
    /// Accepts any datum (exercises serde_avro_fast through the codec).
    pub struct Any;
    impl<'de> serde::Deserialize<'de> for Any {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            serde::de::IgnoredAny::deserialize(d).map(|_| Any)
        }
    }
}
