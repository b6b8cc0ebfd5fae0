// The measurement of the Node benches (rs256.mjs, algorithms.mjs): ops per second of one
// operation over a fixed time, median of repeated runs, with the CPU time per op.

/** The median of `xs` (the upper one of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Ops per second of `op` (sync or async), run for `seconds` after `warmup` seconds, `reps`
 *  times (median); `batch` promises in flight. Also `cpuUs`: CPU time of the whole process
 *  (every thread: libuv's too) per op, median. */
export async function rate(op, { seconds, reps, batch = 0, warmup = 0.3 }) {
  const run = async (limit) => {
    let count = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    const end = start + limit * 1000;
    let now = start;
    while (now < end) {
      if (batch > 0) {
        const pending = new Array(batch);
        for (let i = 0; i < batch; i++) pending[i] = op();
        await Promise.all(pending);
        count += batch;
      } else {
        const result = op();
        if (result instanceof Promise) await result;
        count += 1;
      }
      now = performance.now();
    }
    const { user, system } = process.cpuUsage(cpu);
    return { ops: count / ((now - start) / 1000), cpuUs: (user + system) / count };
  };
  await run(warmup);
  const runs = [];
  for (let i = 0; i < reps; i++) runs.push(await run(seconds));
  return { ops: median(runs.map((r) => r.ops)), cpuUs: median(runs.map((r) => r.cpuUs)) };
}
