"""Confluent's own Python client against a schema registry.

Usage: registry_interop.py URL SUBJECT_PREFIX
Exercises register, get by id, lookup, latest, compatibility (compatible
and incompatible), the Avro serializer/deserializer, config and deletes,
asserting every outcome. Prints one JSON summary line; exits 1 on failure.
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

V1 = {
    "type": "record",
    "name": "Reading",
    "namespace": "interop",
    "fields": [
        {"name": "sensor", "type": "string"},
        {"name": "value", "type": "double"},
    ],
}
V2_COMPATIBLE = dict(V1, fields=V1["fields"] + [{"name": "unit", "type": "string", "default": "C"}])
V2_INCOMPATIBLE = dict(V1, fields=V1["fields"] + [{"name": "unit", "type": "string"}])


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def main():
    url, prefix = sys.argv[1], sys.argv[2]
    subject = f"{prefix}/readings:value"
    topic = f"{prefix}-topic"
    client = SchemaRegistryClient({"url": url})

    schema_id = client.register_schema(subject, Schema(json.dumps(V1), "AVRO"))
    check(schema_id > 0, "register returns an id")
    again = client.register_schema(subject, Schema(json.dumps(V1, indent=2), "AVRO"))
    check(again == schema_id, "re-register is idempotent")

    fetched = client.get_schema(schema_id)
    check(json.loads(fetched.schema_str) == V1, "get by id returns the schema")
    check(fetched.schema_type == "AVRO", "schema type AVRO")

    looked_up = client.lookup_schema(subject, Schema(json.dumps(V1), "AVRO"))
    check(looked_up.schema_id == schema_id and looked_up.version == 1, "lookup finds version 1")

    latest = client.get_latest_version(subject)
    check(latest.schema_id == schema_id and latest.version == 1, "latest is version 1")

    check(client.get_compatibility() == "BACKWARD", "global level BACKWARD")
    compatible = client.test_compatibility(subject, Schema(json.dumps(V2_COMPATIBLE), "AVRO"))
    check(compatible is True, "adding a field with a default is compatible")
    incompatible = client.test_compatibility(subject, Schema(json.dumps(V2_INCOMPATIBLE), "AVRO"), verbose=True)
    check(incompatible is False, "adding a field without a default is incompatible")
    try:
        client.register_schema(subject, Schema(json.dumps(V2_INCOMPATIBLE), "AVRO"))
        raise AssertionError("registering an incompatible schema must fail")
    except SchemaRegistryError as e:
        check(e.http_status_code == 409, f"incompatible register is http 409, got {e.http_status_code}")
        incompatible_code = e.error_code

    v2_id = client.register_schema(subject, Schema(json.dumps(V2_COMPATIBLE), "AVRO"))
    check(v2_id != schema_id, "a new schema gets a new id")
    check(client.get_versions(subject) == [1, 2], "two versions")

    try:
        client.get_schema(987654)
        raise AssertionError("unknown id must fail")
    except SchemaRegistryError as e:
        check(e.http_status_code == 404 and e.error_code == 40403, f"unknown id is 40403, got {e.error_code}")

    serializer = AvroSerializer(client, json.dumps(V2_COMPATIBLE), conf={"auto.register.schemas": False, "use.latest.version": True})
    ctx = SerializationContext(topic, MessageField.VALUE)
    # use.latest.version with the topic subject: register there first
    topic_subject = f"{topic}-value"
    topic_id = client.register_schema(topic_subject, Schema(json.dumps(V2_COMPATIBLE), "AVRO"))
    check(topic_id == v2_id, "same schema, same id across subjects")
    payload = serializer({"sensor": "t1", "value": 21.5, "unit": "C"}, ctx)
    check(payload[0] == 0 and int.from_bytes(payload[1:5], "big") == v2_id, "wire format header carries the id")
    deserializer = AvroDeserializer(client)
    decoded = deserializer(payload, ctx)
    check(decoded == {"sensor": "t1", "value": 21.5, "unit": "C"}, f"round trip, got {decoded}")

    client.set_compatibility(subject, "FULL")
    check(client.get_compatibility(subject) == "FULL", "subject level FULL")

    deleted = client.delete_subject(subject)
    check(deleted == [1, 2], f"soft delete returns versions, got {deleted}")
    check(subject not in client.get_subjects(), "soft-deleted subject is hidden")
    permanently = client.delete_subject(subject, permanent=True)
    check(permanently == [1, 2], f"permanent delete returns versions, got {permanently}")

    print(json.dumps({
        "ok": True,
        "id": schema_id,
        "v2_id": v2_id,
        "incompatible_error_code": incompatible_code,
    }))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(json.dumps({"ok": False, "failed": str(e)}))
        sys.exit(1)
