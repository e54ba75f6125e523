/**
 * `node bin/run-ts.js bench/start.ts`: how fast `npm start` answers and how much memory the gateway holds
 * once idle (issue 21, item 3), for the built gateway (dist/) and, to compare, the TypeScript sources
 * through tsx. Each runtime starts once on a new data directory (or schema, with DATABASE_URL) to load
 * the demo data, then again on the existing one, which is what is measured: milliseconds from the
 * process start to the first answer of /health, and the resident memory then and after BENCH_IDLE_SECONDS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '#platform/db/database';

const IDLE_SECONDS = Number(process.env['BENCH_IDLE_SECONDS'] ?? 10);
const RUNTIMES = {
  built: ['bin/spx.js', 'start'],
  'TypeScript (tsx)': ['--import', 'tsx', 'src/cli/main.ts', 'start'],
};

const rssMb = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts the gateway; resolves with the process and its URL once /health answers, and the time that took. */
async function start(args: string[], env: Record<string, string>) {
  const started = performance.now();
  const child = spawn(process.execPath, args, { env: { PATH: process.env['PATH'], ...env } });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the gateway stopped: ${out}`);
    }
    const url = /URL: +(\S+)/.exec(out)?.[1];
    if (url && (await fetch(`${url}/health`).catch(() => undefined))?.ok) {
      return { child, ms: performance.now() - started };
    }
    await sleep(20);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function measure(name: string, args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'spx-bench-start-'));
  const url = process.env['DATABASE_URL'];
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const env = {
    SPX_DATA_DIR: dir,
    SPX_PORT: '0',
    SPX_LOG_LEVEL: 'warn',
    ...(url ? { DATABASE_URL: url, SPX_DB_SCHEMA: schema, SPX_JOBS_SCHEMA: `${schema}_q` } : {}),
  };
  try {
    await stop((await start(args, env)).child); // loads the demo data
    const { child, ms } = await start(args, env);
    const atStart = rssMb(child.pid!);
    await sleep(IDLE_SECONDS * 1000);
    const idle = rssMb(child.pid!);
    await stop(child);
    return { name, ms, atStart, idle };
  } finally {
    if (url) {
      const database = await openDatabase({ url, schema });
      await database.executeSql(
        `drop schema if exists ${schema} cascade; drop schema if exists ${schema}_q cascade`,
      );
      await database.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const engine = process.env['DATABASE_URL'] ? 'PostgreSQL' : 'PGlite';
console.log(`engine ${engine}, load average ${loadavg()[0]!.toFixed(1)}`);
console.log('| runtime | first /health after start | RSS then | RSS after idle |');
console.log('|---|---|---|---|');
for (const [name, args] of Object.entries(RUNTIMES)) {
  const { ms, atStart, idle } = await measure(name, args);
  console.log(`| ${name} | ${(ms / 1000).toFixed(1)} s | ${atStart.toFixed(0)} MB | ${idle.toFixed(0)} MB |`);
}
