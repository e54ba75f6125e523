import type { LightMyRequestResponse } from 'fastify';
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import type { DB } from '#platform/db/types';
import { insertArea, insertHousehold, insertIndividual } from '#test/factories';
import { validateResponse, type Registry } from '#dci/spec';

/**
 * A small registry for the DCI stories: six households in two regions.
 *   A  R01-D01  PMT 3.8   Amina (head, UIN-A1), Joseph (child, 2012, BRN-A2)
 *   B  R01-D01  PMT 12.5  Baraka (head, UIN-B1), Neema (spouse, UIN-B2), Zawadi (child, 2005)
 *   C  R01-D02  PMT 30    Halima (head, 1950, UIN-C1)
 *   D  R01-D02  PMT 55    Juma (head, UIN-D1), Rehema (spouse)
 *   E  R02-D01  PMT 4.5   Said (head, UIN-E1)
 *   F  R02-D01  PMT 70    Mwanaisha (head, UIN-F1)
 */
export interface Registry6 {
  households: Record<'A' | 'B' | 'C' | 'D' | 'E' | 'F', string>;
  persons: Record<string, string>;
}

export async function seedRegistry(db: Kysely<DB>): Promise<Registry6> {
  await insertArea(db, 'R01');
  await insertArea(db, 'R01-D02', 'R01');
  await insertArea(db, 'R02');
  await insertArea(db, 'R02-D01', 'R02');
  const household = (number: string, area: string, pmt: number) =>
    insertHousehold(db, { household_number: `HH-${number}`, admin_area_code: area, pmt_score: pmt });
  const households = {
    A: await household('A', 'R01-D01', 3.8),
    B: await household('B', 'R01-D01', 12.5),
    C: await household('C', 'R01-D02', 30),
    D: await household('D', 'R01-D02', 55),
    E: await household('E', 'R02-D01', 4.5),
    F: await household('F', 'R02-D01', 70),
  };
  const person = (
    h: string,
    given: string,
    sex: string,
    birth: string,
    rel: string,
    ids: { type: string; value: string }[],
  ) =>
    insertIndividual(
      db,
      h,
      {
        given_name: given,
        family_name: 'Mushi',
        sex,
        birth_date: birth,
        relationship_to_head: rel,
        marital_status: rel === 'CHILD' ? 'single' : 'married',
      },
      ids,
    );
  const uin = (value: string) => [{ type: 'UIN', value }];
  const persons = {
    amina: await person(households.A, 'Amina', 'female', '1985-05-20', 'SELF', uin('UIN-A1')),
    joseph: await person(households.A, 'Joseph', 'male', '2012-09-22', 'CHILD', [
      { type: 'BRN', value: 'BRN-A2' },
    ]),
    baraka: await person(households.B, 'Baraka', 'male', '1970-01-10', 'SELF', uin('UIN-B1')),
    neema: await person(households.B, 'Neema', 'female', '1972-03-03', 'SPS', uin('UIN-B2')),
    zawadi: await person(households.B, 'Zawadi', 'female', '2005-06-06', 'CHILD', []),
    halima: await person(households.C, 'Halima', 'female', '1950-02-02', 'SELF', uin('UIN-C1')),
    juma: await person(households.D, 'Juma', 'male', '1960-07-07', 'SELF', uin('UIN-D1')),
    rehema: await person(households.D, 'Rehema', 'female', '1962-08-08', 'SPS', []),
    said: await person(households.E, 'Said', 'male', '1990-11-11', 'SELF', uin('UIN-E1')),
    mwanaisha: await person(households.F, 'Mwanaisha', 'female', '1988-12-12', 'SELF', uin('UIN-F1')),
  };
  return { households, persons };
}

// Tests read arbitrary DCI JSON by path; `any` keeps those reads short.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type DciJson = Record<string, any>;

export interface ResponseItem {
  reference_id: string;
  status: string;
  status_reason_code?: string;
  status_reason_message?: string;
  data?: { reg_type: string; reg_record_type: string; reg_records: DciJson[] };
  pagination?: { page_size: number; page_number: number; total_count: number };
}

/** The on-search envelope of a response, after checking it against the registry's spec. */
export function onSearch(res: LightMyRequestResponse, registry: Registry = 'social') {
  const body = res.json();
  expect(validateResponse({ registry, path: '/registry/sync/search' }, body)).toEqual([]);
  return body as {
    header: Record<string, unknown>;
    message: { transaction_id: string; correlation_id: string; search_response: ResponseItem[] };
  };
}

/** The items of a successful sync search response (HTTP 200, spec-valid). */
export function itemsOf(res: LightMyRequestResponse, registry: Registry = 'social'): ResponseItem[] {
  expect(res.statusCode, res.body).toBe(200);
  return onSearch(res, registry).message.search_response;
}

/** The household numbers of Group records. */
export const groupNumbers = (item: ResponseItem | undefined): string[] =>
  (item?.data?.reg_records ?? []).map((g) => g['group_identifier'][0].identifier_value as string);

/** Every key anywhere in a JSON value (to prove a field is absent at any depth). */
export function keysDeep(value: unknown): Set<string> {
  const keys = new Set<string>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        keys.add(k);
        walk(inner);
      }
    }
  };
  walk(value);
  return keys;
}
