# Two EventHubConsumerClients in one consumer group with Eddy's checkpoint store share
# the partitions; when one stops, the other takes them all. No event is lost.
import json
import sys
import threading
import time

from azure.eventhub import EventData, EventHubConsumerClient, EventHubProducerClient
from eddy_checkpointstore import EddyCheckpointStore

CONN, HUB, URL = sys.argv[1], sys.argv[2], sys.argv[3]
store = EddyCheckpointStore(URL)
received = {}
lock = threading.Lock()


def owners():
    counts = {}
    for o in store.list_ownership("ns", HUB, "$Default"):
        if o["owner_id"] and time.time() - o["last_modified_time"] < 8:
            counts[o["owner_id"]] = counts.get(o["owner_id"], 0) + 1
    return sorted(counts.values())


def wait_for(shape, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if owners() == shape:
            return
        time.sleep(0.2)
    raise AssertionError(f"ownership {owners()} never became {shape}")


def consumer(name):
    client = EventHubConsumerClient.from_connection_string(
        CONN, consumer_group="$Default", eventhub_name=HUB, checkpoint_store=store,
        load_balancing_interval=1, partition_ownership_expiration_interval=6)

    def on_event(ctx, event):
        with lock:
            received[(ctx.partition_id, event.sequence_number)] = name
        ctx.update_checkpoint(event)

    t = threading.Thread(target=client.receive,
                         kwargs=dict(on_event=on_event, starting_position="-1"))
    t.start()
    return client, t


def send(n, start):
    producer = EventHubProducerClient.from_connection_string(CONN, eventhub_name=HUB)
    with producer:
        for p in ["0", "1", "2", "3"]:
            producer.send_batch([EventData(f"{p}-{i}") for i in range(start, start + n)],
                                partition_id=p)


send(25, 0)
a, ta = consumer("a")
wait_for([4])
b, tb = consumer("b")
wait_for([2, 2])
shared = owners()
send(25, 25)
time.sleep(3)
b.close()
tb.join()
wait_for([4])
send(25, 50)
deadline = time.time() + 30
while len(received) < 300 and time.time() < deadline:
    time.sleep(0.2)
a.close()
ta.join()
by = {}
for who in received.values():
    by[who] = by.get(who, 0) + 1
assert len(received) == 300, len(received)
assert by.get("b", 0) > 0, by
print(json.dumps({"shared": shared, "received": len(received), "by_consumer": by}))
