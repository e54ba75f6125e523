import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { isRecognisedPurpose, unrecognisedPurpose } from '#registry/consent/purposes';
import type { AreaScope } from '#registry/scope';
import type { HouseholdChange, Issue, MemberChange, RegistryChange } from './model.ts';

/**
 * Validation of a registry change, and its conversion to column values. Every problem is an
 * `error` issue with a JSON pointer into the change (`/members/1/birth_date`), so a rejection says
 * exactly what to fix. The registry's own constraints (enums, ranges) are checked here first, so a
 * change that passes can be written without a database error.
 */

export interface HouseholdValues {
  admin_area_code?: string;
  address_line?: string | null;
  locality?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  dwelling_type?: string | null;
  water_source?: string | null;
  has_electricity?: boolean | null;
  group_type?: string;
}

export interface MemberValues {
  person_id?: string;
  given_name?: string;
  middle_name?: string | null;
  family_name?: string;
  sex?: string;
  birth_date?: string | null;
  relationship_to_head?: string;
  phone?: string | null;
  marital_status?: string | null;
  disability?: boolean;
  disability_type?: string | null;
  identifiers: { type: string; value: string }[];
  /** Consent purposes to record for the member. */
  consents: string[];
}

export interface Checked {
  household: HouseholdValues;
  members: MemberValues[];
  issues: Issue[];
  /** The household's admin area after the change (where duplicates are looked for). */
  area?: string;
}

const ENUMS: Record<string, readonly string[]> = {
  dwelling_type: ['permanent', 'semi_permanent', 'temporary', 'informal'],
  water_source: ['piped', 'well', 'borehole', 'surface', 'vendor'],
  group_type: ['household', 'family', 'community'],
  sex: ['male', 'female', 'other', 'unknown'],
  marital_status: ['single', 'married', 'divorced', 'widowed', 'separated'],
};
const TRUE = new Set(['yes', 'true', '1', 'y']);
const FALSE = new Set(['no', 'false', '0', 'n']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Converts text values one field at a time, collecting an issue for each bad one. */
class Reader {
  readonly issues: Issue[] = [];

  error(pointer: string, detail: string, code = 'invalid'): undefined {
    this.issues.push({ code, severity: 'error', pointer, detail });
    return undefined;
  }

  text(pointer: string, value: string | undefined, max: number): string | null | undefined {
    if (value === undefined) {
      return undefined;
    }
    return value.length > max ? this.error(pointer, `at most ${max} characters`) : value;
  }

  required(pointer: string, value: string | undefined, max: number): string | undefined {
    return value ? (this.text(pointer, value, max) ?? undefined) : this.error(pointer, 'required', 'missing');
  }

  oneOf(pointer: string, name: string, value: string | undefined): string | undefined {
    if (value === undefined) {
      return undefined;
    }
    const allowed = ENUMS[name]!;
    return allowed.includes(value) ? value : this.error(pointer, `must be one of ${allowed.join(', ')}`);
  }

  boolean(pointer: string, value: string | undefined): boolean | undefined {
    if (value === undefined) {
      return undefined;
    }
    const lower = value.toLowerCase();
    return TRUE.has(lower) ? true : FALSE.has(lower) ? false : this.error(pointer, 'must be yes or no');
  }

  number(pointer: string, value: string | undefined, min: number, max: number): number | undefined {
    if (value === undefined) {
      return undefined;
    }
    const number = Number(value);
    return Number.isFinite(number) && number >= min && number <= max
      ? number
      : this.error(pointer, `must be a number from ${min} to ${max}`);
  }

  date(pointer: string, value: string | undefined, today: string): string | undefined {
    if (value === undefined) {
      return undefined;
    }
    const date = value.slice(0, 10);
    const valid = /^\d{4}-\d{2}-\d{2}$/.test(date) && !Number.isNaN(Date.parse(`${date}T00:00:00Z`));
    if (!valid || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) {
      return this.error(pointer, 'must be a date (YYYY-MM-DD)');
    }
    if (date > today || date < '1900-01-01') {
      return this.error(pointer, 'must be between 1900-01-01 and today');
    }
    return date;
  }
}

const defined = <T extends object>(values: T): T =>
  Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as T;

function readHousehold(read: Reader, household: HouseholdChange, registration: boolean): HouseholdValues {
  const at = (name: string) => `/household/${name}`;
  const area = registration
    ? read.required(at('admin_area_code'), household.admin_area_code, 40)
    : (read.text(at('admin_area_code'), household.admin_area_code, 40) ?? undefined);
  return defined({
    admin_area_code: area,
    address_line: read.text(at('address_line'), household.address_line, 300),
    locality: read.text(at('locality'), household.locality, 200),
    latitude: read.number(at('latitude'), household.latitude, -90, 90),
    longitude: read.number(at('longitude'), household.longitude, -180, 180),
    dwelling_type: read.oneOf(at('dwelling_type'), 'dwelling_type', household.dwelling_type),
    water_source: read.oneOf(at('water_source'), 'water_source', household.water_source),
    has_electricity: read.boolean(at('has_electricity'), household.has_electricity),
    group_type: read.oneOf(at('group_type'), 'group_type', household.group_type),
  });
}

function readMember(read: Reader, member: MemberChange, n: number, today: string): MemberValues {
  const at = (name: string) => `/members/${n}/${name}`;
  const isNew = member.person_id === undefined;
  if (member.person_id !== undefined && !UUID.test(member.person_id)) {
    read.error(at('person_id'), 'must be the id (UUID) of a member of the household');
  }
  const need = (name: keyof MemberChange, max: number) =>
    isNew
      ? read.required(at(name), member[name] as string | undefined, max)
      : (read.text(at(name), member[name] as string | undefined, max) ?? undefined);
  const relationship = need('relationship_to_head', 20);
  if (relationship !== undefined && !/^[A-Z]{2,12}$/.test(relationship)) {
    read.error(at('relationship_to_head'), 'must be a DCI relationship code (SELF, SPS, CHILD ...)');
  }
  const phone = read.text(at('phone'), member.phone, 20);
  if (phone && !/^\+?[0-9 ]{4,20}$/.test(phone)) {
    read.error(at('phone'), 'digits, optionally starting with +');
  }
  const consents = [...new Set(member.consents ?? [])];
  for (const purpose of consents.filter((code) => !isRecognisedPurpose(code))) {
    read.error(at('consents'), unrecognisedPurpose(purpose), 'unknown_purpose');
  }
  member.identifiers.forEach((identifier, k) => {
    if (!/^[A-Za-z0-9_.:-]{1,40}$/.test(identifier.type) || identifier.value.length > 100) {
      read.error(
        `/members/${n}/identifiers/${k}`,
        'an identifier type of letters and digits, a value of at most 100 characters',
      );
    }
  });
  return defined({
    person_id: member.person_id,
    given_name: need('given_name', 100),
    middle_name: read.text(at('middle_name'), member.middle_name, 100),
    family_name: need('family_name', 100),
    sex:
      isNew && member.sex === undefined
        ? read.error(at('sex'), 'required', 'missing')
        : read.oneOf(at('sex'), 'sex', member.sex),
    birth_date: read.date(at('birth_date'), member.birth_date, today),
    relationship_to_head: relationship,
    phone,
    marital_status: read.oneOf(at('marital_status'), 'marital_status', member.marital_status),
    disability: read.boolean(at('disability'), member.disability),
    disability_type: read.text(at('disability_type'), member.disability_type, 100),
    identifiers: member.identifiers,
    consents,
  });
}

const inScope = (code: string, scope: AreaScope) =>
  scope === undefined || scope.some((s) => code === s || code.startsWith(`${s}-`));

/** Rules over the whole change: consent, one head, the area, the household and members it names. */
async function checkWhole(
  db: Kysely<DB>,
  change: RegistryChange,
  checked: Checked,
  read: Reader,
  scope: AreaScope,
) {
  const registration = change.household_id === undefined;
  if (registration && change.consent === false) {
    read.error('/consent', 'the household did not consent to being registered', 'no_consent');
  }
  if (registration && checked.members.length === 0) {
    read.error('/members', 'a household is registered with at least one member', 'missing');
  }
  const heads = checked.members.filter((m) => m.relationship_to_head === 'SELF').length;
  if (registration && heads !== 1) {
    read.error('/members', `exactly one member must be the head of household (SELF), not ${heads}`, 'head');
  }
  const seen = new Set<string>();
  checked.members.forEach((member, n) =>
    member.identifiers.forEach((identifier, k) => {
      const key = `${identifier.type}:${identifier.value}`;
      if (seen.has(key)) {
        read.error(
          `/members/${n}/identifiers/${k}`,
          `${identifier.type} ${identifier.value} is given twice`,
          'duplicate_identifier',
        );
      }
      seen.add(key);
    }),
  );
  const area = checked.household.admin_area_code;
  checked.area = area;
  if (area !== undefined) {
    const known = await db
      .selectFrom('admin_areas')
      .select('code')
      .where('code', '=', area)
      .executeTakeFirst();
    if (!known) {
      read.error('/household/admin_area_code', `no admin area has the code ${area}`, 'unknown_area');
    } else if (!inScope(area, scope)) {
      read.error('/household/admin_area_code', `${area} is outside your areas`, 'out_of_scope');
    }
  }
  if (!registration) {
    await checkUpdateTarget(db, change.household_id!, checked, read, scope);
  }
}

async function checkUpdateTarget(
  db: Kysely<DB>,
  householdId: string,
  checked: Checked,
  read: Reader,
  scope: AreaScope,
) {
  const household = UUID.test(householdId)
    ? await db
        .selectFrom('households')
        .select(['id', 'admin_area_code'])
        .where('id', '=', householdId)
        .executeTakeFirst()
    : undefined;
  if (!household || !inScope(household.admin_area_code, scope)) {
    read.error('/household_id', `no household ${householdId} within your areas`, 'unknown_household');
    return;
  }
  checked.area ??= household.admin_area_code;
  const ids = checked.members.flatMap((m) => (m.person_id && UUID.test(m.person_id) ? [m.person_id] : []));
  if (ids.length === 0) {
    return;
  }
  const members = new Set(
    (
      await db
        .selectFrom('individuals')
        .select('id')
        .where('household_id', '=', household.id)
        .where('id', 'in', ids)
        .execute()
    ).map((r) => r.id),
  );
  checked.members.forEach((member, n) => {
    if (member.person_id && UUID.test(member.person_id) && !members.has(member.person_id)) {
      read.error(
        `/members/${n}/person_id`,
        `${member.person_id} is not a member of household ${householdId}`,
        'unknown_member',
      );
    }
  });
}

/** Checks a change for the caller's areas; `issues` holds every error (none: it can be applied). */
export async function validateChange(
  db: Kysely<DB>,
  change: RegistryChange,
  scope: AreaScope,
  today = new Date().toISOString().slice(0, 10),
): Promise<Checked> {
  const read = new Reader();
  const registration = change.household_id === undefined;
  const checked: Checked = {
    household: readHousehold(read, change.household, registration),
    members: change.members.map((member, n) => readMember(read, member, n, today)),
    issues: read.issues,
  };
  await checkWhole(db, change, checked, read, scope);
  return checked;
}
