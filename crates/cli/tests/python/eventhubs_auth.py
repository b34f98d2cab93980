# Shared access keys on: the right key works, a wrong key and a missing right are
# refused with the SDK's authentication/authorization errors.
import json
import sys
import threading
import time

from azure.eventhub import EventData, EventHubConsumerClient, EventHubProducerClient

ADDR, HUB = sys.argv[1], sys.argv[2]


def conn(name, key):
    return (f"Endpoint=sb://{ADDR};SharedAccessKeyName={name};SharedAccessKey={key};"
            f"UseDevelopmentEmulator=true;EntityPath={HUB}")


def send(cs):
    producer = EventHubProducerClient.from_connection_string(cs, retry_total=0)
    try:
        with producer:
            producer.send_batch([EventData("secured")])
        return None
    except Exception as e:  # the SDK's error is what we check
        return f"{type(e).__name__}: {e}"


def receive(cs):
    client = EventHubConsumerClient.from_connection_string(cs, consumer_group="$Default", retry_total=0)
    got, errors = [], []
    t = threading.Thread(target=client.receive, kwargs=dict(
        on_event=lambda c, e: got.append(e), on_error=lambda c, e: errors.append(e),
        partition_id="0", starting_position="-1"))
    t.start()
    deadline = time.time() + 10
    while not got and not errors and time.time() < deadline:
        time.sleep(0.1)
    client.close()
    t.join()
    return len(got), [f"{type(e).__name__}: {e}" for e in errors]


facts = {
    "root_send": send(conn("RootManageSharedAccessKey", "SAS_KEY_VALUE")),
    "wrong_key_send": send(conn("RootManageSharedAccessKey", "not-the-key")),
    "sender_send": send(conn("sender", "s3nd")),
    "sender_receive": receive(conn("sender", "s3nd")),
    "listener_send": send(conn("listener", "l1sten")),
}
facts["root_receive"] = receive(conn("RootManageSharedAccessKey", "SAS_KEY_VALUE"))
print(json.dumps(facts))
