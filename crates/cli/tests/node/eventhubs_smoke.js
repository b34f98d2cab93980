// @azure/event-hubs (npm) against Eddy: runtime information, a batch with properties,
// a keyed send, then a subscription reading it back. usage: node eventhubs_smoke.js
// CONNECTION_STRING HUB; prints "ok".
const path = require('path');
const { EventHubProducerClient, EventHubConsumerClient, earliestEventPosition } =
  require(path.join(process.env.EDDY_NODE_DIR, 'node_modules', '@azure', 'event-hubs'));
const [conn, hub] = process.argv.slice(2);
const check = (cond, what) => { if (!cond) throw new Error(what); };

(async () => {
  const producer = new EventHubProducerClient(conn, hub);
  const props = await producer.getEventHubProperties();
  check(props.name === hub && props.partitionIds.length === 4, `properties ${JSON.stringify(props)}`);
  const batch = await producer.createBatch({ partitionId: '3' });
  for (let i = 0; i < 50; i++) {
    check(batch.tryAdd({ body: `js-${i}`, properties: { Table: 'TestTable', i } }), 'batch full');
  }
  await producer.sendBatch(batch);
  await producer.sendBatch([{ body: { nested: true } }], { partitionKey: 'js-key' });
  const p3 = await producer.getPartitionProperties('3');
  check(p3.lastEnqueuedSequenceNumber >= 49 && !p3.isEmpty, `partition 3 ${JSON.stringify(p3)}`);
  await producer.close();

  const consumer = new EventHubConsumerClient('$Default', conn, hub);
  const got = [];
  await new Promise((resolve, reject) => {
    const sub = consumer.subscribe('3', {
      processEvents: async (events) => {
        got.push(...events);
        if (got.length >= 50) { await sub.close(); resolve(); }
      },
      processError: async (err) => reject(err),
    }, { startPosition: earliestEventPosition, maxBatchSize: 20 });
    setTimeout(() => reject(new Error(`timed out with ${got.length} events`)), 30000).unref();
  });
  await consumer.close();
  got.slice(0, 50).forEach((e, i) => {
    check(e.body === `js-${i}` && e.sequenceNumber === i, `event ${i}: ${JSON.stringify(e)}`);
    check(e.properties.Table === 'TestTable' && e.properties.i === i, `properties ${JSON.stringify(e.properties)}`);
    check(e.enqueuedTimeUtc instanceof Date, 'enqueued time');
  });
  console.log('ok');
})().catch((e) => { console.error(e); process.exit(1); });
