#!/usr/bin/env node
// Builds the gateway (src/**/*.ts without the tests) into dist/, one JavaScript file per TypeScript file
// in the same folders, with source maps; files that are not code (migrations, shipped forms) are copied.
// `npm install` runs it (prepare), so `npm start` and `spx` never load TypeScript (issue 21, item 1).
// Subpath imports (#platform/x and the like, package.json `imports`, which name the sources for vitest,
// tsc and tsx) become relative paths, so the built code resolves only inside dist/. Only changed files
// are written and files whose source is gone are removed: running it again is cheap (test/global-setup.ts
// does, before every test run, so a spawned `spx` never runs stale code).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');

/** Files under `dir`, as paths relative to it. */
const filesUnder = (dir) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));

const isCode = (file) => file.endsWith('.ts') || file.endsWith('.js');

/** The source file a subpath import names (package.json `imports`), or undefined if it names none. */
function subpathTarget(specifier, imports) {
  for (const [key, target] of Object.entries(imports)) {
    const star = key.indexOf('*');
    if (star < 0 && key === specifier) {
      return resolve(ROOT, target);
    }
    if (star >= 0 && specifier.startsWith(key.slice(0, star)) && specifier.endsWith(key.slice(star + 1))) {
      const part = specifier.slice(star, specifier.length - (key.length - star - 1));
      return resolve(ROOT, target.replace('*', part));
    }
  }
  return undefined;
}

/** A relative import of the built file that `target` (a source) becomes, seen from `importer`. */
function builtSpecifier(importer, target) {
  const path = relative(dirname(importer), target).split(sep).join('/');
  return (path.startsWith('.') ? path : `./${path}`).replace(/\.ts$/, '.js');
}

/** Keeps every import external: relative .ts imports become .js, subpath imports relative ones. */
const externalImports = (imports) => ({
  name: 'external-imports',
  setup(esbuild) {
    esbuild.onResolve({ filter: /.*/ }, ({ kind, path, importer }) => {
      if (kind === 'entry-point') {
        return undefined;
      }
      if (path.startsWith('#')) {
        const target = subpathTarget(path, imports);
        if (!target?.startsWith(SRC + sep)) {
          return { errors: [{ text: `${path} does not name a file under src/` }] };
        }
        return { path: builtSpecifier(importer, target), external: true };
      }
      return { path: path.startsWith('.') ? path.replace(/\.ts$/, '.js') : path, external: true };
    });
  },
});

/** Writes `content` to `file` unless it already holds it (atomically: a running `spx` never reads half). */
function writeIfChanged(file, content) {
  try {
    if (readFileSync(file).equals(content)) {
      return false;
    }
  } catch {
    // not built yet
  }
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
  return true;
}

/** Removes the folders under `dir` left empty (a source folder moved or renamed). */
function removeEmptyFolders(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true }).filter((item) => item.isDirectory())) {
    const folder = join(dir, entry.name);
    removeEmptyFolders(folder);
    if (readdirSync(folder).length === 0) {
      rmdirSync(folder);
    }
  }
}

export async function buildServer() {
  const { imports } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const sources = filesUnder(SRC);
  const result = await build({
    entryPoints: sources
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
      .map((file) => join(SRC, file)),
    outdir: DIST,
    outbase: SRC,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    write: false,
    logLevel: 'warning',
    plugins: [externalImports(imports)],
  });
  const outputs = new Map(result.outputFiles.map((file) => [file.path, Buffer.from(file.contents)]));
  for (const asset of sources.filter((file) => !isCode(file))) {
    outputs.set(join(DIST, asset), readFileSync(join(SRC, asset)));
  }
  let written = 0;
  for (const [file, content] of outputs) {
    written += writeIfChanged(file, content) ? 1 : 0;
  }
  let removed = 0;
  for (const file of filesUnder(DIST).map((path) => join(DIST, path))) {
    if (!outputs.has(file)) {
      rmSync(file);
      removed += 1;
    }
  }
  removeEmptyFolders(DIST);
  return { files: outputs.size, written, removed };
}

if (process.argv[1] === import.meta.filename) {
  const started = performance.now();
  const { files, written, removed } = await buildServer();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`dist/: ${files} files, ${written} written, ${removed} removed (${seconds} s)`);
}
