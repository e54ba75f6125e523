/**
 * Test fixture: a gateway that is killed (SIGKILL, by queue.test.ts) while a job runs, leaving the
 * database exactly as a crash does. Prints `running <job id>` once the handler has started.
 * Usage: node bin/run-ts.js src/platform/jobs/testing/crash-child.ts '{"schema":…,"queueSchema":…,"url"|"dataDir":…}'
 */
import { openDatabase } from '#platform/db/database';
import { createJobQueue } from '../queue.ts';
import { interruptedKind } from './interrupted.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as {
  url?: string;
  dataDir?: string;
  schema: string;
  queueSchema: string;
};
const database = await openDatabase({
  url: config.url,
  dataDir: config.dataDir,
  schema: config.schema,
  poolSize: 2,
});
const queue = createJobQueue({
  database,
  url: config.url,
  schema: config.queueSchema,
  pollSeconds: 0.5,
  workersEnabled: true,
});
queue.define(
  interruptedKind(async (_payload, { jobId, signal }) => {
    process.stdout.write(`running ${jobId}\n`);
    // Waits for the kill (or, should the test not come, for the time limit).
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    throw new Error('the crash fixture was not killed in time');
  }),
);
await queue.start();
await queue.enqueue('test.interrupted', { label: 'killed mid-run' });
