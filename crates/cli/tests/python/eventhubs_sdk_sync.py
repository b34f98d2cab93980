# The sync Event Hubs clients against Eddy: properties of every type, partition id and
# partition key routing, every starting position, runtime metrics, epoch receivers.
# Checks what it can itself; prints one JSON line of facts for the Rust test to check.
import datetime
import json
import sys
import threading
import time

from azure.eventhub import EventData, EventHubConsumerClient, EventHubProducerClient

CONN, HUB = sys.argv[1], sys.argv[2]
facts = {}


def collect(partition, expect, timeout=20, **kwargs):
    """Receives from one partition until `expect` events (or the timeout)."""
    client = EventHubConsumerClient.from_connection_string(
        CONN, consumer_group="$Default", eventhub_name=HUB)
    got, errors = [], []
    done = threading.Event()

    def on_event(ctx, event):
        if event is None:
            return
        got.append(event)
        if kwargs.get("track_last_enqueued_event_properties"):
            facts.setdefault("last_enqueued", ctx.last_enqueued_event_properties["sequence_number"])
        if len(got) >= expect:
            done.set()

    def on_error(ctx, err):
        errors.append(err)

    t = threading.Thread(target=client.receive, kwargs=dict(
        on_event=on_event, on_error=on_error, partition_id=partition, **kwargs))
    t.start()
    done.wait(timeout)
    time.sleep(0.3)  # anything beyond `expect` would show up here
    client.close()
    t.join()
    return got, errors


producer = EventHubProducerClient.from_connection_string(CONN, eventhub_name=HUB)
info = producer.get_eventhub_properties()
facts["eventhub"] = {"name": info["eventhub_name"], "partition_ids": info["partition_ids"],
                     "created_at_ms": int(info["created_at"].timestamp() * 1000)}

# Five events to partition 0, one batch each so enqueued times differ.
props = {"Table": "TestTable", "n": 7, "ratio": 0.5, "ok": True, "raw": b"\x00\x01",
         "when": datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)}
for i in range(5):
    batch = producer.create_batch(partition_id="0")
    e = EventData(f"p0-{i}")
    e.properties = dict(props, i=i)
    batch.add(e)
    producer.send_batch(batch)
    time.sleep(0.02)
facts["max_size_in_bytes"] = batch.max_size_in_bytes

producer.close()

# Earliest: all five, in order, with properties intact.
events, _ = collect("0", 5, starting_position="-1")
assert [e.body_as_str() for e in events] == [f"p0-{i}" for i in range(5)], events
first = events[0]
got_props = {k.decode(): v for k, v in first.properties.items()}
assert got_props["Table"] == b"TestTable" and got_props["n"] == 7 and got_props["ratio"] == 0.5, got_props
assert got_props["ok"] is True and got_props["raw"] == b"\x00\x01" and got_props["i"] == 0, got_props
assert got_props["when"] == datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc) or \
    got_props["when"] == 1714521600000, got_props
assert [e.sequence_number for e in events] == list(range(5))
seq2 = events[2]

# Sequence number, inclusive and exclusive.
got, _ = collect("0", 3, starting_position=2, starting_position_inclusive=True)
assert [e.sequence_number for e in got] == [2, 3, 4], [e.sequence_number for e in got]
got, _ = collect("0", 2, starting_position=2, starting_position_inclusive=False)
assert [e.sequence_number for e in got] == [3, 4]
# Offset (a string), inclusive and exclusive.
got, _ = collect("0", 3, starting_position=seq2.offset, starting_position_inclusive=True)
assert [e.sequence_number for e in got] == [2, 3, 4]
got, _ = collect("0", 2, starting_position=seq2.offset)
assert [e.sequence_number for e in got] == [3, 4]
# Enqueued time.
got, _ = collect("0", 3, starting_position=seq2.enqueued_time, starting_position_inclusive=True)
assert [e.sequence_number for e in got] == [2, 3, 4], [e.sequence_number for e in got]
got, _ = collect("0", 2, starting_position=seq2.enqueued_time, starting_position_inclusive=False)
assert [e.sequence_number for e in got] == [3, 4], [e.sequence_number for e in got]

# Latest: only what is sent after the receiver starts; with runtime metrics.
result = {}
t = threading.Thread(target=lambda: result.update(got=collect(
    "0", 1, starting_position="@latest", track_last_enqueued_event_properties=True)[0]))
t.start()
time.sleep(3)
producer = EventHubProducerClient.from_connection_string(CONN, eventhub_name=HUB)
producer.send_batch([EventData("live")], partition_id="0")
producer.close()
t.join()
assert [e.body_as_str() for e in result["got"]] == ["live"], result
assert facts["last_enqueued"] == 5, facts

# Epochs: a higher owner level takes the partition from a lower one.
low_events, low_errors, stop = [], [], threading.Event()
low = EventHubConsumerClient.from_connection_string(CONN, consumer_group="$Default", eventhub_name=HUB)
lt = threading.Thread(target=low.receive, kwargs=dict(
    on_event=lambda c, e: low_events.append(e), on_error=lambda c, e: low_errors.append(e),
    partition_id="0", starting_position="-1", owner_level=1))
lt.start()
deadline = time.time() + 15
while len(low_events) < 6 and time.time() < deadline:
    time.sleep(0.1)
high, high_errors = collect("0", 6, starting_position="-1", owner_level=2)
low.close()
lt.join()
assert len(high) == 6, len(high)
facts["epoch_error"] = repr(low_errors[0]) if low_errors else None
assert low_errors, "the lower epoch receiver was not disconnected"
# Bad input gets the reason: a structured property is refused (nothing stored), and
# an unknown hub is named.
producer = EventHubProducerClient.from_connection_string(CONN, eventhub_name=HUB, retry_total=0)
bad = EventData("structured")
bad.properties = {"tags": ["a", "b"]}
try:
    producer.send_batch([bad], partition_id="3")
    facts["structured_property"] = None
except Exception as e:  # the SDK's error is what is checked
    facts["structured_property"] = str(e)
try:  # a single event (not a batch) is refused the same way
    producer.send_event(bad, partition_id="3")
    facts["structured_single"] = None
except Exception as e:
    facts["structured_single"] = str(e)
producer.send_event(EventData("after"), partition_id="2")  # the producer still works
producer.close()
nohub = EventHubProducerClient.from_connection_string(CONN, eventhub_name="nohub", retry_total=0)
try:
    nohub.get_eventhub_properties()
    facts["unknown_hub"] = None
except Exception as e:
    facts["unknown_hub"] = str(e)
nohub.close()

producer = EventHubProducerClient.from_connection_string(CONN, eventhub_name=HUB)
# Keyed events: one partition, chosen by the service's hash.
batch = producer.create_batch(partition_key="device-42")
for i in range(3):
    batch.add(EventData(f"key-{i}"))
producer.send_batch(batch)
producer.send_event(EventData("single"), partition_id="1")
facts["partitions"] = {p: producer.get_partition_properties(p) for p in info["partition_ids"]}
for p in facts["partitions"].values():
    p["last_enqueued_time_utc"] = int(p["last_enqueued_time_utc"].timestamp() * 1000)
producer.close()

# Keyed events: all on one partition, partition key kept.
key_partition = None
for p in info["partition_ids"]:
    got, _ = collect(p, 10, timeout=3, starting_position="-1")
    keyed = [e for e in got if e.body_as_str().startswith("key-")]
    if keyed:
        assert key_partition is None, "keyed events on two partitions"
        key_partition = p
        assert len(keyed) == 3 and all(e.partition_key == b"device-42" for e in keyed)
facts["key_partition"] = key_partition

print(json.dumps(facts, default=str))
