"""kafka-python 3.x with default settings (idempotent producer) against Eddy.
usage: kafka_python_defaults.py BOOTSTRAP TOPIC; prints "ok"."""
import sys

from kafka import KafkaConsumer, KafkaProducer

bootstrap, topic = sys.argv[1], sys.argv[2]
producer = KafkaProducer(bootstrap_servers=bootstrap)
futures = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(),
                         headers=[("h", str(i).encode())]) for i in range(500)]
producer.flush()
offsets = {(f.get().partition, f.get().offset) for f in futures}
assert len(offsets) == 500, len(offsets)
producer.close()

consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id="kp",
                         auto_offset_reset="earliest", consumer_timeout_ms=5000)
got = {}
for m in consumer:
    got[m.value.decode()] = (m.key.decode(), dict(m.headers)["h"].decode())
consumer.commit()
consumer.close()
assert len(got) == 500, len(got)
assert all(got[f"v{i}"] == (f"k{i}", str(i)) for i in range(500))
print("ok")
