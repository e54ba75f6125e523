import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { startGateway, type RunningGateway } from '#cli/gateway';
import { spxWorkspace } from '../spx.ts';

/**
 * The executable docs (issue 31): the shell blocks of README.md and docs/ fenced as ```sh exec run as
 * written, in order, one bash per page, against a gateway started as `npm start` starts it (demo data,
 * a free port, a data directory of its own with the local credential its `spx` commands use; on
 * PostgreSQL when DATABASE_URL is set, in a schema of its own). A block fails on the first command
 * that fails (`set -eo pipefail`); a line `# => text` in a block says its output must contain that
 * text. The README's ```sh exec setup block (variables, the api/admin helpers, the spmis client) runs
 * first on every page, as a reader runs it once before the other pages.
 */

const ROOT = join(import.meta.dirname, '../..');
const TOOLS = ['bash', 'curl', 'jq'];
const MARK = '@@spx-docs-block';
/** A page's blocks together; generous, since every `spx` call in them starts a Node process. */
const PAGE_TIMEOUT_MS = 300_000;

interface Block {
  file: string;
  line: number;
  setup: boolean;
  code: string;
  expected: string[];
}

/** The exec blocks of a Markdown file (a fence may be indented, inside a list). */
function execBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  lines.forEach((text, index) => {
    const fence = /^(\s*)```sh exec( setup)?\s*$/.exec(text);
    if (fence) {
      const code = blockBody(lines.slice(index + 1), fence[1]!.length);
      const expected = code.flatMap((line) => /^# => (.+)$/.exec(line)?.slice(1) ?? []);
      blocks.push({ file, line: index + 1, setup: fence[2] !== undefined, code: code.join('\n'), expected });
    }
  });
  return blocks;
}

function blockBody(rest: string[], indent: number): string[] {
  const end = rest.findIndex((line) => line.trim() === '```');
  return rest.slice(0, end).map((line) => line.slice(indent));
}

function pages(): { file: string; blocks: Block[] }[] {
  const docs = readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.md'))
    .map((file) => join('docs', file))
    .sort();
  return ['README.md', ...docs]
    .map((file) => ({ file, blocks: execBlocks(file) }))
    .filter(({ blocks }) => blocks.length > 0);
}

/** One bash script for a page's blocks, each announced by a marker on stdout and stderr. */
function pageScript(blocks: Block[]): string {
  const announced = blocks.map(
    (block, i) => `for fd in 1 2; do printf '\\n${MARK} ${i}\\n' >&$fd; done\n${block.code}`,
  );
  return ['set -eo pipefail', ...announced].join('\n');
}

/** The output of each block, from the markers. */
const perBlock = (output: string): string[] => output.split(new RegExp(`^${MARK} \\d+$`, 'm')).slice(1);

/**
 * Runs a script in bash, in a process group of its own so that what it leaves running in the
 * background (the DCI receiver of a failed block) stops with it; resolves whatever the outcome.
 */
function bash(script: string, cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, detached: true, timeout: PAGE_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // nothing of it is left running
      }
      resolve({ code, stdout, stderr });
    });
  });
}

function missingTools(): string[] {
  return TOOLS.filter((tool) => {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

describe('executable docs: the sh exec blocks of README.md and docs/', () => {
  const files = pages();
  const setup = files.flatMap(({ blocks }) => blocks).filter((block) => block.setup);
  const workspace = spxWorkspace({ SPX_DEMO_HOUSEHOLDS: '200', SPX_LOG_LEVEL: 'silent' });
  // The blocks run as a reader runs them from the repository (node bin/spx.js, test/dci/examples/...,
  // jose), but write their files (keys, request bodies, exports) into a directory of their own.
  const cwd = mkdtempSync(join(tmpdir(), 'spx-docs-'));
  let gateway: RunningGateway | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    const missing = missingTools();
    if (missing.length > 0) {
      throw new Error(
        `the docs' examples need ${missing.join(', ')} on PATH: install it (apt-get install ${missing.join(' ')})`,
      );
    }
    for (const name of ['bin', 'test', 'node_modules', 'package.json']) {
      symlinkSync(join(ROOT, name), join(cwd, name));
    }
    gateway = await startGateway(loadConfig({ ...workspace.env, SPX_PORT: '0' }));
    env = {
      ...workspace.env,
      HOME: process.env['HOME'] ?? cwd,
      SPX_URL: gateway.url,
      ADMIN_KEY: gateway.firstAdminKey!,
    };
  }, 120_000);

  afterAll(async () => {
    await gateway?.shutdown();
    await workspace.remove();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('finds the README setup block and pages with blocks to run', () => {
    expect(setup).toHaveLength(1);
    expect(files.length).toBeGreaterThan(1);
  });

  it.each(files)(
    '$file',
    async ({ blocks }) => {
      const run = blocks[0]?.setup ? blocks : [...setup, ...blocks];
      const { code, stdout, stderr } = await bash(pageScript(run), cwd, env);
      const outputs = perBlock(stdout);
      const last = outputs.length - 1;
      const where = (i: number) => `${run[i]!.file}:${run[i]!.line}`;
      const outcome =
        code === null ? `was stopped after ${PAGE_TIMEOUT_MS / 1000} s` : `failed (exit ${code})`;
      expect(code, `${where(last)} ${outcome}:\n${outputs[last]}\n${perBlock(stderr)[last] ?? stderr}`).toBe(
        0,
      );
      run.forEach((block, i) => {
        for (const text of block.expected) {
          expect(outputs[i], `${where(i)} should print ${text}`).toContain(text);
        }
      });
    },
    PAGE_TIMEOUT_MS + 30_000,
  );
});
