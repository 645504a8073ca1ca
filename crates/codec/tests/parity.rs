//! kbridge against independent implementations on the benchmark workload:
//! the same bytes as apache-avro and serde_avro_fast for decode → encode and
//! for the benchmark transform, and the same records decoded.

mod common;

use std::sync::Arc;

use common::health::*;
use kbridge_codec::{Codec, MemoryResolver, NoHeaders, ResolvedSchema, Side, Value, WireFormat};

fn codec(out_schema: &str, subject: &str) -> Codec {
    let resolver = Arc::new(MemoryResolver::new());
    resolver.insert(1, None, ResolvedSchema::avro(HEALTH_AVSC).unwrap());
    Codec::builder(Side::Value)
        .resolver(resolver)
        .read(WireFormat::ConfluentId)
        .write(WireFormat::ConfluentId)
        .output_schema(Arc::new(ResolvedSchema::avro(out_schema).unwrap()))
        .output_subject(subject)
        .build()
        .unwrap()
}

#[test]
fn decode_encode_reproduces_apache_avro_bytes() {
    let frames = generate_frames(3000, 7);
    // the same schema registered under another subject gets id 1 back
    // only if it is the same subject; here it is new: id 2
    let c = codec(HEALTH_AVSC, "health-value");
    let mut out = Vec::new();
    for f in &frames {
        let d = c.decode(Some(f), &NoHeaders).unwrap();
        assert_eq!(d.schema, Some(kbridge_codec::SchemaRef::Id(1)));
        let e = c.encode(&d.value, &mut out).unwrap();
        assert_eq!(e.schema_id, Some(2));
        assert_eq!(
            &out[5..],
            &f[5..],
            "datum bytes differ after decode → encode"
        );
    }
}

#[test]
fn transform_output_matches_apache_avro_and_serde_avro_fast() {
    let frames = generate_frames(3000, 11);
    let c = codec(HEALTH_OUT_AVSC, "health-out-value");
    let sin = apache_avro::Schema::parse_str(HEALTH_AVSC).unwrap();
    let sout = apache_avro::Schema::parse_str(HEALTH_OUT_AVSC).unwrap();
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(&sin)
        .build()
        .unwrap();
    let writer = apache_avro::writer::datum::GenericDatumWriter::builder(&sout)
        .build()
        .unwrap();
    let out_reader = apache_avro::reader::datum::GenericDatumReader::builder(&sout)
        .build()
        .unwrap();
    let saf_out: serde_avro_fast::Schema = HEALTH_OUT_AVSC.parse().unwrap();
    let (mut kept, mut dropped) = (0, 0);
    let mut out = Vec::new();
    let mut typed_out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let at = 1_800_000_000_000 + i as i64;
        let mut want = reader.read_value(&mut &f[5..]).unwrap();
        let keep = transform_apache(&mut want, at);
        let mut d = c.decode(Some(f), &NoHeaders).unwrap();
        assert_eq!(transform_kbridge(&mut d.value, at), keep);
        if !keep {
            dropped += 1;
            continue;
        }
        kept += 1;
        // maps are HashMaps in apache-avro (random order on the wire):
        // compare decoded, and the bytes with maps re-ordered
        let mut want_bytes = HEADER_OUT.to_vec();
        writer.write_value_ref(&mut want_bytes, &want).unwrap();
        c.encode(&d.value, &mut out).unwrap();
        assert_eq!(&out[..5], &HEADER_OUT);
        assert_eq!(out.len(), want_bytes.len(), "record {i}");
        let ours = out_reader.read_value(&mut &out[5..]).unwrap();
        assert_eq!(ours, want, "record {i}");

        // the typed path writes the same bytes as plain serde_avro_fast
        let e: HealthEvent<String> = c.decode_typed(f, &NoHeaders).unwrap();
        let unit = e.unit.to_uppercase();
        let o = e.into_out(unit, at);
        c.encode_typed(&o, &mut typed_out).unwrap();
        let mut cfg = serde_avro_fast::ser::SerializerConfig::new(&saf_out);
        let plain = serde_avro_fast::to_datum_vec(&o, &mut cfg).unwrap();
        assert_eq!(&typed_out[5..], &plain[..]);
        assert_eq!(out_reader.read_value(&mut &typed_out[5..]).unwrap(), want);
    }
    assert!(dropped > 20 && kept > 2800, "kept {kept} dropped {dropped}");
}

#[test]
fn decoded_values_borrow_from_the_input() {
    let frames = generate_frames(1, 3);
    let c = codec(HEALTH_AVSC, "s");
    let d = c.decode(Some(&frames[0]), &NoHeaders).unwrap();
    let rec = d.value.as_record().unwrap();
    assert_eq!(rec.name, Some("bench.health.HealthEvent"));
    assert_eq!(rec.fields.len(), 15);
    match rec.get("user_id") {
        Some(Value::String(std::borrow::Cow::Borrowed(s))) => {
            let range = frames[0].as_ptr_range();
            assert!(
                range.contains(&s.as_ptr()),
                "user_id should point into the payload"
            );
        }
        other => panic!("user_id is {other:?}"),
    }
    assert!(matches!(rec.get("metric"), Some(Value::Enum(_, _))));
    assert!(matches!(rec.get("ts"), Some(Value::TimestampMillis(_))));
}
