import type { IdentityAdapter, PersonFacts } from './adapter.ts';
import { jsonOf, postToIdSystem } from './http.ts';

/**
 * The generic REST/JSON adapter: POSTs a JSON object whose fields are filled from the registry by a
 * mapping (`{"request": {"id_number": "identifier:UIN", "first_name": "given_name"}, "match":
 * {"path": "result.match", "equals": true}}`), and reads the answer's field at `match.path`: equal to
 * `match.equals` is a match, anything else no match. A non-2xx answer or a body that is not JSON is
 * an error of the ID system.
 */

export interface RestMapping {
  request: Record<string, string>;
  match: { path: string; equals: unknown };
}

const FIELDS = new Set(['given_name', 'middle_name', 'family_name', 'birth_date', 'sex', 'phone']);

/** The mapping of SPX_ID_VERIFY_MAPPING, checked; throws naming what is wrong. */
export function parseMapping(text: string): RestMapping {
  let mapping: Partial<RestMapping>;
  try {
    mapping = JSON.parse(text) as Partial<RestMapping>;
  } catch {
    throw new Error('is not JSON');
  }
  const request = mapping.request;
  if (!request || typeof request !== 'object' || Object.keys(request).length === 0) {
    throw new Error('needs "request": { "<field sent>": "<registry field>" }');
  }
  for (const [sent, source] of Object.entries(request)) {
    if (
      typeof source !== 'string' ||
      !(FIELDS.has(source) || /^identifier:[A-Za-z0-9_.:-]{1,40}$/.test(source))
    ) {
      throw new Error(
        `request.${sent}: "${String(source)}" is not a registry field (${[...FIELDS].join(', ')}, identifier:TYPE)`,
      );
    }
  }
  if (!mapping.match || typeof mapping.match.path !== 'string' || !('equals' in mapping.match)) {
    throw new Error('needs "match": { "path": "<field of the answer>", "equals": <value meaning match> }');
  }
  return mapping as RestMapping;
}

const valueOf = (person: PersonFacts, source: string) =>
  source.startsWith('identifier:')
    ? (person.identifiers[source.slice('identifier:'.length)] ?? null)
    : person[source as keyof PersonFacts];

function at(body: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (value, key) =>
        value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined,
      body,
    );
}

export function restJsonAdapter(url: string, mapping: RestMapping): IdentityAdapter {
  return {
    name: 'rest-json',
    methods: ['demographic'],
    async verify(person, _proof, signal) {
      const body = Object.fromEntries(
        Object.entries(mapping.request).map(([sent, source]) => [sent, valueOf(person, source)]),
      );
      const answer = jsonOf((await postToIdSystem(url, JSON.stringify(body), signal)).text);
      return { outcome: at(answer, mapping.match.path) === mapping.match.equals ? 'match' : 'no_match' };
    },
  };
}
