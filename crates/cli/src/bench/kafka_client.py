"""Kafka-path load for `eddy bench hub`: librdkafka (confluent-kafka) producing for a
fixed time with acks=all, then one consumer reading everything back. Prints one JSON
object. usage: kafka_client.py BOOTSTRAP TOPIC SECONDS EVENT_BYTES"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, topic, seconds, size = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
head = '{"deviceId":"contoso-device-id-000001","type":"TEMP","value":21.5,"pad":"'
body = (head + "x" * max(0, size - len(head) - 2) + '"}').encode()

producer = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 5,
    "batch.num.messages": 10000,
    "queue.buffering.max.messages": 200000,
})
delivered, errors, latencies = 0, 0, []


def report(err, msg):
    global delivered, errors
    if err is None:
        delivered += 1
        if delivered % 10 == 0:
            latencies.append(msg.latency())
    else:
        errors += 1


start = time.time()
end = start + seconds
while time.time() < end:
    for _ in range(1000):
        try:
            producer.produce(topic, body, on_delivery=report)
        except BufferError:
            producer.poll(0.01)
    producer.poll(0)
producer.flush(60)
produce_secs = time.time() - start
latencies.sort()


def pct(q):
    return round(latencies[int((len(latencies) - 1) * q)] * 1000, 2) if latencies else None


meta = producer.list_topics(topic, timeout=10).topics[topic]
consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": f"bench-{time.time()}",
    "enable.auto.commit": False,
    "fetch.max.bytes": 52428800,
})
consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
consumed, start = 0, time.time()
while consumed < delivered and time.time() - start < 120:
    for m in consumer.consume(10000, 1.0):
        if m.error() is None:
            consumed += 1
consume_secs = time.time() - start
consumer.close()
print(json.dumps({
    "produced": delivered,
    "produce_errors": errors,
    "produce_seconds": round(produce_secs, 3),
    "produce_events_per_sec": round(delivered / produce_secs),
    "ack_latency_ms": {"p50": pct(0.5), "p99": pct(0.99)},
    "consumed": consumed,
    "consume_seconds": round(consume_secs, 3),
    "consume_events_per_sec": round(consumed / consume_secs) if consume_secs > 0 else None,
}))
