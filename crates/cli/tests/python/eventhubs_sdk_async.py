# The async Event Hubs clients: send by partition id and by key, read back from a
# sequence number, and runtime information.
import asyncio
import json
import sys

from azure.eventhub import EventData
from azure.eventhub.aio import EventHubConsumerClient, EventHubProducerClient

CONN, HUB = sys.argv[1], sys.argv[2]


async def main():
    facts = {}
    producer = EventHubProducerClient.from_connection_string(CONN, eventhub_name=HUB)
    async with producer:
        batch = await producer.create_batch(partition_id="2")
        for i in range(100):
            e = EventData(f"async-{i}")
            e.properties = {"Table": "TestTable", "i": i}
            batch.add(e)
        await producer.send_batch(batch)
        await producer.send_batch([EventData("k")], partition_key="sensor-9")
        facts["p2"] = await producer.get_partition_properties("2")
        facts["ids"] = await producer.get_partition_ids()
    got = []
    done = asyncio.Event()

    async def on_event(ctx, event):
        got.append((event.sequence_number, event.body_as_str(), event.properties[b"i"]))
        if len(got) >= 50:
            done.set()

    consumer = EventHubConsumerClient.from_connection_string(
        CONN, consumer_group="$Default", eventhub_name=HUB)
    async with consumer:
        task = asyncio.ensure_future(consumer.receive(
            on_event=on_event, partition_id="2", starting_position=50,
            starting_position_inclusive=True))
        await asyncio.wait_for(done.wait(), 30)
        await asyncio.sleep(0.3)
    task.cancel()
    assert [g[0] for g in got] == list(range(50, 100)), got[:3]
    assert all(g[1] == f"async-{g[0]}" and g[2] == g[0] for g in got)
    facts["p2"]["last_enqueued_time_utc"] = str(facts["p2"]["last_enqueued_time_utc"])
    print(json.dumps(facts))


asyncio.run(main())
