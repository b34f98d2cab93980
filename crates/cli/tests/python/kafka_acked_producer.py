"""Produces numbered messages with acks=all until the broker goes away, appending the
number of every acknowledged message to a file (flushed per acknowledgement).
usage: kafka_acked_producer.py BOOTSTRAP TOPIC ACKED_FILE"""
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, acked_path = sys.argv[1], sys.argv[2], sys.argv[3]
acked = open(acked_path, "a", buffering=1)
producer = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "enable.idempotence": True,
    "linger.ms": 2,
    "message.timeout.ms": 4000,
    "reconnect.backoff.max.ms": 200,
})


def report(err, msg):
    if err is None:
        acked.write(msg.value().decode() + "\n")


i = 0
deadline = time.time() + 30
while time.time() < deadline:
    try:
        producer.produce(topic, str(i).encode(), on_delivery=report)
        i += 1
    except BufferError:
        pass
    producer.poll(0.001 if i % 100 == 0 else 0)
producer.flush(5)
