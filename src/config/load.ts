import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { settings, type Config, type Setting } from './settings.ts';

/** A configuration mistake: its message is the one line printed when the start stops. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Environment = Record<string, string | undefined>;

/**
 * Reads settings from an optional JSON config file (SPX_CONFIG_FILE, keys are the variable names)
 * and from environment variables, which win. Validates every value; the first wrong one throws a
 * ConfigError naming the variable.
 */
export function loadConfig(env: Environment = process.env): Config {
  const fromFile = readConfigFile(env['SPX_CONFIG_FILE']);
  const config: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings) as [string, Setting][]) {
    const raw = env[setting.env] ?? fromFile[setting.env];
    if (raw === undefined || raw === '') {
      if ('default' in setting) {
        config[name] = setting.default;
      }
      continue;
    }
    config[name] = parseValue(setting, raw);
  }
  return config as Config;
}

function parseValue(setting: Setting, raw: unknown): unknown {
  const value = typeof raw === 'string' ? Value.Convert(setting.schema, raw.trim()) : raw;
  if (!Value.Check(setting.schema, value)) {
    const first = [...Value.Errors(setting.schema, value)][0];
    const shown = setting.secret ? '(value hidden)' : `(got ${JSON.stringify(raw)})`;
    throw new ConfigError(`${setting.env}: ${describeExpected(setting.schema) ?? first?.message} ${shown}`);
  }
  return value;
}

function describeExpected(schema: Setting['schema']): string | undefined {
  if (schema['type'] === 'integer') {
    return `must be a whole number from ${String(schema['minimum'])} to ${String(schema['maximum'] ?? 'any')}`;
  }
  if (schema['type'] === 'number') {
    return `must be a number from ${String(schema['minimum'])} to ${String(schema['maximum'])}`;
  }
  if (schema['type'] === 'boolean') {
    return 'must be true or false';
  }
  if (Array.isArray(schema['anyOf'])) {
    return `must be one of ${(schema['anyOf'] as { const: string }[]).map((s) => s.const).join(', ')}`;
  }
  if (typeof schema['pattern'] === 'string') {
    return `must match ${schema['pattern']}`;
  }
  return undefined;
}

function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (!path) {
    return {};
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ConfigError(`SPX_CONFIG_FILE: cannot read ${path}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('not an object');
    }
    const known = new Set<string>(Object.values(settings).map((s) => s.env));
    const unknown = Object.keys(parsed).find((key) => !known.has(key));
    if (unknown) {
      throw new ConfigError(`SPX_CONFIG_FILE: unknown setting ${unknown} in ${path}`);
    }
    return parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof ConfigError) {
      throw error;
    }
    throw new ConfigError(`SPX_CONFIG_FILE: ${path} is not a JSON object of settings`);
  }
}

/** The configuration table of docs/configuration.md, generated from the settings. */
export function configMarkdownTable(): string {
  const rows = (Object.values(settings) as Setting[]).map((s) => {
    const fallback = 'default' in s ? `\`${String(s.default)}\`` : '(unset)';
    return `| \`${s.env}\` | ${fallback} | ${s.description} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n');
}
