//! Bad input: every case is a typed, poison error saying what and where —
//! never a panic, never a huge allocation.

use std::sync::Arc;

use kbridge_codec::{
    AvroSchema, Codec, CodecError, DatumErrorKind, Disposition, FrameErrorKind, MemoryResolver,
    NoHeaders, ResolvedSchema, SchemaRef, Side, WireFormat,
};

const REC: &str = r#"{"type":"record","name":"R","fields":[
  {"name":"id","type":"long"},
  {"name":"name","type":"string"},
  {"name":"inner","type":{"type":"record","name":"I","fields":[{"name":"tags","type":{"type":"array","items":"string"}}]}},
  {"name":"opt","type":["null","int"]},
  {"name":"color","type":{"type":"enum","name":"C","symbols":["R","G"]}}]}"#;

fn codec() -> Codec {
    let r = Arc::new(MemoryResolver::new());
    r.insert(5, None, ResolvedSchema::avro(REC).unwrap());
    Codec::builder(Side::Value)
        .resolver(r)
        .read(WireFormat::ConfluentId)
        .write(WireFormat::Bytes)
        .build()
        .unwrap()
}

/// A valid datum: id 1, name "ab", tags ["x"], opt null, color G.
fn good() -> Vec<u8> {
    vec![0, 0, 0, 0, 5, 2, 4, b'a', b'b', 2, 2, b'x', 0, 0, 2]
}

fn datum_err(payload: &[u8]) -> (DatumErrorKind, usize, String) {
    match codec().decode(Some(payload), &NoHeaders) {
        Err(e @ CodecError::DecodeDatum { .. }) => {
            assert!(e.is_poison());
            let CodecError::DecodeDatum { kind, offset, path } = e else {
                unreachable!()
            };
            (kind, offset, path.to_string())
        }
        other => panic!("expected a datum error, got {other:?}"),
    }
}

#[test]
fn the_good_payload_decodes() {
    let g = good();
    let d = codec().decode(Some(&g), &NoHeaders).unwrap();
    assert_eq!(d.value.get("name").unwrap().as_str(), Some("ab"));
    assert_eq!(d.schema, Some(SchemaRef::Id(5)));
}

#[test]
fn every_truncation_is_a_typed_error() {
    let g = good();
    for n in 0..g.len() {
        let e = codec().decode(Some(&g[..n]), &NoHeaders).unwrap_err();
        assert!(e.is_poison(), "{n}: {e}");
        match n {
            0 => assert!(matches!(
                e,
                CodecError::DecodeFrame {
                    kind: FrameErrorKind::Truncated { needed: 1, got: 0 }
                }
            )),
            1..=4 => assert!(matches!(
                e,
                CodecError::DecodeFrame {
                    kind: FrameErrorKind::Truncated { needed: 5, .. }
                }
            )),
            _ => assert!(e.datum_kind().is_some(), "{n}: {e}"),
        }
    }
    // cut inside the string: its length claims more than is left
    let (kind, offset, path) = datum_err(&g[..8]);
    assert_eq!(
        kind,
        DatumErrorKind::LengthOutOfRange {
            claimed: 2,
            remaining: 1
        }
    );
    assert_eq!((offset, path.as_str()), (6, "name"));
    // cut inside the id varint
    let (kind, offset, path) = datum_err(&[0, 0, 0, 0, 5, 0x80]);
    assert_eq!(
        (kind, offset, path.as_str()),
        (DatumErrorKind::Truncated, 6, "id")
    );
}

#[test]
fn unknown_magic_byte() {
    let mut p = good();
    p[0] = 7;
    let e = codec().decode(Some(&p), &NoHeaders).unwrap_err();
    assert!(matches!(
        e,
        CodecError::DecodeFrame {
            kind: FrameErrorKind::UnknownMagic(7)
        }
    ));
    assert_eq!(e.to_string(), "decode frame: unknown magic byte 0x07");
    assert_eq!(e.disposition(), Disposition::Poison);
}

#[test]
fn unknown_schema_id_is_poison_and_unreachable_registry_is_retriable() {
    let mut p = good();
    p[4] = 9;
    let e = codec().decode(Some(&p), &NoHeaders).unwrap_err();
    assert!(matches!(
        &e,
        CodecError::ResolveSchema {
            schema: SchemaRef::Id(9),
            ..
        }
    ));
    assert!(e.is_poison());
    assert_eq!(e.to_string(), "resolve schema id 9: schema id 9 not found");

    let r = Arc::new(MemoryResolver::new());
    r.insert(5, None, ResolvedSchema::avro(REC).unwrap());
    r.set_unavailable(true);
    let c = Codec::builder(Side::Value)
        .resolver(r.clone())
        .write(WireFormat::Bytes)
        .build()
        .unwrap();
    let e = c.decode(Some(&good()), &NoHeaders).unwrap_err();
    assert!(e.is_retriable(), "{e}");
    r.set_unavailable(false);
    assert!(c.decode(Some(&good()), &NoHeaders).is_ok());
    // compiled once: a second record does not ask the resolver again
    let before = r.lookups();
    c.decode(Some(&good()), &NoHeaders).unwrap();
    assert_eq!(r.lookups(), before);
}

#[test]
fn absurd_length_is_rejected_before_allocating() {
    // a 2 GB string length in a 20-byte message
    let mut p = vec![0, 0, 0, 0, 5, 2];
    p.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x10]); // varint 2^32, zigzag 2^31
    p.extend_from_slice(b"abc");
    let (kind, offset, path) = datum_err(&p);
    assert!(
        matches!(
            kind,
            DatumErrorKind::LengthOutOfRange {
                claimed: 2147483648,
                remaining: 3
            }
        ),
        "{kind:?}"
    );
    assert_eq!((offset, path.as_str()), (6, "name"));

    // an array claiming 2^40 items
    let mut p = vec![0, 0, 0, 0, 5, 2, 0];
    p.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
    let (kind, offset, path) = datum_err(&p);
    assert!(
        matches!(kind, DatumErrorKind::LengthOutOfRange { .. }),
        "{kind:?}"
    );
    assert_eq!((offset, path.as_str()), (7, "inner.tags"));
}

#[test]
fn a_million_nulls_in_a_few_bytes_are_capped() {
    let s = AvroSchema::parse(r#"{"type":"array","items":"null"}"#).unwrap();
    // count 2^31 (zigzag 2^32): nulls take no bytes, so only the cap stops it
    let e = s.decode(&[0x80, 0x80, 0x80, 0x80, 0x20, 0]).unwrap_err();
    assert!(
        matches!(
            e.datum_kind(),
            Some(DatumErrorKind::LengthOutOfRange { .. })
        ),
        "{e}"
    );
    // within the cap it works
    let v = s.decode(&[0xc8, 0x01, 0]).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 100);
}

#[test]
fn invalid_utf8_names_the_byte_and_field() {
    let mut p = good();
    p[8] = 0xff; // second byte of "ab"
    let (kind, offset, path) = datum_err(&p);
    assert_eq!(kind, DatumErrorKind::InvalidUtf8);
    assert_eq!((offset, path.as_str()), (8, "name"));
}

#[test]
fn union_and_enum_indexes_out_of_range() {
    let mut p = good();
    p[13] = 6; // union branch 3
    let (kind, offset, path) = datum_err(&p);
    assert_eq!(
        kind,
        DatumErrorKind::UnionBranchOutOfRange {
            index: 3,
            branches: 2
        }
    );
    assert_eq!((offset, path.as_str()), (13, "opt"));

    let mut p = good();
    p[14] = 4; // enum symbol 2 of 2
    let (kind, _, path) = datum_err(&p);
    assert_eq!(
        kind,
        DatumErrorKind::EnumIndexOutOfRange {
            index: 2,
            symbols: 2
        }
    );
    assert_eq!(path, "color");
}

#[test]
fn trailing_bytes_and_varint_overflow() {
    let mut p = good();
    p.extend_from_slice(&[1, 2]);
    let (kind, offset, _) = datum_err(&p);
    assert_eq!((kind, offset), (DatumErrorKind::TrailingBytes(2), 15));

    let mut p = vec![0, 0, 0, 0, 5];
    p.extend_from_slice(&[0xff; 11]);
    let (kind, _, path) = datum_err(&p);
    assert_eq!(kind, DatumErrorKind::VarintOverflow);
    assert_eq!(path, "id");
}

#[test]
fn recursion_depth_is_bounded() {
    let s = AvroSchema::parse(
        r#"{"type":"record","name":"N","fields":[{"name":"next","type":["null","N"]}]}"#,
    )
    .unwrap();
    // 10 000 levels of "branch 1" then null: deeper than the limit
    let mut p = vec![2u8; 10_000];
    p.push(0);
    let e = s.decode(&p).unwrap_err();
    assert_eq!(e.datum_kind(), Some(&DatumErrorKind::TooDeep));
    let mut ok = vec![2u8; 30];
    ok.push(0);
    assert!(s.decode(&ok).is_ok());
}

#[test]
fn bad_schema_id_header_and_string_payloads() {
    let c = codec();
    let headers: &[(&str, Option<&[u8]>)] = &[("__value_schema_id", Some(&[0, 0, 5]))];
    let e = c.decode(Some(&good()[5..]), headers).unwrap_err();
    assert!(matches!(
        e,
        CodecError::DecodeFrame {
            kind: FrameErrorKind::BadHeader("__value_schema_id")
        }
    ));

    let s = Codec::builder(Side::Key)
        .read(WireFormat::String)
        .write(WireFormat::String)
        .build()
        .unwrap();
    let e = s.decode(Some(b"ok\xc3("), &NoHeaders).unwrap_err();
    assert!(matches!(e, CodecError::DecodeString { offset: 2 }));
    assert!(e.is_poison());

    let j = Codec::builder(Side::Value)
        .read(WireFormat::Json)
        .write(WireFormat::Json)
        .build()
        .unwrap();
    let e = j
        .decode(Some(b"{\"a\": [1, 2,\n }"), &NoHeaders)
        .unwrap_err();
    match e {
        CodecError::DecodeJson { line, column, .. } => assert_eq!((line, column), (2, 2)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn typed_decoding_caps_claimed_sequence_lengths() {
    // an array of 2^40 nulls in 10 bytes, through the serde path
    let r = Arc::new(MemoryResolver::new());
    r.insert(
        3,
        None,
        ResolvedSchema::avro(r#"{"type":"array","items":"null"}"#).unwrap(),
    );
    let c = Codec::builder(Side::Value)
        .resolver(r)
        .write(WireFormat::Bytes)
        .build()
        .unwrap();
    let p = [0, 0, 0, 0, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0];
    let e = c.decode_typed::<Vec<()>>(&p, &NoHeaders).unwrap_err();
    assert!(matches!(e, CodecError::DecodeTyped { .. }), "{e}");
    assert!(e.is_poison());
    let ok = [0, 0, 0, 0, 3, 6, 0];
    assert_eq!(c.decode_typed::<Vec<()>>(&ok, &NoHeaders).unwrap().len(), 3);
}

#[test]
fn an_id_framed_payload_without_a_resolver_is_poison_not_fatal() {
    let s = ResolvedSchema::avro(r#""long""#).unwrap();
    let c = Codec::builder(Side::Value)
        .read(WireFormat::SingleObject)
        .write(WireFormat::SingleObject)
        .output_schema(Arc::new(s))
        .build()
        .unwrap();
    let e = c.decode(Some(&[0, 0, 0, 0, 1, 2]), &NoHeaders).unwrap_err();
    assert!(
        matches!(
            e,
            CodecError::ResolveSchema {
                schema: SchemaRef::Id(1),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_poison());
    let e = c
        .decode(Some(&[0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 2]), &NoHeaders)
        .unwrap_err();
    assert!(
        matches!(
            e,
            CodecError::DecodeFrame {
                kind: FrameErrorKind::UnknownFingerprint(_)
            }
        ),
        "{e}"
    );
    assert!(e.is_poison());
}
