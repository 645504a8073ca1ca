"""What a read_committed consumer of a real Kafka broker would see.

Usage:
    eos_audit.py BOOTSTRAP TOPIC [--max-idle SECONDS] [--raw]

tansu 0.6 writes the COMMIT/ABORT control batches of transactions into the
log but returns an empty aborted-transactions list in every Fetch response,
so read_committed consumers (librdkafka, Confluent's client) are shown the
records of aborted transactions too. This auditor fetches the raw record
batches with read_uncommitted (Fetch v4, kafka-python's protocol classes
over a plain socket), keeps the records of each transactional producer
pending until that producer's next control batch, and outputs only:

- records of non-transactional batches, and
- records of transactional batches whose transaction ended with COMMIT.

Records of aborted transactions are dropped; records of a transaction with
no marker yet (still open, or left open by a crash) are reported as
`open`, not output. One JSON object per output record on stdout
(`partition`, `offset`, `key`, `value` as hex, `headers`), then one summary
line: {"summary": {"committed": N, "aborted": N, "open": N, "plain": N,
"partitions": P}}. `--raw` also prints every record with its batch's fate.

Reads every partition from offset 0 until a fetch returns nothing new for
`--max-idle` seconds (default 2).
"""

import argparse
import json
import socket
import struct
import sys
import time

from kafka.protocol.consumer import FetchRequest, FetchResponse
from kafka.protocol.metadata import MetadataRequest, MetadataResponse
from kafka.record import MemoryRecords

FETCH_VERSION = 4
METADATA_VERSION = 1


class Connection:
    """One broker connection: framed requests, framed responses."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.correlation = 0

    def call(self, request, response_class, version):
        self.correlation += 1
        request.with_header(correlation_id=self.correlation, client_id="eos-audit")
        self.sock.sendall(request.encode(version=version, header=True, framed=True))
        size = struct.unpack(">i", self._read(4))[0]
        data = self._read(size)
        return response_class.decode(data, version=version, header=True)

    def _read(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf.extend(chunk)
        return bytes(buf)


def partitions_of(conn, topic):
    req = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)])
    resp = conn.call(req, MetadataResponse, METADATA_VERSION)
    for t in resp.topics:
        if t.name == topic:
            if t.error_code:
                raise SystemExit(f"metadata for {topic}: error code {t.error_code}")
            return sorted(p.partition_index for p in t.partitions)
    raise SystemExit(f"topic {topic} not found")


def fetch(conn, topic, partition, offset):
    req = FetchRequest(
        replica_id=-1,
        max_wait_ms=200,
        min_bytes=1,
        max_bytes=64 << 20,
        isolation_level=0,
        topics=[
            FetchRequest.FetchTopic(
                topic=topic,
                partitions=[
                    FetchRequest.FetchTopic.FetchPartition(
                        partition=partition, fetch_offset=offset, partition_max_bytes=16 << 20
                    )
                ],
            )
        ],
    )
    resp = conn.call(req, FetchResponse, FETCH_VERSION)
    for t in resp.responses:
        for p in t.partitions:
            if p.error_code:
                raise SystemExit(f"fetch {topic}[{partition}]@{offset}: error code {p.error_code}")
            return p.records or b""
    return b""


def audit_partition(conn, topic, partition, max_idle):
    """Yields (fate, record dict) for every record of the partition."""
    offset = 0
    pending = {}  # producer id -> records of its open transaction
    idle_since = time.monotonic()
    while True:
        data = fetch(conn, topic, partition, offset)
        progressed = False
        records = MemoryRecords(data) if data else None
        while records is not None:
            batch = records.next_batch()
            if batch is None:
                break
            if batch.next_offset <= offset:
                continue
            progressed = True
            offset = batch.next_offset
            if batch.is_control_batch:
                for control in batch:
                    fate = "committed" if control.type == 1 else "aborted"
                    for rec in pending.pop(batch.producer_id, []):
                        yield fate, rec
                continue
            for r in batch:
                rec = {
                    "partition": partition,
                    "offset": r.offset,
                    "key": r.key.hex() if r.key is not None else None,
                    "value": r.value.hex() if r.value is not None else None,
                    "headers": [[k, v.hex() if v is not None else None] for k, v in (r.headers or [])],
                    "timestamp": r.timestamp,
                }
                if batch.is_transactional:
                    pending.setdefault(batch.producer_id, []).append(rec)
                else:
                    yield "plain", rec
        if progressed:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > max_idle:
            break
    for recs in pending.values():
        for rec in recs:
            yield "open", rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("topic")
    ap.add_argument("--max-idle", type=float, default=2.0)
    ap.add_argument("--raw", action="store_true")
    args = ap.parse_args()
    host, port = args.bootstrap.split(",")[0].rsplit(":", 1)
    conn = Connection(host, port)
    parts = partitions_of(conn, args.topic)
    counts = {"committed": 0, "aborted": 0, "open": 0, "plain": 0}
    out = sys.stdout
    for p in parts:
        for fate, rec in audit_partition(conn, args.topic, p, args.max_idle):
            counts[fate] += 1
            if args.raw:
                out.write(json.dumps(dict(rec, fate=fate)) + "\n")
            elif fate in ("committed", "plain"):
                out.write(json.dumps(rec) + "\n")
    counts["partitions"] = len(parts)
    out.write(json.dumps({"summary": counts}) + "\n")


if __name__ == "__main__":
    main()
