/**
 * `npm run test:slowest [-- vitest arguments]`: runs the suite (or the files named) as `npm test` does,
 * then lists the slowest test files with their times and how much of the run went to module import
 * (issue 21: keep the suite fast by design, and see where the time goes before changing anything).
 */
import { spawn } from 'node:child_process';

const SHOWN = 15;
const ESCAPES = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
/** vitest's line for a finished file: " ✓ test/x.test.ts (12 tests | 1 failed) 3456ms". */
const FILE_LINE = /^ [✓❯×↓] (\S+) \((\d+) tests?[^)]*\) (\d+)ms$/;

/** Runs vitest, showing its output as it comes; resolves with the exit code and the output. */
function runVitest(args: string[]): Promise<{ code: number; output: string }> {
  const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...args], {
    stdio: ['inherit', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    output += chunk.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, output })));
}

/** A phase of vitest's Duration line ("import 408.2s"), in seconds. */
function phaseSeconds(lines: string[], phase: string): number | undefined {
  const match = lines
    .map((line) => new RegExp(`Duration .*\\b${phase} ([\\d.]+)(ms|s)`).exec(line))
    .find(Boolean);
  return match ? Number(match[1]) / (match[2] === 'ms' ? 1000 : 1) : undefined;
}

const started = Date.now();
const { code, output } = await runVitest(process.argv.slice(2));
const wall = (Date.now() - started) / 1000;
const lines = output.replace(ESCAPES, '').split('\n');
const files = lines
  .map((line) => FILE_LINE.exec(line))
  .filter((match) => match !== null)
  .map(([, name, tests, ms]) => ({ name: name!, tests: Number(tests), seconds: Number(ms) / 1000 }))
  .sort((a, b) => b.seconds - a.seconds);
console.log(`\nThe ${Math.min(SHOWN, files.length)} slowest of ${files.length} test files:`);
for (const file of files.slice(0, SHOWN)) {
  console.log(`${file.seconds.toFixed(1).padStart(7)} s ${`${file.tests} tests`.padStart(9)}  ${file.name}`);
}
const total = files.reduce((sum, file) => sum + file.seconds, 0);
const imported = phaseSeconds(lines, 'import');
console.log(`\nwall ${wall.toFixed(0)} s; the files took ${total.toFixed(0)} s in all (on both workers)`);
if (imported !== undefined) {
  console.log(
    `module import ${imported.toFixed(0)} s (${((100 * imported) / total).toFixed(0)}% of the files' time)`,
  );
}
process.exit(code);
