import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { lookupRefusal } from '#registry/views';
import { codeOf, ENROLLMENT_STATUS } from '../codes.ts';
import { readEnvelope, timestamp, type Receiver, type RequestHeader } from '../envelope.ts';
import { invalidCriteria, isObject, parseIdTypeValue, QUERY_LIMITS, type Test } from '../query/condition.ts';
import { dateTime } from '../records.ts';
import { validateRequest } from '../spec.ts';
import {
  enrollmentsOfPerson,
  programmeNames,
  type PersonEnrollment,
  type PersonIdentifier,
} from './queries.ts';

/**
 * IBR `/registry/sync/enrolled`: is this person a beneficiary, and of which programmes? Request
 * `EnrolledRequest` (enrolled_criteria: query_type, response_entity, query); response the bare
 * `EnrolledResponse` the spec declares as the default response (no envelope: reference README,
 * known defects). The request carries no reference ids, so each answer item is named by the
 * programme it is about (reference_id = programme code) and carries, beside the spec's
 * `enrolled_status`, the IBR Beneficiary properties `programme_identifier`, `enrollment_status`
 * and `enrollment_date` (extension properties: the item schema allows them).
 */

export const SYNC_ENROLLED = '/registry/sync/enrolled';

interface EnrolledRequestMessage {
  transaction_id: string;
  enrolled_criteria: { query_type?: string; response_entity?: 'Group' | 'Member'; query?: unknown };
}

export interface ParsedEnrolled {
  header: RequestHeader;
  transactionId: string;
  person: PersonIdentifier;
  /** Programme codes asked about; all the person's programmes when absent. */
  programmes?: string[] | undefined;
  /** Member: the person's own enrollments and their household's; Group: the household's only. */
  unit: 'Member' | 'Group';
}

/** The spec's example names the programme both ways (`programme` and `program`). */
const PROGRAMME_KEYS = new Set([
  'programme_identifier',
  'programme_identifier.programme.programme_identifier',
  'programme_identifier.program.programme_identifier',
]);
/** Beneficiaries now: suspended ones are still enrolled; graduated and exited ones are not. */
const CURRENT = new Set(['enrolled', 'suspended']);

export function parseEnrolled(body: unknown, receiver: Receiver, principal: Principal): ParsedEnrolled {
  const operation = { registry: 'ibr' as const, path: SYNC_ENROLLED };
  const { header, message } = readEnvelope<EnrolledRequestMessage>(
    body,
    validateRequest(operation, body),
    'enrolled_criteria',
    receiver,
  );
  const criteria = message.enrolled_criteria;
  const refused = lookupRefusal(principal, 'identifier', 'person identifier');
  if (refused) {
    throw invalidCriteria(refused);
  }
  const parsed = parseQuery(criteria.query_type, criteria.query);
  return {
    header,
    transactionId: message.transaction_id,
    ...parsed,
    unit: criteria.response_entity ?? 'Member',
  };
}

function parseQuery(queryType: string | undefined, query: unknown) {
  switch (queryType) {
    case 'idtype-value': {
      const test = parseIdTypeValue(query) as Test;
      return { person: { type: test.attribute, value: String(test.value) } };
    }
    case 'expression':
    case undefined:
      return parseExpression(query);
    default:
      throw invalidCriteria(`query_type "${queryType}" is not supported here (idtype-value, expression)`);
  }
}

/** The spec's form: `{ person_identifier: { eq: v }, "programme_identifier...": { eq | in: ... } }`. */
function parseExpression(query: unknown): Pick<ParsedEnrolled, 'person' | 'programmes'> {
  if (!isObject(query)) {
    throw invalidCriteria('the query is { "person_identifier": { "eq": <identifier> }, ... }');
  }
  let value: string | undefined;
  let programmes: string[] | undefined;
  for (const [key, spec] of Object.entries(query)) {
    if (key === 'person_identifier') {
      value = valuesOf(spec, key, false)[0];
    } else if (PROGRAMME_KEYS.has(key)) {
      programmes = [...new Set(valuesOf(spec, key, true))];
    } else {
      throw invalidCriteria(
        `unknown attribute "${key.slice(0, 60)}" (person_identifier, ${[...PROGRAMME_KEYS][1]})`,
      );
    }
  }
  if (value === undefined) {
    throw invalidCriteria('the query must name a person_identifier');
  }
  return { person: { value }, programmes };
}

/** `v`, `{ eq: v }`, or (lists only) `{ in: [v, ...] }`, each v a non-empty string. */
function valuesOf(spec: unknown, key: string, list: boolean): string[] {
  const operand = isObject(spec) ? (spec['eq'] ?? (list ? spec['in'] : undefined)) : spec;
  const values = Array.isArray(operand) ? operand : [operand];
  const fits =
    values.length > 0 &&
    values.length <= QUERY_LIMITS.values &&
    values.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 200);
  if (!fits || (isObject(spec) && Object.keys(spec).length !== 1)) {
    throw invalidCriteria(`${key} takes { "eq": <string> }${list ? ' or { "in": [<string>, ...] }' : ''}`);
  }
  return values as string[];
}

export interface EnrolledItem {
  reference_id: string;
  timestamp: string;
  status: 'succ';
  enrolled_status: 'yes' | 'no';
  programme_identifier?: { programme_identifier: string; programme_name?: string }[];
  enrollment_status?: string;
  enrollment_date?: string;
}

export interface EnrolledResponse {
  transaction_id: string;
  correlation_id: string;
  enrolled_response: EnrolledItem[];
}

/** One item per programme asked about (or, when none is named, per programme the person is in). */
export async function answerEnrolled(
  parsed: ParsedEnrolled,
  ctx: { db: Kysely<DB>; receiver: Receiver; correlationId: string; principal: Principal },
): Promise<{ body: EnrolledResponse; recordCount: number }> {
  const rows = await enrollmentsOfPerson(ctx.db, parsed.person, {
    own: parsed.unit === 'Member',
    household: true,
    programmes: parsed.programmes,
    areas: ctx.principal.areaScope,
  });
  const best = bestByProgramme(rows);
  const codes = parsed.programmes ?? [...best.keys()];
  const names = await programmeNames(
    ctx.db,
    codes.filter((code) => !best.has(code)),
  );
  const at = timestamp(ctx.receiver);
  const items = codes.map((code) => itemOf(code, at, best.get(code), names.get(code)));
  return {
    body: {
      transaction_id: parsed.transactionId,
      correlation_id: ctx.correlationId,
      enrolled_response: items.length
        ? items
        : [{ reference_id: parsed.transactionId, timestamp: at, status: 'succ', enrolled_status: 'no' }],
    },
    recordCount: best.size,
  };
}

/** Per programme, the enrollment that says most: a current one before an ended one. */
function bestByProgramme(rows: PersonEnrollment[]): Map<string, PersonEnrollment> {
  const rank = (row: PersonEnrollment) =>
    ['enrolled', 'suspended', 'graduated', 'exited'].indexOf(row.status);
  const best = new Map<string, PersonEnrollment>();
  for (const row of rows) {
    const kept = best.get(row.program_code);
    if (!kept || rank(row) < rank(kept)) {
      best.set(row.program_code, row);
    }
  }
  return best;
}

function itemOf(code: string, at: string, row: PersonEnrollment | undefined, name: string | undefined) {
  const programme_name = row?.program_name ?? name;
  const item: EnrolledItem = {
    reference_id: code,
    timestamp: at,
    status: 'succ',
    enrolled_status: row && CURRENT.has(row.status) ? 'yes' : 'no',
    programme_identifier: [{ programme_identifier: code, ...(programme_name ? { programme_name } : {}) }],
  };
  if (row) {
    item.enrollment_status = codeOf(ENROLLMENT_STATUS, row.status);
    item.enrollment_date = dateTime(row.enrolled_at);
  }
  return item;
}
