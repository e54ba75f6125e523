import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type AjvDraft04 from 'ajv-draft-04';
import type { ErrorObject, ValidateFunction } from 'ajv-draft-04';
import type formats from 'ajv-formats';
import type { parse as parseYaml } from 'yaml';
import type { FieldError } from '#platform/problem';

/**
 * Validators built straight from the vendored DCI OpenAPI files (spec/dci/, unmodified copies), so
 * the messages we accept and send are the spec's, not a retyped copy. OpenAPI 3.0 schemas are a
 * JSON Schema draft-04 dialect, hence ajv-draft-04. Known defects of the files (spec/dci/README.md)
 * are tolerated by adjusting the parsed document in memory.
 */

export type Registry = 'social' | 'ibr';

/** A POST operation of a registry's spec, named by its path, e.g. `/registry/sync/search`. */
export interface Operation {
  registry: Registry;
  path: string;
}

const SPEC_FILES: Record<Registry, string> = { social: 'social_api_v1.0.0.yaml', ibr: 'ibr_api_v1.0.0.yaml' };

type Ajv = InstanceType<typeof AjvDraft04.default>;

/**
 * The YAML parser and Ajv, required (they are CommonJS) when a registry's spec is first used rather
 * than imported at start: most requests never need them, and they were some 150 ms of the gateway's
 * start (issue 21, item 3).
 */
function specLibraries() {
  const require = createRequire(import.meta.url);
  return {
    // CommonJS modules whose `default` export is the module itself.
    Ajv: (require('ajv-draft-04') as typeof AjvDraft04).default,
    addFormats: (require('ajv-formats') as typeof formats).default,
    parse: (require('yaml') as { parse: typeof parseYaml }).parse,
  };
}

type Json = unknown;
type Direction = 'request' | 'response';

interface LoadedSpec {
  /** The document as written: what `specDocument` returns. */
  document: Record<string, Json>;
  validators: Map<string, ValidateFunction>;
  ajv: Ajv;
}

// Compiled validators are pure functions of the vendored files: built on first use and kept for the
// life of the process (a cache, not state), so every route and test shares one compilation.
const loaded = new Map<Registry, LoadedSpec>();

function loadDocument(registry: Registry, parse: typeof parseYaml): Record<string, Json> {
  const url = new URL(`../../spec/dci/${SPEC_FILES[registry]}`, import.meta.url);
  return parse(readFileSync(url, 'utf8')) as Record<string, Json>;
}

function specOf(registry: Registry): LoadedSpec {
  let spec = loaded.get(registry);
  if (!spec) {
    const { Ajv, addFormats, parse } = specLibraries();
    const document = loadDocument(registry, parse);
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    // OpenAPI number formats: int32 page sizes must be integers; the others constrain nothing we check.
    ajv.addFormat('int32', {
      type: 'number',
      validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
    });
    for (const format of ['int64', 'float', 'double', 'binary', 'byte']) {
      ajv.addFormat(format, true);
    }
    // `tolerate` copies: the document itself stays as written.
    ajv.addSchema(withEventTypes(tolerate(document, 'request'), registry) as object, `${registry}-request`);
    ajv.addSchema(withEventTypes(tolerate(document, 'response'), registry) as object, `${registry}-response`);
    spec = { document, validators: new Map(), ajv };
    loaded.set(registry, spec);
  }
  return spec;
}

/**
 * Known defects (reference README, "Known defects to expect"):
 * - `attribute_value` is `oneOf: [string, integer, number, boolean, object]`: an integer matches both
 *   integer and number, so every integer fails. Read such unions as `anyOf`.
 * - `locale` is `^[a-z]{3,3}$` (ISO 639-3) while the spec's own examples say `en`: requests may carry
 *   ISO 639-1 two-letter codes; our responses must keep the strict pattern.
 */
function tolerate(node: Json, direction: Direction): Json {
  if (Array.isArray(node)) {
    return node.map((item) => tolerate(item, direction));
  }
  if (node === null || typeof node !== 'object') {
    return node;
  }
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = tolerate(value, direction);
  }
  if (Array.isArray(out['oneOf']) && hasIntegerAndNumber(out['oneOf'])) {
    out['anyOf'] = out['oneOf'];
    delete out['oneOf'];
  }
  if (direction === 'request' && out['pattern'] === '^[a-z]{3,3}$') {
    out['pattern'] = '^[a-z]{2,3}$';
  }
  return out;
}

/**
 * Known defect: the notify `reg_event_type` enum has SR `REGISTER` and `NewHouseHoldMember`, IBR
 * `enrollement` and `enrollement_status_change` (its description also names `Deregister`), so the
 * updates and deaths the DCI issue asks to notify cannot be said. The values we send are added to
 * the enum (subscriptions/events.ts), in a copy.
 */
export const EXTRA_EVENT_TYPES: Record<Registry, readonly string[]> = {
  social: ['UPDATE', 'DEATH'],
  ibr: ['Deregister'],
};
const EVENT_TYPE_PATH =
  'components.schemas.NotifyEventRequest.properties.notify_event.items.properties.data.properties.reg_event_type'.split(
    '.',
  );

function withEventTypes(copy: Json, registry: Registry): Json {
  const eventType = EVENT_TYPE_PATH.reduce<Json>(
    (node, key) => (node && typeof node === 'object' ? (node as Record<string, Json>)[key] : undefined),
    copy,
  ) as { enum?: string[] } | undefined;
  if (!eventType?.enum) {
    throw new Error(`the ${registry} spec has no NotifyEventRequest reg_event_type enum any more`);
  }
  eventType.enum = [...eventType.enum, ...EXTRA_EVENT_TYPES[registry]];
  return copy;
}

const hasIntegerAndNumber = (branches: Json[]): boolean => {
  const types = branches.map((b) =>
    b && typeof b === 'object' ? (b as Record<string, Json>)['type'] : undefined,
  );
  return types.includes('integer') && types.includes('number');
};

const escapePointer = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

const CONTENT = '/content/application~1json/schema';

/** JSON pointer (inside the spec document) of an operation's request body or default response schema. */
function schemaPointer({ registry, path }: Operation, direction: Direction): string {
  const operation = `/paths/${escapePointer(path)}/post`;
  if (direction === 'request') {
    return `${operation}/requestBody${CONTENT}`;
  }
  // Async operations refer to the shared ACK response (`#/components/responses/Response`). IBR
  // /registry/sync/enrolled and /registry/sync/enrollment/updates refer to a bare schema instead of
  // a Response Object (reference README, known defects): that schema is their response body.
  const responses = (specOf(registry).document['paths'] as Record<string, Json>)[path] as
    { post?: { responses?: { default?: { $ref?: string } } } } | undefined;
  const ref = responses?.post?.responses?.default?.$ref;
  if (ref?.startsWith('#/components/responses/')) {
    return `${ref.slice(1)}${CONTENT}`;
  }
  if (ref?.startsWith('#/components/schemas/')) {
    return ref.slice(1);
  }
  return `${operation}/responses/default${CONTENT}`;
}

function validatorFor(operation: Operation, direction: Direction): ValidateFunction {
  const spec = specOf(operation.registry);
  const key = `${direction} ${operation.path}`;
  const cached = spec.validators.get(key);
  if (cached) {
    return cached;
  }
  const ref = `${operation.registry}-${direction}#${schemaPointer(operation, direction)}`;
  const validate = spec.ajv.getSchema(ref);
  if (!validate) {
    throw new Error(`the ${operation.registry} spec has no POST ${operation.path} ${direction} schema`);
  }
  spec.validators.set(key, validate);
  return validate;
}

function validate(operation: Operation, direction: Direction, body: unknown): FieldError[] {
  const check = validatorFor(operation, direction);
  if (check(body)) {
    return [];
  }
  return explain(check.errors ?? []).map((e) => ({
    pointer: pointerOf(e),
    detail: e.message ?? 'is invalid',
  }));
}

/** Field-level errors of a request body against the operation's request schema (empty when valid). */
export const validateRequest = (operation: Operation, body: unknown): FieldError[] =>
  validate(operation, 'request', body);

/** Field-level errors of a response body against the operation's default response schema. */
export const validateResponse = (operation: Operation, body: unknown): FieldError[] =>
  validate(operation, 'response', body);

/** The spec document as written (e.g. to read a code list). Callers must not change it. */
export const specDocument = (registry: Registry): Readonly<Record<string, unknown>> =>
  specOf(registry).document;

/** Where the error lies, as a JSON pointer into the body (naming a missing or unknown property). */
function pointerOf(error: ErrorObject): string {
  const extra = error.params['missingProperty'] ?? error.params['additionalProperty'];
  return `${error.instancePath}${extra === undefined ? '' : `/${String(extra)}`}` || '/';
}

/**
 * Unions report every branch's failure; keep the ones that explain. The envelope's `message` is
 * `oneOf [SearchRequest, EncryptedMessage]`: an encrypted message is decrypted before it is
 * validated (encryption/service.ts), so EncryptedMessage errors are always noise. Within an `anyOf` (query forms), a type mismatch at the union's own level is a
 * branch that was never meant, when a deeper error shows the branch that was.
 */
function explain(errors: ErrorObject[]): ErrorObject[] {
  const specific = errors.filter(
    (e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && !e.schemaPath.includes('/EncryptedMessage/'),
  );
  const deeper = (e: ErrorObject) => specific.some((o) => o.instancePath.startsWith(`${e.instancePath}/`));
  const kept = specific.filter((e) => !(e.keyword === 'type' && deeper(e)));
  return kept.length ? dedupe(kept) : errors;
}

const dedupe = (errors: ErrorObject[]) =>
  errors.filter(
    (e, i) => errors.findIndex((o) => pointerOf(o) === pointerOf(e) && o.message === e.message) === i,
  );
