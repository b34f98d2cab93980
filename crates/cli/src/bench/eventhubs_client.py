# eddy bench hub: the Python Event Hubs SDK's send rate. One aio producer sends
# create_batch batches for the duration, each awaited (acknowledged once durable).
# usage: eventhubs_client.py CONNECTION_STRING HUB SECONDS EVENT_BYTES BATCH; prints JSON.
import asyncio
import json
import sys
import time

from azure.eventhub import EventData
from azure.eventhub.aio import EventHubProducerClient

conn, hub, seconds, size, batch_size = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
body = ('{"deviceId":"contoso-device-id-000001","type":"TEMP","value":21.5,"pad":"' + "x" * max(0, size - 74) + '"}')


async def main():
    producer = EventHubProducerClient.from_connection_string(conn, eventhub_name=hub)
    sent, errors, lat = 0, 0, []
    async with producer:
        await producer.get_partition_ids()  # connection set-up outside the timing
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            batch = await producer.create_batch()
            for _ in range(batch_size):
                e = EventData(body)
                e.properties = {"Table": "BenchTable"}
                batch.add(e)
            t = time.perf_counter()
            try:
                await producer.send_batch(batch)
                sent += len(batch)
                lat.append(time.perf_counter() - t)
            except Exception:
                errors += 1
        elapsed = time.perf_counter() - start
    lat.sort()
    pick = lambda q: round(lat[min(len(lat) - 1, int(q * (len(lat) - 1)))] * 1000, 3) if lat else 0
    print(json.dumps({"sent": sent, "seconds": round(elapsed, 3), "events_per_sec": round(sent / elapsed),
                      "errors": errors, "ack_latency_ms": {"p50": pick(0.5), "p99": pick(0.99)}}))


asyncio.run(main())
