import type { RawBuilder } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import { searchRejection } from '../errors.ts';
import type { RecordShape } from '../load.ts';
import type { Registry } from '../spec.ts';
import type { Entity, Where } from './attributes.ts';
import { compileCondition, compileSort, restate, withinScope, type SortItem } from './compile.ts';
import { invalidCriteria, parseIdTypeValue, parsePredicates, type Condition } from './condition.ts';
import { parseExpression } from './expression.ts';
import type { StatedPurpose } from '../consent.ts';

/** `search_criteria` of a `search_request` item (SR and IBR `SearchRequest`). */
/** `consent` and `authorize` are read by consent.ts. */
export interface SearchCriteria extends StatedPurpose {
  version?: string;
  reg_type?: string;
  reg_record_type?: string;
  query_type: string;
  /** SR only: answer with Group or Member records, whatever the query was about. */
  response_entity?: string;
  query: unknown;
  sort?: SortItem[];
  pagination?: { page_size?: unknown; page_number?: unknown };
}

export interface SearchLimits {
  /** A search matching more records than this is refused (`rjct.search.too_many_records_found`). */
  maxRecords: number;
  maxPageSize: number;
  defaultPageSize: number;
}

export const DEFAULT_LIMITS: SearchLimits = { maxRecords: 10_000, maxPageSize: 500, defaultPageSize: 50 };

/** A checked search, ready to run: SQL on the entity whose records are returned, and the page. */
export interface SearchPlan {
  entity: Entity;
  shape: RecordShape;
  where: Where;
  order: RawBuilder<unknown>;
  page: { size: number; number: number };
  regType: string;
  recordType: string;
}

interface Target {
  entity: Entity;
  shape: RecordShape;
}

/**
 * Record types by name, without namespace prefix and case ("ns:org:...:Group", "spdci:Group").
 * SR: Group (household), Member, Person (an individual's demographic record). The IBR spec answers
 * every search with Beneficiary records, whatever the record type is called.
 */
const RECORD_TYPES: Record<Registry, ReadonlyMap<string, Target>> = {
  social: new Map<string, Target>([
    ['group', { entity: 'group', shape: 'Group' }],
    ['household', { entity: 'group', shape: 'Group' }],
    ['member', { entity: 'person', shape: 'Member' }],
    ['person', { entity: 'person', shape: 'Person' }],
    ['srperson', { entity: 'person', shape: 'Person' }],
    ['sr_person', { entity: 'person', shape: 'Person' }],
    ['individual', { entity: 'person', shape: 'Person' }],
  ]),
  ibr: new Map<string, Target>(
    ['beneficiary', 'member', 'person', 'ibrperson'].map((name) => [
      name,
      { entity: 'beneficiary', shape: 'Beneficiary' },
    ]),
  ),
};
const DEFAULT_RECORD_TYPE: Record<Registry, string> = { social: 'Group', ibr: 'Beneficiary' };
const REG_TYPES: Record<Registry, { names: readonly string[]; canonical: string }> = {
  social: { names: ['social', 'sr', 'socialregistry'], canonical: 'ns:org:RegistryType:Social' },
  ibr: { names: ['ibr'], canonical: 'ns:org:RegistryType:IBR' },
};

const localName = (value: string) => (value.split(':').at(-1) ?? '').toLowerCase();

function targetOf(registry: Registry, recordType: string, what: string): Target {
  const target = RECORD_TYPES[registry].get(localName(recordType));
  if (!target) {
    throw invalidCriteria(
      `${what} "${recordType}" is not served here (${[...RECORD_TYPES[registry].keys()].join(', ')})`,
    );
  }
  return target;
}

function parseQuery(criteria: SearchCriteria): { condition: Condition; collection?: string | undefined } {
  switch (criteria.query_type) {
    case 'idtype-value':
      return { condition: parseIdTypeValue(criteria.query) };
    case 'expression':
      return parseExpression(criteria.query);
    case 'predicate':
      return { condition: parsePredicates(criteria.query) };
    default:
      throw invalidCriteria(
        `query_type "${String(criteria.query_type)}" is not supported (idtype-value, expression, predicate)`,
      );
  }
}

function pageOf(pagination: SearchCriteria['pagination'], limits: SearchLimits): SearchPlan['page'] {
  const size = pagination?.page_size ?? limits.defaultPageSize;
  const number = pagination?.page_number ?? 1;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > limits.maxPageSize) {
    throw searchRejection(
      'rjct.pagination.invalid',
      `page_size must be an integer from 1 to ${limits.maxPageSize}`,
    );
  }
  if (
    typeof number !== 'number' ||
    !Number.isInteger(number) ||
    number < 1 ||
    (number - 1) * size >= limits.maxRecords
  ) {
    throw searchRejection(
      'rjct.pagination.invalid',
      `page_number must be an integer from 1 to ${Math.ceil(limits.maxRecords / size)}`,
    );
  }
  return { size, number };
}

function checkRegType(registry: Registry, regType: string | undefined): string {
  const { names, canonical } = REG_TYPES[registry];
  if (regType !== undefined && !names.includes(localName(regType))) {
    throw invalidCriteria(`reg_type "${regType}" is not served by this registry (${canonical})`);
  }
  return regType ?? canonical;
}

/** Checks one item's criteria against the registry, the whitelist and the caller's field policy. */
export function planSearch(
  criteria: SearchCriteria,
  registry: Registry,
  principal: Principal,
  limits: SearchLimits,
): SearchPlan {
  if (criteria.version !== undefined && criteria.version !== '1.0.0') {
    throw invalidCriteria(`search_criteria.version ${criteria.version} is not supported (1.0.0)`);
  }
  const regType = checkRegType(registry, criteria.reg_type);
  const { condition, collection } = parseQuery(criteria);
  const recordType = criteria.reg_record_type ?? collection ?? DEFAULT_RECORD_TYPE[registry];
  const searched = targetOf(registry, recordType, 'reg_record_type');
  if (
    collection !== undefined &&
    targetOf(registry, collection, 'expression collection').entity !== searched.entity
  ) {
    throw invalidCriteria(
      `expression collection "${collection}" does not match reg_record_type "${recordType}"`,
    );
  }
  const answered =
    criteria.response_entity === undefined
      ? searched
      : targetOf(registry, criteria.response_entity, 'response_entity');
  const where = withinScope(
    restate(compileCondition(condition, searched.entity, principal), searched.entity, answered.entity),
    answered.entity,
    principal.areaScope,
  );
  return {
    entity: answered.entity,
    shape: answered.shape,
    where,
    order: compileSort(criteria.sort, answered.entity, principal),
    page: pageOf(criteria.pagination, limits),
    regType,
    recordType: criteria.response_entity ?? recordType,
  };
}
