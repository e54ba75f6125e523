import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import type { AuditNote, Lookups } from '#platform/http/types';
import { forbidden } from '#platform/problem';
import { policyOf } from '#security/policy/enforce';
import { findPolicy } from '#security/policy/queries';
import { refusal } from '#security/policy/rules';
import { enrollmentsByIds, householdsByIds, individualsByIds, membersOfHouseholds } from '#dci/query/queries';
import { listPrograms } from '#registry/queries';
import {
  enrollmentView,
  householdView,
  individualView,
  type EnrollmentRow,
  type HouseholdRow,
  type IndividualRow,
} from '#registry/views';
import { enrollmentsOfBeneficiaries } from './queries.ts';

/**
 * What the resolvers of one GraphQL request share: the caller, batched loaders (one query per
 * level of the response rather than one per record), the records returned (for the audit entry),
 * the keys looked up (for the anomaly guard) and the fields withheld. Made anew for each request,
 * so nothing is cached across callers.
 */

/** A record as the schema reads it: the policy's view of a row, with camelCase keys. */
export type Graph = Record<string, unknown>;

type Program = Awaited<ReturnType<typeof listPrograms>>[number];
interface Person {
  id: string;
  householdId: string;
}

export interface GraphContext {
  db: Kysely<DB>;
  principal: Principal;
  /** The operation the request names (limits.ts prices that one). */
  operationName: string | undefined;
  households: DataLoader<string, HouseholdRow | undefined>;
  individuals: DataLoader<string, IndividualRow | undefined>;
  enrollments: DataLoader<string, EnrollmentRow | undefined>;
  members: DataLoader<string, IndividualRow[]>;
  householdEnrollments: DataLoader<string, EnrollmentRow[]>;
  personEnrollments: DataLoader<Person, EnrollmentRow[], string>;
  program(id: string): Promise<Graph | undefined>;
  programs(): Promise<Graph[]>;
  /**
   * Whether the caller's data sharing agreement covers the IBR, whose records enrollments are. When
   * it does not, the first call throws the refusal (403, one error in the answer) and later ones
   * answer false (the field is null without a further error).
   */
  mayReadIbr(): Promise<boolean>;
  household(row: HouseholdRow): Graph;
  individual(row: IndividualRow): Graph;
  enrollment(row: EnrollmentRow): Graph;
  /** A record looked up by key (an id, a typed identifier), found or not. */
  lookedUp(key: string, found: boolean): void;
  /** Fields (Type.field) already reported as withheld in this response. */
  withheld: Set<string>;
  auditNote(): AuditNote;
  lookups(): Lookups | undefined;
}

const byKey = <K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): (R | undefined)[] => {
  const map = new Map(rows.map((row) => [keyOf(row), row]));
  return keys.map((key) => map.get(key));
};

/** Rows by the parent they belong to (rows without one are left out). */
function groupBy<R>(rows: readonly R[], parentOf: (row: R) => string | null): Map<string, R[]> {
  const groups = new Map<string, R[]>();
  for (const row of rows) {
    const parent = parentOf(row);
    if (parent !== null) {
      const group = groups.get(parent);
      if (group) {
        group.push(row);
      } else {
        groups.set(parent, [row]);
      }
    }
  }
  return groups;
}

const inEnrollmentOrder = (a: EnrollmentRow, b: EnrollmentRow) =>
  a.enrolled_at.localeCompare(b.enrolled_at) || a.id.localeCompare(b.id);

/**
 * Keys a loader reads at once: the members of 500 households were one query of some 2,500 rows that
 * PGlite (on our thread) took over 100 ms for, in which no other request was served
 * (platform/http/long-reads.ts). A larger list is read in several queries.
 */
const BATCHES = { maxBatchSize: 50 };

/** The camelCase of each snake_case key seen (few distinct keys, met for every record). */
const camelKeys = new Map<string, string>();
const camelKey = (key: string): string => {
  let camel = camelKeys.get(key);
  if (camel === undefined) {
    camel = key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    camelKeys.set(key, camel);
  }
  return camel;
};

/** snake_case keys to camelCase, deeply (views nest consent, program, history). */
function camelCase(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(camelCase);
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const result: Graph = {};
  for (const [key, item] of Object.entries(value)) {
    result[camelKey(key)] = camelCase(item);
  }
  return result;
}

export function createContext(
  db: Kysely<DB>,
  principal: Principal,
  operationName: string | undefined,
): GraphContext {
  const scope = principal.areaScope;
  // Returned records, by `type:id`: counted once however often the response repeats them.
  const returned = new Map<string, string>();
  const lookupKeys: string[] = [];
  let found = 0;
  const shaped = (type: string, id: string, view: object): Graph => {
    returned.set(`${type}:${id}`, id);
    return camelCase(view) as Graph;
  };
  let programs: Promise<Map<string, Graph>> | undefined;
  const allPrograms = () =>
    (programs ??= listPrograms(db).then(
      (rows) => new Map(rows.map((row: Program) => [row.id, shaped('program', row.id, row)])),
    ));
  let ibr: Promise<string | undefined> | undefined;
  let ibrRefusalSent = false;

  return {
    db,
    principal,
    operationName,
    households: new DataLoader(
      async (ids) => byKey(ids, await householdsByIds(db, ids, scope), (row) => row.id),
      BATCHES,
    ),
    individuals: new DataLoader(
      async (ids) => byKey(ids, await individualsByIds(db, ids, scope), (row) => row.id),
      BATCHES,
    ),
    enrollments: new DataLoader(
      async (ids) => byKey(ids, await enrollmentsByIds(db, ids, scope), (row) => row.id),
      BATCHES,
    ),
    // The parents were read within the caller's scope: their members and enrollments are within it too.
    members: new DataLoader(async (ids) => {
      const groups = groupBy(await membersOfHouseholds(db, ids), (row) => row.household_id);
      return ids.map((id) => groups.get(id) ?? []);
    }, BATCHES),
    householdEnrollments: new DataLoader(async (ids) => {
      const rows = await enrollmentsOfBeneficiaries(db, { individualIds: [], householdIds: ids });
      const groups = groupBy(rows, (row) => row.household_id);
      return ids.map((id) => groups.get(id) ?? []);
    }, BATCHES),
    // A person's enrollments are their own and their household's, as in the REST API.
    personEnrollments: new DataLoader(
      async (persons) => {
        const rows = await enrollmentsOfBeneficiaries(db, {
          individualIds: persons.map((p) => p.id),
          householdIds: [...new Set(persons.map((p) => p.householdId))],
        });
        const own = groupBy(rows, (row) => row.individual_id);
        const households = groupBy(rows, (row) => row.household_id);
        return persons.map((p) =>
          [...(own.get(p.id) ?? []), ...(households.get(p.householdId) ?? [])].sort(inEnrollmentOrder),
        );
      },
      { ...BATCHES, cacheKeyFn: (person) => person.id },
    ),
    program: async (id) => (await allPrograms()).get(id),
    programs: async () => [...(await allPrograms()).values()],
    mayReadIbr: async () => {
      ibr ??= findPolicy(db, principal.clientId).then(
        (row) => row && refusal(policyOf(row), { action: 'graphql.query', registry: 'ibr', now: Date.now() }),
      );
      const refused = await ibr;
      if (refused && !ibrRefusalSent) {
        ibrRefusalSent = true;
        throw forbidden(refused);
      }
      return refused === undefined;
    },
    household: (row) => shaped('household', row.id, householdView(row, principal)),
    individual: (row) => shaped('individual', row.id, individualView(row, principal)),
    enrollment: (row) => shaped('enrollment', row.id, enrollmentView(row, principal)),
    lookedUp: (key, wasFound) => {
      lookupKeys.push(key);
      found += wasFound ? 1 : 0;
    },
    withheld: new Set(),
    auditNote: () => ({
      recordCount: returned.size,
      // Registry records only: programs are not personal data.
      subjectIds: [...returned].filter(([key]) => !key.startsWith('program:')).map(([, id]) => id),
    }),
    lookups: () => (lookupKeys.length > 0 ? { keys: lookupKeys, found } : undefined),
  };
}
