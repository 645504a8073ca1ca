#!/usr/bin/env python3
"""Writes golden.json: wire bytes made by independent implementations, for
tests/golden.rs to check kbridge-codec against (byte equality when encoding,
equal values when decoding).

- datum bytes: fastavro.schemaless_writer
- Avro JSON encoding: fastavro.json_writer (union wrappers, bytes as
  code points)
- Confluent framing: confluent_kafka's AvroSerializer against its mock
  registry (magic 0 + id prefix, and the header-based GUID serializer)
- single-object: C3 01 + CRC-64-AVRO of the parsing canonical form
  (fastavro.schema.fingerprint) + datum

    python3 make_golden.py   # rewrites golden.json beside this script
"""

import datetime
import decimal
import io
import json
import os
import uuid

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form
from confluent_kafka.schema_registry import SchemaRegistryClient, header_schema_id_serializer
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

HERE = os.path.dirname(os.path.abspath(__file__))
UTC = datetime.timezone.utc

ALL_TYPES = {
    "type": "record",
    "name": "AllTypes",
    "namespace": "golden",
    "fields": [
        {"name": "n", "type": "null"},
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "by", "type": "bytes"},
        {"name": "s", "type": "string"},
        {"name": "e", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN", "BLUE"]}},
        {"name": "fx", "type": {"type": "fixed", "name": "Four", "size": 4}},
        {"name": "arr", "type": {"type": "array", "items": "long"}},
        {"name": "m", "type": {"type": "map", "values": ["null", "string"]}},
        {"name": "u", "type": ["null", "string", "long"]},
        {
            "name": "inner",
            "type": {
                "type": "record",
                "name": "Inner",
                "fields": [{"name": "x", "type": "int"}, {"name": "tags", "type": {"type": "array", "items": "string"}}],
            },
        },
        {"name": "opt_inner", "type": ["null", "Inner"], "default": None},
    ],
}

LOGICAL = {
    "type": "record",
    "name": "Logical",
    "namespace": "golden",
    "fields": [
        {"name": "dec_bytes", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 3}},
        {
            "name": "dec_fixed",
            "type": {"type": "fixed", "name": "Dec8", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 2},
        },
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "tu", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "ts_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "lts_ms", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "lts_us", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
        {"name": "opt_ts", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": None},
    ],
}

TWO_RECORDS = {
    "type": "record",
    "name": "Envelope",
    "namespace": "golden",
    "fields": [
        {
            "name": "payload",
            "type": [
                "null",
                {"type": "record", "name": "Cat", "fields": [{"name": "name", "type": "string"}]},
                {"type": "record", "name": "Dog", "fields": [{"name": "name", "type": "string"}]},
            ],
        }
    ],
}

ALL_TYPES_RECORDS = [
    {
        "n": None, "b": True, "i": -42, "l": 1 << 40, "f": 1.5, "d": -2.25, "by": b"\x00\x01\xfe\xff",
        "s": "héllo ✓", "e": "BLUE", "fx": b"abcd", "arr": [1, -1, 300], "m": {"a": "x", "b": None},
        "u": None, "inner": {"x": 7, "tags": ["p", "q"]}, "opt_inner": None,
    },
    {
        "n": None, "b": False, "i": 2147483647, "l": -9223372036854775808, "f": -0.0, "d": 1e300, "by": b"",
        "s": "", "e": "RED", "fx": b"\x00\x00\x00\x00", "arr": [], "m": {},
        "u": "str", "inner": {"x": -2147483648, "tags": []}, "opt_inner": {"x": 1, "tags": ["only"]},
    },
    {
        "n": None, "b": True, "i": 0, "l": 0, "f": 3.4028234663852886e38, "d": 5e-324, "by": bytes(range(256)),
        "s": "x" * 200, "e": "GREEN", "fx": b"\xff\xff\xff\xff", "arr": list(range(-70, 70, 7)), "m": {"k" * 50: "v"},
        "u": 12345678901, "inner": {"x": 64, "tags": ["a" * 130]}, "opt_inner": None,
    },
]

LOGICAL_RECORDS = [
    {
        "dec_bytes": decimal.Decimal("1234567.891"),
        "dec_fixed": decimal.Decimal("-12345678901234.56"),
        "id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        "day": datetime.date(2026, 1, 1),
        "tm": datetime.time(12, 30, 5, 250000),
        "tu": datetime.time(23, 59, 59, 999999),
        "ts_ms": datetime.datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC),
        "ts_us": datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "lts_ms": datetime.datetime(2026, 6, 30, 8, 15, 0, 1000),
        "lts_us": datetime.datetime(2000, 2, 29, 0, 0, 0, 1),
        "opt_ts": datetime.datetime(2026, 1, 1, tzinfo=UTC),
    },
    {
        "dec_bytes": decimal.Decimal("-0.001"),
        "dec_fixed": decimal.Decimal("0.00"),
        "id": "00000000-0000-0000-0000-000000000000",
        "day": datetime.date(1960, 2, 29),
        "tm": datetime.time(0, 0, 0),
        "tu": datetime.time(0, 0, 0, 1),
        "ts_ms": datetime.datetime(1970, 1, 1, tzinfo=UTC),
        "ts_us": datetime.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC),
        "lts_ms": datetime.datetime(1970, 1, 1),
        "lts_us": datetime.datetime(1999, 12, 31, 23, 59, 59, 999999),
        "opt_ts": None,
    },
]

TWO_RECORDS_RECORDS = [
    {"payload": ("golden.Cat", {"name": "Tom"})},
    {"payload": ("golden.Dog", {"name": "Rex"})},
    {"payload": None},
]


def datum(schema, rec):
    b = io.BytesIO()
    fastavro.schemaless_writer(b, schema, rec)
    return b.getvalue()


def avro_json(schema, rec):
    b = io.StringIO()
    fastavro.json_writer(b, schema, [rec])
    return json.loads(b.getvalue())


def case(name, schema_json, records, registry):
    parsed = fastavro.parse_schema(schema_json)
    canonical = to_parsing_canonical_form(parsed)
    fp = fingerprint(canonical, "CRC-64-AVRO")  # hex, little-endian bytes as for single-object
    text = json.dumps(schema_json)
    prefix_ser = AvroSerializer(registry, text, conf={"auto.register.schemas": True})
    header_ser = AvroSerializer(
        registry, text, conf={"auto.register.schemas": True, "schema.id.serializer": header_schema_id_serializer}
    )
    out = []
    for rec in records:
        d = datum(parsed, rec)
        ctx = SerializationContext(f"golden-{name}", MessageField.VALUE, [])
        prefixed = prefix_ser(rec, ctx)
        hctx = SerializationContext(f"golden-{name}", MessageField.VALUE, [])
        bare = header_ser(rec, hctx)
        (hname, hvalue), = hctx.headers
        assert bare == d, "header-id payload is the bare datum"
        assert prefixed[5:] == d, "confluent payload is prefix + datum"
        out.append(
            {
                "datum": d.hex(),
                "avro_json": avro_json(parsed, rec),
                "confluent": prefixed.hex(),
                "header_name": hname,
                "header_value": hvalue.hex(),
                "single_object": (b"\xc3\x01" + bytes.fromhex(fp) + d).hex(),
            }
        )
    return {"name": name, "schema": schema_json, "fingerprint": fp, "records": out}


def main():
    registry = SchemaRegistryClient.new_client({"url": "mock://golden"})
    cases = [
        case("all_types", ALL_TYPES, ALL_TYPES_RECORDS, registry),
        case("logical", LOGICAL, LOGICAL_RECORDS, registry),
        case("two_records", TWO_RECORDS, TWO_RECORDS_RECORDS, registry),
    ]
    # ids / guids the mock registry assigned, per subject
    for c in cases:
        reg = registry.get_latest_version(f"golden-{c['name']}-value")
        c["schema_id"] = reg.schema_id
        c["guid"] = reg.guid
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump({"generator": f"fastavro {fastavro.__version__}, confluent-kafka", "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote golden.json: {sum(len(c['records']) for c in cases)} records in {len(cases)} schemas")


if __name__ == "__main__":
    main()
