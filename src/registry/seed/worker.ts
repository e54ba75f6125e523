/**
 * The generator's side of the worker thread: it makes the next batch whenever the main thread asks, so
 * that one core generates while the other copies (PGlite runs its COPY on the main thread).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { generateBatches, type PopulationOptions } from './generator.ts';
import { buildGeography } from './geography.ts';

export interface WorkerInput {
  options: PopulationOptions;
  batchSize: number;
}

const { options, batchSize } = workerData as WorkerInput;
const batches = generateBatches(options, buildGeography(options.seed, options.households), batchSize);

parentPort!.on('message', () => {
  const next = batches.next();
  parentPort!.postMessage(next.done ? null : next.value);
});
