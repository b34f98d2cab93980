# The seed's consumer: on_event prints body and properties and checkpoints. The
# checkpoint store is Eddy's own (clients/python/eddy_checkpointstore), or with
# `blob=CONNECTION_STRING` the official blob store (Azurite in the tests). It stops
# after `expect` events, or after `idle` seconds without one.
import asyncio
import sys
import time

from azure.eventhub.aio import EventHubConsumerClient
from eddy_checkpointstore.aio import EddyCheckpointStore

CONNECTION_STR = sys.argv[1]
EVENTHUB_NAME = sys.argv[2]
EDDY_URL = sys.argv[3]
EXPECT = int(sys.argv[4])
IDLE = float(sys.argv[5]) if len(sys.argv) > 5 else 5.0
BLOB = sys.argv[6][len("blob="):] if len(sys.argv) > 6 else None

seen = 0
last = time.monotonic()


async def on_event(partition_context, event):
    global seen, last
    seen += 1
    last = time.monotonic()
    print(
        'Received the event: "{}" from the partition with ID: "{}" properties: {}'.format(
            event.body_as_str(encoding="UTF-8"), partition_context.partition_id, event.properties
        )
    )
    await partition_context.update_checkpoint(event)


async def main():
    if BLOB:
        from azure.core.exceptions import ResourceExistsError
        from azure.eventhub.extensions.checkpointstoreblobaio import BlobCheckpointStore
        from azure.storage.blob import ContainerClient

        try:
            ContainerClient.from_connection_string(BLOB, "checkpoints").create_container()
        except ResourceExistsError:
            pass
        checkpoint_store = BlobCheckpointStore.from_connection_string(BLOB, "checkpoints")
    else:
        checkpoint_store = EddyCheckpointStore(EDDY_URL)
    client = EventHubConsumerClient.from_connection_string(
        CONNECTION_STR,
        consumer_group="$Default",
        eventhub_name=EVENTHUB_NAME,
        checkpoint_store=checkpoint_store,
    )
    async with client:
        task = asyncio.ensure_future(client.receive(on_event=on_event, starting_position="-1"))
        while seen < EXPECT and time.monotonic() - last < IDLE:
            await asyncio.sleep(0.2)
        # Let a few more arrive if there are any beyond what was expected.
        await asyncio.sleep(1.0)
        await client.close()
        task.cancel()
    print(f"SEEN {seen}")


asyncio.run(main())
