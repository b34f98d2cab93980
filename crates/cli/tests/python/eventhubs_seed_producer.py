# The seed's producer: an async create_batch loop of telemetry with the three
# properties the data connection routes by. Only the connection string (argv) is Eddy's.
import asyncio
import json
import sys

from azure.eventhub import EventData
from azure.eventhub.aio import EventHubProducerClient

CONNECTION_STR = sys.argv[1]
EVENTHUB_NAME = sys.argv[2]
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 1001


async def run():
    producer = EventHubProducerClient.from_connection_string(
        conn_str=CONNECTION_STR, eventhub_name=EVENTHUB_NAME
    )
    async with producer:
        event_data_batch = await producer.create_batch()
        sent = 0
        for i in range(COUNT):
            reading = {"deviceId": f"device-{i % 10}", "temperature": 20 + i % 15, "seq": i}
            event = EventData(json.dumps(reading))
            event.properties = {
                "Table": "TestTable",
                "IngestionMappingReference": "TestMapping",
                "Format": "json",
            }
            try:
                event_data_batch.add(event)
            except ValueError:
                await producer.send_batch(event_data_batch)
                sent += len(event_data_batch)
                event_data_batch = await producer.create_batch()
                event_data_batch.add(event)
        await producer.send_batch(event_data_batch)
        sent += len(event_data_batch)
    print(f"sent {sent}")


asyncio.run(run())
