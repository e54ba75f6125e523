import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * The gateway's import graph, folder by folder, and the layering rules it must keep (issue 20):
 * platform and config import no capability, capabilities import each other only through a declared
 * interface, and no two units import each other, directly or round a longer loop.
 */

/** One module importing another, both as paths relative to src/ (`dci/plugin.ts`). */
export interface Import {
  from: string;
  to: string;
}

/** The package.json `imports` aliases (`#platform/*` -> `./src/platform/*.ts`). */
type Aliases = Record<string, string>;

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

/** Every module of src/ but the unit tests beside them (they may set up data through any capability). */
export function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return sourceFiles(path);
    }
    return /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** The imports of src/ (static, type-only, re-exports and dynamic ones) that land in src/. */
export function importsOfSources(): Import[] {
  const aliases = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { imports: Aliases })
    .imports;
  return sourceFiles().flatMap((file) =>
    ts
      .preProcessFile(readFileSync(file, 'utf8'), true, true)
      .importedFiles.map((imported) => resolveImport(imported.fileName, file, aliases))
      .filter((target): target is string => target?.startsWith(SRC + '/') ?? false)
      .map((target) => ({ from: relative(SRC, file), to: relative(SRC, target) })),
  );
}

function resolveImport(specifier: string, importer: string, aliases: Aliases): string | undefined {
  if (specifier.startsWith('.')) {
    return resolve(dirname(importer), specifier);
  }
  for (const [alias, target] of Object.entries(aliases)) {
    const star = alias.indexOf('*');
    if (star < 0 ? specifier === alias : specifier.startsWith(alias.slice(0, star))) {
      return join(ROOT, star < 0 ? target : target.replace('*', specifier.slice(star)));
    }
  }
  return undefined; // a package
}

/** Folders that group features rather than being one: each of their sub-folders is a unit. */
const GROUPS = ['platform', 'security'];

/**
 * The unit a module belongs to: `platform/http`, `security/oauth`, a capability (`dci`, its
 * sub-folders included), `cli`, `config`, or a file at the root of src/ (`app.ts`, `main.ts`).
 */
export function unitOf(path: string): string {
  const parts = path.split('/');
  if (parts.length === 1) {
    return parts[0]!;
  }
  return GROUPS.includes(parts[0]!) && parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

const capabilityOf = (unit: string) => unit.split('/')[0]!;

/** Units the rest of the gateway is built on: they import nothing above them. */
const isFoundation = (unit: string) => unit === 'config' || capabilityOf(unit) === 'platform';

/** Units that put the gateway together: they may import anything. */
const ASSEMBLY = new Set(['app.ts', 'main.ts', 'cli']);

/**
 * The declared interface of each capability: the only files of it that other capabilities may
 * import (besides an `api.ts`, should one be added), each with the reason it is shared.
 */
export const DECLARED: Record<string, string> = {
  // The registry is the data every other capability serves: its records, field policy and scope.
  'registry/schemas.ts': 'the shapes of households, persons, programs and enrollments in every API',
  'registry/views.ts': 'the field policy: what a principal may see of a record, applied wherever it is read',
  'registry/scope.ts': "the caller's area scope in every query over registry records",
  'registry/queries.ts': 'the reads of registry records (one query each) other views build on',
  'registry/consent/purposes.ts': 'the consent purposes a DCI search may state',
  'registry/changes/service.ts': 'the one way field data changes the registry (ODK submissions)',
  'registry/changes/model.ts': 'the change request a field source maps its data to',
  // DCI: the query language other APIs accept (exports, GraphQL), and the exchange record of a request.
  'dci/query/compile.ts': 'DCI expressions compiled to SQL (export filters, GraphQL where)',
  'dci/query/attributes.ts': 'the attributes a DCI expression may name',
  'dci/query/expression.ts': 'the DCI expression schema',
  'dci/query/queries.ts': 'record reads by a compiled DCI expression',
  'dci/errors.ts': 'the DCI error a compiled expression is refused with',
  'dci/exchange/receive.ts': "the principal of work done later on a client's behalf (export jobs)",
  'exports/plan.ts': 'the privacy plan of fields and filters (GraphQL, eligibility checks)',
  // Security: what every API applies to a principal, and the OAuth trust the console's sign-in uses.
  'security/stored-credential.ts': 'the principal of a credential stored with work done later',
  'security/policy/enforce.ts': 'a principal narrowed by its agreement for work done without a request',
  'security/policy/rules.ts': 'agreement rules (purposes, registries) checked inside DCI and GraphQL',
  'security/policy/queries.ts': "a client's agreement, read by GraphQL",
  'security/anomaly/lookup-keys.ts': 'single-subject lookups declared to the anomaly guard by every API',
  'security/oauth/service.ts': 'OAuth tokens and trusted identity providers (console OpenID sign-in)',
  'security/oauth/providers.ts': 'the identity providers trusted (console OpenID sign-in)',
  'security/oauth/external-token.ts': "an identity provider's token verified (console OpenID sign-in)",
  'security/oauth/access-token.ts': "the identity provider's token endpoint (console OpenID sign-in)",
  'security/oauth/credentials.ts': 'OAuth credentials of a console user (console OpenID sign-in)',
  'security/oauth/urls.ts': 'the OAuth issuer and redirect URLs (console OpenID sign-in)',
};

/** What is wrong with one import, or undefined when it keeps the rules. */
export function wrongImport({ from, to }: Import): string | undefined {
  const [source, target] = [unitOf(from), unitOf(to)];
  if (source === target || ASSEMBLY.has(source)) {
    return undefined;
  }
  if (ASSEMBLY.has(target)) {
    return `${from} imports ${to}: only the entry points assemble the gateway`;
  }
  if (isFoundation(source)) {
    return isFoundation(target)
      ? undefined
      : `${from} imports ${to}: platform and config import no capability`;
  }
  if (isFoundation(target) || capabilityOf(source) === capabilityOf(target)) {
    return undefined;
  }
  const declared = to.endsWith('/api.ts') || to in DECLARED;
  return declared
    ? undefined
    : `${from} imports ${to}, which is not ${capabilityOf(target)}'s declared interface`;
}

/** Loops of units importing each other (strongly connected components of two units or more). */
export function unitCycles(imports: Import[]): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const { from, to } of imports) {
    const [source, target] = [unitOf(from), unitOf(to)];
    if (source !== target) {
      edges.set(source, (edges.get(source) ?? new Set()).add(target));
      edges.set(target, edges.get(target) ?? new Set());
    }
  }
  return stronglyConnected(edges).filter((component) => component.length > 1);
}

/** Tarjan's algorithm: the strongly connected components of a directed graph, each sorted. */
function stronglyConnected(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      components.push(component.sort());
    }
  };
  [...edges.keys()].filter((node) => !index.has(node)).forEach(visit);
  return components;
}

/** The imports that make a loop between units, to name them in a failure. */
export function importsWithin(cycle: string[], imports: Import[]): string[] {
  return imports
    .filter(
      ({ from, to }) =>
        unitOf(from) !== unitOf(to) && cycle.includes(unitOf(from)) && cycle.includes(unitOf(to)),
    )
    .map(({ from, to }) => `${from} -> ${to}`);
}
