//! Golden vectors made by independent implementations (fastavro and
//! confluent-kafka's serializers; see tests/data/make_golden.py): our
//! encoding must produce the same bytes, our decoding the same values.

use std::sync::Arc;

use kbridge_codec::{
    AvroSchema, Codec, JsonStyle, MemoryResolver, NoHeaders, ResolvedSchema, SchemaRef, Side,
    WireFormat,
};
use serde_json::Value as J;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// JSON equality, numbers compared as f64 with float tolerance (fastavro
/// prints a float field's f64 widening, we print the f32).
fn json_eq(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 1e-7 * x.abs().max(y.abs())
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

struct Case {
    name: String,
    schema: String,
    id: u32,
    guid: [u8; 16],
    fingerprint: Vec<u8>,
    records: Vec<J>,
}

fn cases() -> Vec<Case> {
    let g: J = serde_json::from_str(include_str!("data/golden.json")).unwrap();
    g["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            schema: c["schema"].to_string(),
            id: c["schema_id"].as_u64().unwrap() as u32,
            guid: *uuid::Uuid::parse_str(c["guid"].as_str().unwrap())
                .unwrap()
                .as_bytes(),
            fingerprint: hex(c["fingerprint"].as_str().unwrap()),
            records: c["records"].as_array().unwrap().clone(),
        })
        .collect()
}

fn codec(c: &Case, write: WireFormat) -> Codec {
    let resolver = Arc::new(MemoryResolver::new());
    let subject = format!("golden-{}-value", c.name);
    resolver.insert_for_subject(
        &subject,
        c.id,
        Some(c.guid),
        ResolvedSchema::avro(&c.schema).unwrap(),
    );
    Codec::builder(Side::Value)
        .resolver(resolver)
        .read(WireFormat::ConfluentId)
        .write(write)
        .output_schema(Arc::new(ResolvedSchema::avro(&c.schema).unwrap()))
        .output_subject(subject)
        .build()
        .unwrap()
}

#[test]
fn fingerprints_match_fastavro() {
    for c in cases() {
        let s = AvroSchema::parse(&c.schema).unwrap();
        assert_eq!(
            s.fingerprint().to_le_bytes().to_vec(),
            c.fingerprint,
            "{}",
            c.name
        );
    }
}

#[test]
fn decoding_fastavro_datums_gives_fastavro_avro_json() {
    for c in cases() {
        let s = AvroSchema::parse(&c.schema).unwrap();
        for (i, r) in c.records.iter().enumerate() {
            let datum = hex(r["datum"].as_str().unwrap());
            let v = s.decode(&datum).unwrap();
            let mut out = Vec::new();
            s.write_json(&v, JsonStyle::Avro, &mut out).unwrap();
            let ours: J = serde_json::from_slice(&out).unwrap();
            assert!(
                json_eq(&ours, &r["avro_json"]),
                "{} #{i}:\n ours {ours}\n want {}",
                c.name,
                r["avro_json"]
            );
        }
    }
}

#[test]
fn encoding_fastavro_avro_json_gives_fastavro_bytes() {
    for c in cases() {
        let s = AvroSchema::parse(&c.schema).unwrap();
        for (i, r) in c.records.iter().enumerate() {
            let v = s
                .value_from_json(&r["avro_json"].to_string(), JsonStyle::Avro)
                .unwrap();
            let mut out = Vec::new();
            s.encode(&v, &mut out).unwrap();
            assert_eq!(out, hex(r["datum"].as_str().unwrap()), "{} #{i}", c.name);
        }
    }
}

#[test]
fn every_framing_decodes_to_the_same_value() {
    for c in cases() {
        let codec = codec(&c, WireFormat::ConfluentId);
        let s = AvroSchema::parse(&c.schema).unwrap();
        for r in &c.records {
            let datum = hex(r["datum"].as_str().unwrap());
            let want = s.decode(&datum).unwrap();

            let confluent = hex(r["confluent"].as_str().unwrap());
            let d = codec.decode(Some(&confluent), &NoHeaders).unwrap();
            assert_eq!(d.schema, Some(SchemaRef::Id(c.id)));
            assert_eq!(d.value, want);

            let hname = r["header_name"].as_str().unwrap();
            assert_eq!(hname, "__value_schema_id");
            let hvalue = hex(r["header_value"].as_str().unwrap());
            let headers: &[(&str, Option<&[u8]>)] = &[("other", None), (hname, Some(&hvalue))];
            let d = codec.decode(Some(&datum), headers).unwrap();
            assert_eq!(d.schema, Some(SchemaRef::Guid(c.guid)));
            assert_eq!(d.value, want);

            // the header wins over a prefix-looking payload
            let d = codec.decode(Some(&datum), headers).unwrap();
            assert_eq!(d.value, want);

            let so = hex(r["single_object"].as_str().unwrap());
            let d = codec.decode(Some(&so), &NoHeaders).unwrap();
            assert!(matches!(d.schema, Some(SchemaRef::Fingerprint(_))));
            assert_eq!(d.value, want);

            // magic 1 + GUID prefix
            let mut guid_framed = vec![1];
            guid_framed.extend_from_slice(&c.guid);
            guid_framed.extend_from_slice(&datum);
            assert_eq!(
                codec.decode(Some(&guid_framed), &NoHeaders).unwrap().value,
                want
            );
        }
    }
}

#[test]
fn every_framing_encodes_the_reference_bytes() {
    for c in cases() {
        let s = AvroSchema::parse(&c.schema).unwrap();
        let id = codec(&c, WireFormat::ConfluentId);
        let hdr = codec(&c, WireFormat::HeaderId);
        let so = codec(&c, WireFormat::SingleObject);
        let gd = codec(&c, WireFormat::ConfluentGuid);
        let mut out = Vec::new();
        for r in &c.records {
            let datum = hex(r["datum"].as_str().unwrap());
            let v = s.decode(&datum).unwrap();

            let e = id.encode(&v, &mut out).unwrap();
            assert_eq!(out, hex(r["confluent"].as_str().unwrap()));
            assert_eq!(e.schema_id, Some(c.id));
            assert_eq!(e.header, None);

            let e = hdr.encode(&v, &mut out).unwrap();
            assert_eq!(out, datum);
            let h = e.header.unwrap();
            assert_eq!(h.name, r["header_name"].as_str().unwrap());
            assert_eq!(h.value, hex(r["header_value"].as_str().unwrap()));

            so.encode(&v, &mut out).unwrap();
            assert_eq!(out, hex(r["single_object"].as_str().unwrap()));

            gd.encode(&v, &mut out).unwrap();
            assert_eq!(out[0], 1);
            assert_eq!(&out[1..17], &c.guid);
            assert_eq!(&out[17..], &datum[..]);
        }
    }
}

#[test]
fn codec_renders_decoded_values_with_their_schema() {
    for c in cases() {
        let codec = codec(&c, WireFormat::ConfluentId);
        for r in &c.records {
            let confluent = hex(r["confluent"].as_str().unwrap());
            let d = codec.decode(Some(&confluent), &NoHeaders).unwrap();
            let mut out = Vec::new();
            codec.write_json(&d, JsonStyle::Avro, &mut out).unwrap();
            let ours: J = serde_json::from_slice(&out).unwrap();
            assert!(json_eq(&ours, &r["avro_json"]), "{}: {ours}", c.name);
        }
    }
}
