//! The skimmer (decode some top-level fields, copy the others' bytes) gives
//! what the full codec path gives: the same output bytes for the benchmark
//! transform, the same values when a skipped field changes type, and the
//! same error, or the same records, for every corrupted input.

mod common;

use std::sync::Arc;

use common::health::*;
use kbridge_codec::{
    Codec, MemoryResolver, NoHeaders, ResolvedSchema, Side, Skimmed, Skimmer, Value, WireFormat,
};

fn codec_with(out_schema: &str, write: WireFormat) -> Codec {
    let resolver = Arc::new(MemoryResolver::new());
    resolver.insert(1, None, ResolvedSchema::avro(HEALTH_AVSC).unwrap());
    Codec::builder(Side::Value)
        .resolver(resolver)
        .read(WireFormat::ConfluentId)
        .write(write)
        .output_schema(Arc::new(ResolvedSchema::avro(out_schema).unwrap()))
        .output_subject("health-out-value")
        .build()
        .unwrap()
}

fn codec(out_schema: &str) -> Codec {
    codec_with(out_schema, WireFormat::ConfluentId)
}

/// The full path: decode everything, transform, encode.
fn full(c: &Codec, frame: &[u8], out: &mut Vec<u8>) -> Option<Result<(), String>> {
    let mut v = match c.decode(Some(frame), &NoHeaders) {
        Ok(d) => d.value,
        Err(e) => return Some(Err(e.to_string())),
    };
    if !transform_kbridge(&mut v, 1_700_000_000_123) {
        return None;
    }
    Some(c.encode(&v, out).map(|_| ()).map_err(|e| e.to_string()))
}

/// The skimmed path with the fields the transform uses.
fn skimmed(
    s: &mut Skimmer,
    c: &Codec,
    frame: &[u8],
    out: &mut Vec<u8>,
    partial: &mut usize,
) -> Option<Result<(), String>> {
    let mut sk = Skimmed::new();
    let mut v = match s.decode(c, Some(frame), &NoHeaders, &mut sk) {
        Ok(d) => d.value,
        Err(e) => return Some(Err(e.to_string())),
    };
    if sk.is_partial() {
        *partial += 1;
        let names: Vec<&str> = v
            .as_record()
            .unwrap()
            .fields
            .0
            .iter()
            .map(|f| f.name.as_ref())
            .collect();
        assert_eq!(names, ["value", "unit"], "only the kept fields are decoded");
    }
    if !transform_kbridge(&mut v, 1_700_000_000_123) {
        return None;
    }
    Some(
        s.encode(c, &v, frame, &sk, out)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    )
}

#[test]
fn skimmed_transform_writes_the_bytes_of_the_full_path() {
    let frames = generate_frames(3000, 11);
    let c = codec(HEALTH_OUT_AVSC);
    let mut s = Skimmer::new(["value", "unit"]);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut kept, mut partial) = (0, 0);
    for f in &frames {
        let x = full(&c, f, &mut a);
        let y = skimmed(&mut s, &c, f, &mut b, &mut partial);
        assert_eq!(x, y);
        if x.is_some() {
            kept += 1;
            assert_eq!(a, b, "output bytes differ");
        }
    }
    assert_eq!(partial, frames.len(), "every record was skimmed");
    assert!(kept > 2500 && kept < frames.len(), "kept {kept}");
}

#[test]
fn a_skipped_field_of_another_output_type_is_decoded_and_encoded() {
    let out_schema = HEALTH_OUT_AVSC.replace(
        r#"{"name": "seq", "type": "long""#,
        r#"{"name": "seq", "type": "double""#,
    );
    assert_ne!(out_schema, HEALTH_OUT_AVSC, "the schema edit applied");
    let c = codec(&out_schema);
    let mut s = Skimmer::new(["value", "unit"]);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut partial = 0;
    for f in &generate_frames(500, 3) {
        let x = full(&c, f, &mut a);
        let y = skimmed(&mut s, &c, f, &mut b, &mut partial);
        assert_eq!(x, y);
        if x.is_some() {
            assert_eq!(a, b);
            let back = read_back(&c, &b);
            assert!(
                matches!(back.as_record().unwrap().get("seq"), Some(Value::Double(_))),
                "seq written as a double"
            );
        }
    }
    assert_eq!(partial, 500);
}

#[test]
fn json_output_falls_back_to_the_whole_value() {
    let c = codec_with(HEALTH_OUT_AVSC, WireFormat::Json);
    let mut s = Skimmer::new(["value", "unit"]);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut partial = 0;
    for f in &generate_frames(300, 5) {
        let x = full(&c, f, &mut a);
        let y = skimmed(&mut s, &c, f, &mut b, &mut partial);
        assert_eq!(x, y);
        if x.is_some() {
            let ja: serde_json::Value = serde_json::from_slice(&a).unwrap();
            let jb: serde_json::Value = serde_json::from_slice(&b).unwrap();
            assert_eq!(ja, jb, "same JSON document");
        }
    }
}

/// Reads an output of the full or skimmed path back with the output schema.
fn read_back(c: &Codec, out: &[u8]) -> Value<'static> {
    let schema = c.output_schema().unwrap();
    schema.decode(&out[5..]).unwrap().into_owned()
}

#[test]
fn corrupted_inputs_fail_or_pass_exactly_as_with_the_full_decoder() {
    let c = codec(HEALTH_OUT_AVSC);
    let mut s = Skimmer::new(["value", "unit"]);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut partial = 0;
    let (mut errors, mut passed) = (0, 0);
    for f in &generate_frames(40, 9) {
        for pos in 5..f.len() {
            for byte in [0x00, 0x01, 0x7f, 0x80, 0xc3, 0xff] {
                let mut g = f.clone();
                g[pos] = byte;
                let x = full(&c, &g, &mut a);
                let y = skimmed(&mut s, &c, &g, &mut b, &mut partial);
                assert_eq!(x, y, "frame byte {pos} set to {byte:#x}");
                match x {
                    Some(Err(_)) => errors += 1,
                    // non-canonical varints may be copied as they came:
                    // compare what the outputs hold
                    Some(Ok(())) => {
                        passed += 1;
                        assert_eq!(read_back(&c, &a), read_back(&c, &b));
                    }
                    None => {}
                }
            }
        }
        for cut in 5..f.len() {
            let x = full(&c, &f[..cut], &mut a);
            let y = skimmed(&mut s, &c, &f[..cut], &mut b, &mut partial);
            assert_eq!(x, y, "frame cut at {cut}");
            assert!(matches!(x, Some(Err(_))), "a cut frame fails");
        }
        let mut long = f.clone();
        long.push(0);
        assert_eq!(
            full(&c, &long, &mut a),
            skimmed(&mut s, &c, &long, &mut b, &mut partial)
        );
    }
    assert!(
        errors > 1000 && passed > 1000,
        "errors {errors} passed {passed}"
    );
}
