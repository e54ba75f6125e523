import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configMarkdownTable, loadConfig } from './load.ts';
import { settings } from './settings.ts';

describe('configuration', () => {
  it('has a default for every setting a start needs', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', dataDir: './data', demoHouseholds: 2000 });
    expect(config.databaseUrl).toBeUndefined();
  });

  it('reads and converts environment variables', () => {
    const config = loadConfig({
      SPX_PORT: '9000',
      SPX_JOBS_ENABLED: 'false',
      DATABASE_URL: 'postgres://u@h/db',
    });
    expect(config).toMatchObject({ port: 9000, jobsEnabled: false, databaseUrl: 'postgres://u@h/db' });
  });

  it('stops with one line naming the variable for a wrong value', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ SPX_PORT: 'eighty' }, /^SPX_PORT: must be a whole number from 0 to 65535 \(got "eighty"\)$/],
      [{ SPX_PORT: '70000' }, /^SPX_PORT: /],
      [{ SPX_LOG_LEVEL: 'loud' }, /^SPX_LOG_LEVEL: must be one of fatal, error/],
      [{ SPX_JOBS_ENABLED: 'maybe' }, /^SPX_JOBS_ENABLED: must be true or false/],
      [{ DATABASE_URL: 'mysql://x' }, /^DATABASE_URL: must match .* \(value hidden\)$/],
    ];
    for (const [env, message] of cases) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    }
  });

  it('reads an optional JSON config file, which environment variables override', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spx-config-'));
    const file = join(dir, 'spx.json');
    writeFileSync(file, JSON.stringify({ SPX_PORT: 9100, SPX_DEMO_HOUSEHOLDS: 10 }));
    expect(loadConfig({ SPX_CONFIG_FILE: file })).toMatchObject({ port: 9100, demoHouseholds: 10 });
    expect(loadConfig({ SPX_CONFIG_FILE: file, SPX_PORT: '9200' }).port).toBe(9200);
    writeFileSync(file, JSON.stringify({ SPX_PROT: 1 }));
    expect(() => loadConfig({ SPX_CONFIG_FILE: file })).toThrow(/unknown setting SPX_PROT/);
    expect(() => loadConfig({ SPX_CONFIG_FILE: join(dir, 'missing.json') })).toThrow(
      /^SPX_CONFIG_FILE: cannot read/,
    );
  });

  it('documents every setting in the table of docs/configuration.md', async () => {
    const { readFileSync } = await import('node:fs');
    const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    // Prettier pads table cells; compare the tables with padding removed.
    const unpadded = (text: string) => text.replace(/ *\| */g, '|').replace(/-{3,}/g, '---');
    expect(unpadded(page)).toContain(unpadded(configMarkdownTable()));
    expect(configMarkdownTable().split('\n')).toHaveLength(Object.keys(settings).length + 2);
  });
});
