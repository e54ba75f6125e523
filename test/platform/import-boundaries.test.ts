import { describe, expect, it } from 'vitest';
import { importsOfSources, importsWithin, unitCycles, wrongImport, type Import } from './import-graph.ts';

/**
 * The layering of issue 20, checked on the real import graph of src/: platform and config import no
 * capability, capabilities import each other only through their declared interfaces
 * (import-graph.ts, DECLARED), and no two folders import each other, directly or round a loop.
 */
describe('import boundaries', () => {
  const imports = importsOfSources();
  const wrongIn = (graph: Import[]) => graph.map(wrongImport).filter((wrong) => wrong !== undefined);
  const cyclesIn = (graph: Import[]) =>
    unitCycles(graph).map((cycle) => `${cycle.join(' <-> ')}: ${importsWithin(cycle, graph).join(', ')}`);

  it('reads the import graph of src/ (aliases, relative and type-only imports)', () => {
    expect(imports).toEqual(
      expect.arrayContaining([
        { from: 'app.ts', to: 'platform/http/access-control.ts' },
        { from: 'dci/plugin.ts', to: 'dci/routes/kit.ts' },
        { from: 'platform/http/types.ts', to: 'platform/auth/principal.ts' },
      ]),
    );
  });

  it('has no wrong-way import and no import past a declared interface', () => {
    expect(wrongIn(imports)).toEqual([]);
  });

  it('has no folder cycle', () => {
    expect(cyclesIn(imports)).toEqual([]);
  });

  it('reports a planted wrong-way import, an undeclared one, and a cycle', () => {
    expect(
      wrongIn([
        { from: 'platform/http/kit.ts', to: 'registry/queries.ts' },
        { from: 'config/settings.ts', to: 'dci/spec.ts' },
        { from: 'ibr/lifecycle.ts', to: 'dci/search.ts' },
        { from: 'registry/routes.ts', to: 'app.ts' },
      ]),
    ).toEqual([
      'platform/http/kit.ts imports registry/queries.ts: platform and config import no capability',
      'config/settings.ts imports dci/spec.ts: platform and config import no capability',
      "ibr/lifecycle.ts imports dci/search.ts, which is not dci's declared interface",
      'registry/routes.ts imports app.ts: only the entry points assemble the gateway',
    ]);
    // platform/http imports platform/db already: this one closes a loop.
    const loop = { from: 'platform/db/types.ts', to: 'platform/http/types.ts' };
    expect(cyclesIn([...imports, loop])).toEqual([
      expect.stringContaining('platform/db/types.ts -> platform/http/types.ts'),
    ]);
    // Declared interfaces and imports inside one capability pass.
    expect(
      wrongIn([
        { from: 'ibr/lifecycle.ts', to: 'registry/queries.ts' },
        { from: 'dci/routes/kit.ts', to: 'dci/envelope.ts' },
      ]),
    ).toEqual([]);
  });
});
