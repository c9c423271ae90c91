/**
 * The ceiling for login throughput: bcrypt comparisons per second with every thread-pool worker
 * busy, in a process doing nothing else. Run by bench/run.ts; prints and reports the rate.
 */
import bcrypt from 'bcrypt';

const cost = Number(process.argv[2] ?? 12);
const seconds = Number(process.argv[3] ?? 10);
const workers = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

const hash = await bcrypt.hash('Bench12345', cost);
let done = 0;
const until = Date.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: workers }, async () => {
    while (Date.now() < until) {
      await bcrypt.compare('Bench12345', hash);
      done++;
    }
  }),
);
const rate = done / seconds;
console.log(`bcrypt cost ${cost}: ${rate.toFixed(1)} comparisons/s with ${workers} workers`);
process.send?.(rate);
