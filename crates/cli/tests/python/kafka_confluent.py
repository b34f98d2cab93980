"""confluent-kafka (librdkafka) against Eddy's Kafka endpoint.

An idempotent acks=all producer; a group of two consumers that split the partitions
with the clients' own assignor; one member leaving hands its partitions to the other;
a restarted consumer resumes after the committed offsets. Prints "ok" at the end.
usage: kafka_confluent.py BOOTSTRAP TOPIC ASSIGNOR
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer

bootstrap, topic, assignor = sys.argv[1], sys.argv[2], sys.argv[3]
N = 2000
PARTITIONS = {0, 1, 2, 3}


def produce(first, count):
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
    })
    errors, delivered = [], []

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append((msg.partition(), msg.offset()))

    for i in range(first, first + count):
        producer.produce(topic, key=f"device-{i % 50}", value=json.dumps({"i": i}),
                         headers=[("seq", str(i))], on_delivery=report)
        if i % 200 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0, "messages left undelivered"
    assert not errors, errors[:5]
    assert len(set(delivered)) == count, f"{len(set(delivered))} distinct offsets for {count}"
    return delivered


def consumer(name):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "cg",
        "client.id": name,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 300,
        "partition.assignment.strategy": assignor,
    })
    state = {"assigned": set(), "seen": {}}

    def on_assign(_c, parts):
        state["assigned"] = {p.partition for p in parts}

    def on_revoke(_c, _parts):
        state["assigned"] = set()

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    return c, state


def poll(c, state, wait=0.1):
    m = c.poll(wait)
    if m is not None and m.error() is None:
        i = json.loads(m.value())["i"]
        assert m.key().decode() == f"device-{i % 50}"
        assert dict(m.headers())["seq"] == str(i).encode()
        state["seen"][(m.partition(), m.offset())] = i


produce(0, N)

a, sa = consumer("a")
b, sb = consumer("b")
deadline = time.time() + 90
while time.time() < deadline:
    poll(a, sa)
    poll(b, sb)
    seen = set(sa["seen"]) | set(sb["seen"])
    if sa["assigned"] and sb["assigned"] and len(seen) >= N:
        break
assert sa["assigned"] and sb["assigned"], (sa["assigned"], sb["assigned"])
assert sa["assigned"].isdisjoint(sb["assigned"]), (sa["assigned"], sb["assigned"])
assert sa["assigned"] | sb["assigned"] == PARTITIONS
split = sorted([sorted(sa["assigned"]), sorted(sb["assigned"])])
print("split", split)
# After the split each member reads only its own partitions.
assert len(set(sa["seen"]) | set(sb["seen"])) == N
a.commit(asynchronous=False)
b.commit(asynchronous=False)

# b leaves: a rebalances and takes every partition.
b.close()
deadline = time.time() + 60
while time.time() < deadline and sa["assigned"] != PARTITIONS:
    poll(a, sa)
assert sa["assigned"] == PARTITIONS, sa["assigned"]
print("after leave", sorted(sa["assigned"]))
a.close()

# New events, then a restarted consumer of the group: only those arrive.
produce(N, 100)
c, sc = consumer("c")
deadline = time.time() + 60
while time.time() < deadline and len(sc["seen"]) < 100:
    poll(c, sc, 0.2)
values = sorted(sc["seen"].values())
assert values == list(range(N, N + 100)), values[:10]
c.close()
print("ok")
