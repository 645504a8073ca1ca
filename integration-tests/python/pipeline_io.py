"""Confluent's Python client on both ends of a kbridge pipeline test.

Subcommands (all print one JSON document on stdout; exit 1 on failure):

  produce BOOTSTRAP REGISTRY TOPIC COUNT [--negative-every K]
          [--corrupt N] [--unknown-id N] [--partitions P]
      COUNT `Reading` records (key `k<i>`, value {id, sensor, value,
      unit}) with Confluent's AvroSerializer under `<TOPIC>-value`; every
      K-th record (i % K == K - 1) has a negative value. Then N records
      with a corrupt value (bad magic byte) and N with an unknown schema id,
      keys `corrupt<i>` / `unknown<i>`, header `origin: test`. Prints
      {"subject_id", "end_offsets": {partition: next offset}, "negative":
      [keys], "corrupt": [keys], "unknown": [keys]}.

  produce-health BOOTSTRAP REGISTRY TOPIC COUNT [--negative-every K]
      COUNT `HealthEvent` records (the examples/pipeline.toml input: event
      id, user, metric value and unit, `ts` as timestamp-millis); keys
      `u<i>`; every K-th value is negative (a sensor error). Prints
      {"end_offsets", "negative": [keys]}.

  consume BOOTSTRAP REGISTRY TOPIC EXPECT [--timeout S] [--isolation L]
      Reads the topic from the beginning with Confluent's AvroDeserializer
      until EXPECT records arrived (then 1.5 s more, to catch duplicates),
      with `isolation.level` L (default read_committed). Prints
      {"records": [{"key", "value", "partition", "offset", "headers"}]}.

  consume-raw BOOTSTRAP TOPIC EXPECT [--timeout S] [--isolation L]
      The same without deserializing: key/value as text (lossy).

  make-aborted BOOTSTRAP TOPIC
      Writes, on a 2-partition topic: a committed transaction (5 records,
      keys c1-*), an aborted one (4 records, keys a-*), a committed one
      (3 records, keys c2-*) and one non-transactional record (key plain).
"""

import argparse
import json
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

READING = {
    "type": "record",
    "name": "Reading",
    "namespace": "kbridge.test",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "sensor", "type": "string"},
        {"name": "value", "type": "double"},
        {"name": "unit", "type": ["null", "string"], "default": None},
    ],
}


HEALTH = {
    "type": "record",
    "name": "HealthEvent",
    "namespace": "kbridge.example",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "user_id", "type": "string"},
        {"name": "value", "type": "double"},
        {"name": "unit", "type": "string"},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}


def fail(message):
    print(json.dumps({"error": message}))
    sys.exit(1)


def produce(args):
    registry = SchemaRegistryClient({"url": args.registry})
    serializer = AvroSerializer(registry, json.dumps(READING))
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    end = {}
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            end[msg.partition()] = max(end.get(msg.partition(), 0), msg.offset() + 1)

    negative = []
    for i in range(args.count):
        value = float(i) * 1.5
        if args.negative_every and i % args.negative_every == args.negative_every - 1:
            value = -value - 1.0
            negative.append(f"k{i}")
        record = {"id": i, "sensor": f"s{i % 7}", "value": value, "unit": "bpm" if i % 2 else None}
        ctx = SerializationContext(args.topic, MessageField.VALUE)
        producer.produce(args.topic, key=f"k{i}".encode(), value=serializer(record, ctx), on_delivery=report)
        producer.poll(0)
    corrupt, unknown = [], []
    for i in range(args.corrupt):
        corrupt.append(f"corrupt{i}")
        producer.produce(
            args.topic,
            key=f"corrupt{i}".encode(),
            value=b"\x07not avro at all",
            headers=[("origin", b"test")],
            on_delivery=report,
        )
    for i in range(args.unknown_id):
        unknown.append(f"unknown{i}")
        # magic 0, schema id 987654 (never registered), then a datum
        producer.produce(
            args.topic,
            key=f"unknown{i}".encode(),
            value=b"\x00\x00\x0f\x12\x06\x02\x04ab",
            headers=[("origin", b"test")],
            on_delivery=report,
        )
    producer.flush(30)
    if errors:
        fail(f"delivery failed: {errors[:3]}")
    subject_id = registry.get_latest_version(f"{args.topic}-value").schema_id
    print(
        json.dumps(
            {
                "subject_id": subject_id,
                "end_offsets": {str(p): o for p, o in sorted(end.items())},
                "negative": negative,
                "corrupt": corrupt,
                "unknown": unknown,
            }
        )
    )


def produce_health(args):
    registry = SchemaRegistryClient({"url": args.registry})
    serializer = AvroSerializer(registry, json.dumps(HEALTH))
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 5})
    end, errors, negative = {}, [], []

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            end[msg.partition()] = max(end.get(msg.partition(), 0), msg.offset() + 1)

    now = int(time.time() * 1000)
    for i in range(args.count):
        value = 60.0 + i % 40
        if args.negative_every and i % args.negative_every == args.negative_every - 1:
            value = -1.0
            negative.append(f"u{i}")
        event = {"event_id": f"e{i}", "user_id": f"u{i}", "value": value, "unit": "bpm", "ts": now - 1000 + i}
        ctx = SerializationContext(args.topic, MessageField.VALUE)
        producer.produce(args.topic, key=f"u{i}".encode(), value=serializer(event, ctx), on_delivery=report)
        producer.poll(0)
    producer.flush(30)
    if errors:
        fail(f"delivery failed: {errors[:3]}")
    print(json.dumps({"end_offsets": {str(p): o for p, o in sorted(end.items())}, "negative": negative}))


def read(args, deserialize):
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": f"pipeline-io-{args.topic}-{time.time_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": args.isolation,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    consumer.subscribe([args.topic])
    records = []
    deadline = time.monotonic() + args.timeout
    extra_until = None
    while time.monotonic() < deadline:
        if len(records) >= args.expect:
            extra_until = extra_until or time.monotonic() + 1.5
            if time.monotonic() > extra_until:
                break
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            fail(f"consume: {msg.error()}")
        records.append(
            {
                "key": msg.key().decode("utf-8", "replace") if msg.key() is not None else None,
                "value": deserialize(msg),
                "partition": msg.partition(),
                "offset": msg.offset(),
                "headers": [
                    [k, v.decode("utf-8", "replace") if v is not None else None] for k, v in (msg.headers() or [])
                ],
            }
        )
    consumer.close()
    # timestamps (logical types) print as text
    print(json.dumps({"records": records}, default=str))


def consume(args):
    registry = SchemaRegistryClient({"url": args.registry})
    deserializer = AvroDeserializer(registry)

    def value(msg):
        if msg.value() is None:
            return None
        return deserializer(msg.value(), SerializationContext(args.topic, MessageField.VALUE))

    read(args, value)


def consume_raw(args):
    read(args, lambda msg: msg.value().decode("utf-8", "replace") if msg.value() is not None else None)


def make_aborted(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    for f in admin.create_topics([NewTopic(args.topic, 2, 1)]).values():
        f.result()
    p = Producer({"bootstrap.servers": args.bootstrap, "transactional.id": f"make-aborted-{args.topic}"})
    p.init_transactions(20)
    for keys, commit in ((["c1-%d" % i for i in range(5)], True), (["a-%d" % i for i in range(4)], False),
                         (["c2-%d" % i for i in range(3)], True)):
        p.begin_transaction()
        for i, k in enumerate(keys):
            p.produce(args.topic, key=k.encode(), value=b"committed" if commit else b"aborted", partition=i % 2)
        p.flush(20)
        if commit:
            p.commit_transaction(20)
        else:
            p.abort_transaction(20)
    plain = Producer({"bootstrap.servers": args.bootstrap})
    plain.produce(args.topic, key=b"plain", value=b"plain", partition=0)
    plain.flush(20)
    print(json.dumps({"ok": True}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("produce")
    p.add_argument("bootstrap")
    p.add_argument("registry")
    p.add_argument("topic")
    p.add_argument("count", type=int)
    p.add_argument("--negative-every", type=int, default=0)
    p.add_argument("--corrupt", type=int, default=0)
    p.add_argument("--unknown-id", type=int, default=0)
    p.set_defaults(run=produce)
    h = sub.add_parser("produce-health")
    h.add_argument("bootstrap")
    h.add_argument("registry")
    h.add_argument("topic")
    h.add_argument("count", type=int)
    h.add_argument("--negative-every", type=int, default=0)
    h.set_defaults(run=produce_health)
    for name, fn, registry in (("consume", consume, True), ("consume-raw", consume_raw, False)):
        c = sub.add_parser(name)
        c.add_argument("bootstrap")
        if registry:
            c.add_argument("registry")
        c.add_argument("topic")
        c.add_argument("expect", type=int)
        c.add_argument("--timeout", type=float, default=60)
        c.add_argument("--isolation", default="read_committed")
        c.set_defaults(run=fn)
    m = sub.add_parser("make-aborted")
    m.add_argument("bootstrap")
    m.add_argument("topic")
    m.set_defaults(run=make_aborted)
    args = ap.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
