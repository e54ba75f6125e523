/**
 * Batches generated in a worker thread, one ahead of the caller: while the caller copies batch n, the
 * worker generates batch n + 1. The rows are those generateBatches makes in-process, in the same order.
 */
import { Worker } from 'node:worker_threads';
import type { Batch, PopulationOptions } from './generator.ts';
import type { WorkerInput } from './worker.ts';

// Built code (dist/) starts the worker's JavaScript; the sources need the tsx loader in the thread first.
const WORKER_ENTRY = import.meta.url.endsWith('.ts') ? './worker-thread.js' : './worker.js';

/** Yields the batches of a seed, generated in a worker thread that stops when the caller does. */
export async function* batchesFromWorker(
  options: PopulationOptions,
  batchSize: number,
): AsyncGenerator<Batch> {
  const input: WorkerInput = { options, batchSize };
  const worker = new Worker(new URL(WORKER_ENTRY, import.meta.url), { workerData: input });
  let pending = nextBatch(worker);
  try {
    for (let batch = await pending; batch !== null; batch = await pending) {
      pending = nextBatch(worker);
      yield batch;
    }
  } finally {
    // A caller that stops early leaves one request open: its rejection on terminate is expected.
    pending.catch(() => undefined);
    await worker.terminate();
  }
}

/** Asks the worker for its next batch (null when done); fails if the worker fails or exits. */
function nextBatch(worker: Worker): Promise<Batch | null> {
  return new Promise((resolve, reject) => {
    const settle = (done: () => void) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      done();
    };
    const onMessage = (batch: Batch | null) => settle(() => resolve(batch));
    const onError = (error: Error) => settle(() => reject(error));
    const onExit = (code: number) =>
      settle(() => reject(new Error(`the seed worker stopped (exit code ${code})`)));
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage('next');
  });
}
