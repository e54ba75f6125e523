import { sql } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import { maySee } from '#platform/auth/principal';
import { badRequest } from '#platform/problem';
import { DciError } from '#dci/errors';
import { type Entity, type Where } from '#dci/query/attributes';
import { compileCondition, withinScope } from '#dci/query/compile';
import { parseExpression } from '#dci/query/expression';
import type { DefinitionRow } from './definitions.ts';
import {
  FIELDS_OF,
  INDIVIDUAL_FIELDS,
  type ExportEntity,
  type ExportField,
  type FieldValue,
} from './fields.ts';
import type { ExportFormat } from './formats/index.ts';

/**
 * A definition made ready for one caller: the columns it may receive (its field policy withholds
 * the others, named in `withheld`), and the filter compiled to SQL within its area scope, exactly as
 * a DCI search of the same principal would be.
 */

export interface Column {
  name: string;
  type: ExportField<unknown>['type'];
  description: string;
  value: (row: never) => FieldValue;
  /** The value as SQL (fields.ts), for CSV written by the database. */
  column: ExportField<unknown>['column'];
  pseudonym: boolean;
}

export interface ExportPlan {
  definition: DefinitionRow;
  entity: ExportEntity;
  format: ExportFormat;
  columns: Column[];
  /** The columns of nested members (households with include_members). */
  memberColumns: Column[] | undefined;
  /** Selected fields the caller's policy (or drop_direct_identifiers) left out. */
  withheld: string[];
  /** Over `h` (households, household_members) or `i` (individuals); the caller's scope included. */
  where: Where;
}

/** The DCI entity whose attributes the filter uses. */
const filterEntity = (entity: ExportEntity): Entity => (entity === 'individuals' ? 'person' : 'group');

export function planExport(definition: DefinitionRow, principal: Principal): ExportPlan {
  const entity = definition.entity;
  const withheld: string[] = [];
  const catalogue = FIELDS_OF[entity] as readonly ExportField<unknown>[];
  const columns = choose(catalogue, definition.fields, definition, principal, withheld);
  // Nested members carry every person field the caller may receive.
  const memberNames = INDIVIDUAL_FIELDS.map((field) => field.name);
  const memberColumns = definition.include_members
    ? choose(INDIVIDUAL_FIELDS, memberNames, definition, principal, [])
    : undefined;
  return {
    definition,
    entity,
    format: definition.format,
    columns,
    memberColumns,
    withheld,
    where: withinScope(
      compileFilter(definition.filter, filterEntity(entity), principal),
      filterEntity(entity),
      principal.areaScope,
    ),
  };
}

/** The named fields in that order, without those the principal may not see or the definition drops. */
function choose<R>(
  catalogue: readonly ExportField<R>[],
  names: readonly string[],
  definition: DefinitionRow,
  principal: Principal,
  withheld: string[],
): Column[] {
  const byName = new Map(catalogue.map((field) => [field.name, field]));
  const columns: Column[] = [];
  for (const name of names) {
    const field = byName.get(name);
    if (!field) {
      continue;
    }
    const hidden = field.fieldClass !== undefined && !maySee(principal, field.fieldClass);
    if (hidden || (definition.drop_direct_identifiers && field.direct)) {
      withheld.push(name);
      continue;
    }
    columns.push({
      name,
      type: field.type,
      description: field.description,
      value: field.value,
      column: field.column,
      pseudonym: definition.pseudonymise && field.pseudonym === true,
    });
  }
  return columns;
}

/** The filter as SQL; refused, naming the problem, like the DCI search refuses its criteria. */
export function compileFilter(filter: unknown, entity: Entity, principal: Principal): Where {
  if (filter === null || filter === undefined || Object.keys(filter).length === 0) {
    return sql<boolean>`true`;
  }
  try {
    const { condition } = parseExpression({ value: { expression: { query: filter } } });
    return compileCondition(condition, entity, principal);
  } catch (error) {
    if (error instanceof DciError) {
      throw badRequest(`invalid filter: ${error.message}`, [{ pointer: '/filter', detail: error.message }]);
    }
    throw error;
  }
}
