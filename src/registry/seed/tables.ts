/**
 * The rows of each registry table as CSV lines for COPY (migrations/0001_registry.sql). Each table is
 * declared as column name -> field encoder, so the COPY column list and the fields of a line cannot drift
 * apart. Timestamps the database would default to now() are taken from the generated dates instead, so
 * that a seed describes the same registry on every run.
 */
import { formatDay, formatTimestamp, SETUP_DAY } from './calendar.ts';
import type { SeedConsent } from './consents.ts';
import { csvArray, csvBool, csvJson, csvNumber, csvText } from './csv.ts';
import type { PlantedDuplicate } from './duplicates.ts';
import type { Enrollment, StatusChange } from './enrollments.ts';
import { type AdminArea, boundaryOf } from './geography.ts';
import type { Household } from './households.ts';
import type { Person } from './members.ts';
import type { Program } from './programs.ts';

/** A table's COPY column list and the encoder of one row as a CSV line. */
export interface CsvTable<Row> {
  columns: readonly string[];
  line(row: Row): string;
}

function csvTable<Row>(fields: Record<string, (row: Row) => string>): CsvTable<Row> {
  const encoders = Object.values(fields);
  // One array reused for every row: Array.join builds a flat string in one pass, where += would leave a
  // rope of small strings per line for the garbage collector (it doubled generation time).
  const values = new Array<string>(encoders.length);
  return {
    columns: Object.keys(fields),
    line: (row) => {
      for (let i = 0; i < encoders.length; i++) {
        values[i] = encoders[i]!(row);
      }
      return values.join(',') + '\n';
    },
  };
}

const SETUP_AT = formatTimestamp(SETUP_DAY, 9 * 3600);
const optionalDay = (day: number | null) => (day === null ? '' : formatDay(day));

export const adminAreas = csvTable<AdminArea>({
  code: (a) => a.code,
  name: (a) => csvText(a.name),
  level: (a) => String(a.level),
  level_name: (a) => a.levelName,
  parent_code: (a) => csvText(a.parentCode),
  boundary: (a) => csvJson(boundaryOf(a)),
  created_at: () => SETUP_AT,
  updated_at: () => SETUP_AT,
});

export const programs = csvTable<Program>({
  id: (p) => p.id,
  code: (p) => p.code,
  name: (p) => csvText(p.name),
  description: (p) => csvText(p.description),
  benefit_type: (p) => p.benefitType,
  target_unit: (p) => p.targetUnit,
  benefit_frequency: (p) => p.frequency,
  currency: (p) => p.currency,
  exclusion_groups: (p) => csvArray(p.exclusionGroups),
  active: () => 't',
  created_at: () => SETUP_AT,
  updated_at: () => SETUP_AT,
});

const registeredAt = (h: Household) => formatTimestamp(h.registeredDay, h.registeredSecond);

export const households = csvTable<Household>({
  id: (h) => h.id,
  household_number: (h) => h.number,
  group_type: () => 'household',
  status: (h) => h.status,
  admin_area_code: (h) => h.village.code,
  latitude: (h) => String(h.point[1]),
  longitude: (h) => String(h.point[0]),
  address_line: (h) => csvText(h.addressLine),
  locality: (h) => csvText(h.village.name),
  pmt_score: (h) => h.pmt.toFixed(2),
  income_band: (h) => h.incomeBand,
  dwelling_type: (h) => h.dwelling,
  water_source: (h) => h.water,
  has_electricity: (h) => csvBool(h.electricity),
  assets: (h) => csvArray(h.assets),
  registered_at: registeredAt,
  updated_at: registeredAt,
});

const personRegisteredAt = (p: Person) => formatTimestamp(p.registeredDay, p.registeredSecond);

export const individuals = csvTable<Person>({
  id: (p) => p.id,
  household_id: (p) => p.householdId,
  relationship_to_head: (p) => p.relationship,
  given_name: (p) => csvText(p.givenName),
  middle_name: (p) => csvText(p.middleName),
  family_name: (p) => csvText(p.familyName),
  sex: (p) => p.sex,
  birth_date: (p) => formatDay(p.birthDay),
  phone: (p) => csvText(p.phone),
  marital_status: (p) => csvText(p.marital),
  disability: (p) => csvBool(p.disability !== null),
  disability_type: (p) => csvText(p.disability),
  is_deceased: (p) => csvBool(p.deceasedDay !== null),
  deceased_date: (p) => optionalDay(p.deceasedDay),
  consent_data_sharing: (p) => csvBool(p.consentSharing),
  consent_contact: (p) => csvBool(p.consentContact),
  // The registry keeps deceased persons, marked inactive, rather than deleting them.
  status: (p) => (p.deceasedDay === null ? 'active' : 'inactive'),
  registered_at: personRegisteredAt,
  updated_at: personRegisteredAt,
});

export const identifiers = csvTable<{ person: Person; type: string; value: string; issuedBy: string }>({
  individual_id: (i) => i.person.id,
  id_type: (i) => i.type,
  id_value: (i) => csvText(i.value),
  issued_by: (i) => csvText(i.issuedBy),
});

/** The identifier lines of a person (none, one or several). */
export const identifierLines = (person: Person): string =>
  person.identifiers.map((id) => identifiers.line({ person, ...id })).join('');

/** Withdrawals were recorded by phone, mid-morning (the seed's own clock: no officer recorded them). */
const withdrawn = <T>(c: SeedConsent, value: (day: number) => T) =>
  c.withdrawnDay === null ? '' : value(c.withdrawnDay);

export const consents = csvTable<SeedConsent>({
  id: (c) => c.id,
  individual_id: (c) => c.person.id,
  purpose: (c) => c.purpose,
  granted_at: (c) => personRegisteredAt(c.person),
  channel: (c) => c.channel,
  recorded_by: () => 'seed',
  withdrawn_at: (c) => withdrawn(c, (day) => formatTimestamp(day, 10 * 3600)),
  withdrawal_channel: (c) => withdrawn(c, () => 'phone'),
  withdrawal_recorded_by: (c) => withdrawn(c, () => 'seed'),
});

const changedAt = (change: StatusChange) => formatTimestamp(change.day, change.second);

export const enrollments = csvTable<Enrollment>({
  id: (e) => e.id,
  program_id: (e) => e.program.id,
  household_id: (e) => csvText(e.householdId),
  individual_id: (e) => csvText(e.individualId),
  program_beneficiary_id: (e) => e.beneficiaryId,
  status: (e) => e.status,
  status_reason: (e) => csvText(e.reason),
  enrolled_at: (e) => formatDay(e.enrolledDay),
  benefit_amount: (e) => e.amount.toFixed(2),
  currency: (e) => e.program.currency,
  payment_method: (e) => csvText(e.paymentMethod),
  payment_account: (e) => csvText(e.paymentAccount),
  last_payment_at: (e) => optionalDay(e.lastPaymentDay),
  created_at: (e) => changedAt(e.changes[0]!),
  updated_at: (e) => changedAt(e.changes.at(-1)!),
});

export const statusHistory = csvTable<{ enrollment: Enrollment; change: StatusChange }>({
  enrollment_id: (h) => h.enrollment.id,
  from_status: (h) => csvText(h.change.from),
  to_status: (h) => h.change.to,
  reason: (h) => csvText(h.change.reason),
  changed_at: (h) => changedAt(h.change),
  // Marks the changes as generated: no officer made them.
  changed_by: () => 'seed',
});

/** The status history lines of an enrollment, oldest first. */
export const historyLines = (enrollment: Enrollment): string =>
  enrollment.changes.map((change) => statusHistory.line({ enrollment, change })).join('');

export const plantedDuplicates = csvTable<PlantedDuplicate>({
  original_id: (d) => d.originalId,
  duplicate_id: (d) => d.duplicateId,
  variation: (d) => csvText(d.variation),
});

export const seedRuns = csvTable<{ seed: number; households: number; individuals: number; tookMs: number }>({
  seed: (r) => csvNumber(r.seed),
  households: (r) => csvNumber(r.households),
  individuals: (r) => csvNumber(r.individuals),
  took_ms: (r) => csvNumber(Math.round(r.tookMs)),
});
