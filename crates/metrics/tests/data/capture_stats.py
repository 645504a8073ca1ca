"""Captures the librdkafka statistics samples used by tests/rdkafka_stats.rs.

Usage: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 python3 capture_stats.py OUTDIR
Writes OUTDIR/producer.json (transactional producer, 55 messages to a
2-partition topic) and OUTDIR/consumer.json (group consumer after reading
and committing). Captured with confluent-kafka on librdkafka 2.16 against
a tansu broker; committed as librdkafka-{producer,consumer}-stats.json.
"""
import os
import json, time, uuid, sys
from confluent_kafka import Producer, Consumer
from confluent_kafka.admin import AdminClient, NewTopic

BS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
topic = "kbridge-metrics-stats-" + uuid.uuid4().hex[:8]
admin = AdminClient({"bootstrap.servers": BS})
fs = admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
for f in fs.values():
    f.result(10)

pstats = []
p = Producer({"bootstrap.servers": BS, "statistics.interval.ms": 500,
              "transactional.id": "kbridge-metrics-stats-" + uuid.uuid4().hex[:8],
              "stats_cb": lambda s: pstats.append(s)})
p.init_transactions(30)
p.begin_transaction()
for i in range(50):
    p.produce(topic, key=str(i).encode(), value=("value-%d" % i).encode() * 4, partition=i % 2)
p.commit_transaction(30)
# keep a few uncommitted-to-queue messages visible? just poll for a stats emission after commit
p.begin_transaction()
for i in range(5):
    p.produce(topic, key=b"k", value=b"v", partition=0)
deadline = time.time() + 10
n = len(pstats)
while time.time() < deadline and len(pstats) < n + 2:
    p.poll(0.1)
p.commit_transaction(30)
with open(sys.argv[1] + "/producer.json", "w") as f:
    f.write(pstats[-1])

cstats = []
c = Consumer({"bootstrap.servers": BS, "group.id": "kbridge-metrics-stats-" + uuid.uuid4().hex[:8],
              "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 1000, "statistics.interval.ms": 500,
              "enable.auto.commit": False, "fetch.queue.backoff.ms": 10,
              "stats_cb": lambda s: cstats.append(s)})
c.subscribe([topic])
got = 0
deadline = time.time() + 60
while got < 30 and time.time() < deadline:
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        got += 1
c.commit(asynchronous=False)
# wait for a stats emission after the commit
n = len(cstats)
deadline = time.time() + 10
while time.time() < deadline and len(cstats) < n + 2:
    c.poll(0.2)
with open(sys.argv[1] + "/consumer.json", "w") as f:
    f.write(cstats[-1])
c.close()
print(topic, got, len(pstats), len(cstats))
