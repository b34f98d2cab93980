// kafkajs (npm) against Eddy: an idempotent producer, then a consumer group reading it
// all back with keys and headers. usage: node kafkajs_smoke.js BROKER TOPIC; prints "ok".
const { Kafka, logLevel } = require(require('path').join(process.env.EDDY_NODE_DIR, 'node_modules', 'kafkajs'));
const [broker, topic] = process.argv.slice(2);
(async () => {
  const kafka = new Kafka({ clientId: 'eddy-test', brokers: [broker], logLevel: logLevel.WARN });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  const messages = Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 10}`, value: `v${i}`, headers: { n: String(i) } }));
  await producer.send({ topic, messages, acks: -1 });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'kjs' });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Set();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.size} messages`)), 30000);
    consumer.run({ eachMessage: async ({ message }) => {
      const v = message.value.toString();
      if (message.headers.n.toString() !== v.slice(1)) reject(new Error('header mismatch ' + v));
      seen.add(v);
      if (seen.size === 200) { clearTimeout(timer); resolve(); }
    } });
  });
  await consumer.disconnect();
  console.log('ok');
})().catch((e) => { console.error(e); process.exit(1); });
