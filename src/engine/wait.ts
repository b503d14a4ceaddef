/**
 * Waiting for the GPU without spinning the main thread. In Node, the `webgpu` package ticks Dawn from a
 * `setImmediate` loop while a promise is pending, so a plain `await` keeps one core at 100 % — a third of a
 * 2-core machine that a software adapter needs for its shader threads (measured in dev/NOTES.md). Sleeping 1 ms
 * between single event-loop turns lets Dawn deliver its callbacks while leaving the CPU to the GPU's threads.
 * Browsers neither spin nor allow blocking the main thread, so there the promise is awaited as it is.
 */
const canBlock =
  typeof process !== 'undefined' && !!process.versions?.node && typeof SharedArrayBuffer !== 'undefined' && typeof Atomics?.wait === 'function';

let sleeper: Int32Array | null = null;

export async function gentleAwait<T>(p: Promise<T>): Promise<T> {
  if (!canBlock) return p;
  let settled = false;
  const done = p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  while (!settled) {
    Atomics.wait(sleeper, 0, 0, 1);
    await new Promise<void>((r) => setImmediate(r));
  }
  await done;
  return p;
}
