import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '#test/db';
import { AS_OF, dayOf, yearsBetween } from './calendar.ts';
import { csvArray, csvJson, csvText } from './csv.ts';
import type { Point } from './geography.ts';
import { isRegistryEmpty, RegistryNotEmptyError, seedRegistry, type SeedSummary } from './load.ts';
import { PURPOSE_CODES } from '../consent/purposes.ts';

/** Crossing-number test written here, apart from the generator's sampler it checks. */
function inside([x, y]: Point, ring: Point[]): boolean {
  let crossings = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i]!;
    const [x2, y2] = ring[i + 1]!;
    if (y1 > y !== y2 > y && x < x1 + ((y - y1) / (y2 - y1)) * (x2 - x1)) {
      crossings++;
    }
  }
  return crossings % 2 === 1;
}

/** Map.groupBy arrives with Node 21; the project supports Node 20. */
function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

const count = async (test: TestDatabase, table: string) =>
  (await test.database.executeSql<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;

describe('a seeded registry', () => {
  let test: TestDatabase;
  let summary: SeedSummary;
  const progress: number[] = [];
  beforeAll(async () => {
    test = await createTestDatabase();
    expect(await isRegistryEmpty(test.database)).toBe(true);
    summary = await seedRegistry(test.database, {
      households: 400,
      seed: 7,
      batchSize: 150,
      onProgress: (done) => progress.push(done),
    });
  });
  afterAll(() => test.drop());

  it('holds what the summary reports, and records the run', async () => {
    expect(summary.households).toBe(400);
    expect(await count(test, 'households')).toBe(400);
    expect(await count(test, 'individuals')).toBe(summary.individuals);
    expect(await count(test, 'identifiers')).toBe(summary.identifiers);
    expect(await count(test, 'consents')).toBe(summary.consents);
    expect(await count(test, 'enrollments')).toBe(summary.enrollments);
    expect(await count(test, 'seed_planted_duplicates')).toBe(summary.duplicates);
    expect(progress).toEqual([150, 300, 400]);
    const runs = await test.database.db.selectFrom('seed_runs').selectAll().execute();
    expect(runs).toMatchObject([{ seed: 7, households: 400, individuals: summary.individuals }]);
    expect(await isRegistryEmpty(test.database)).toBe(false);
  });

  it('places every household inside the polygon of its village', async () => {
    const rows = await test.database.db
      .selectFrom('households as h')
      .innerJoin('admin_areas as a', 'a.code', 'h.admin_area_code')
      .select(['h.latitude', 'h.longitude', 'h.address_line', 'a.boundary', 'a.level_name'])
      .execute();
    for (const row of rows) {
      const boundary = row.boundary as { type: string; coordinates: Point[][] };
      expect(row.level_name).toBe('village');
      expect(boundary.type).toBe('Polygon');
      expect(inside([row.longitude!, row.latitude!], boundary.coordinates[0]!)).toBe(true);
    }
    // Address lines hold a comma: they only arrive whole if the CSV quoting is right.
    expect(rows[0]!.address_line).toMatch(/^Plot \d+, Mtaa wa \w+$/);
  });

  it('gives every household exactly one head', async () => {
    const { rows } = await test.database.executeSql<{ heads: number }>(`
      select count(i.id) filter (where i.relationship_to_head = 'SELF')::int as heads
      from households h left join individuals i on i.household_id = h.id group by h.id`);
    expect(rows).toHaveLength(400);
    expect(rows.every((row) => row.heads === 1)).toBe(true);
  });

  it('keeps ages plausible: adult heads, children 15+ years younger than their parents', async () => {
    const people = await test.database.db
      .selectFrom('individuals')
      .select([
        'household_id',
        'relationship_to_head as relation',
        'birth_date',
        'deceased_date',
        'registered_at',
      ])
      .execute();
    const ageOf = (birth: string | null) => yearsBetween(dayOf(birth!), AS_OF);
    const byHousehold = groupBy(people, (p) => p.household_id);
    for (const members of byHousehold.values()) {
      const head = members.find((m) => m.relation === 'SELF')!;
      const parents = members
        .filter((m) => m.relation === 'SELF' || m.relation === 'SPS')
        .map((m) => ageOf(m.birth_date));
      expect(ageOf(head.birth_date)).toBeGreaterThanOrEqual(18);
      for (const member of members) {
        const age = ageOf(member.birth_date);
        expect(age).toBeGreaterThanOrEqual(0);
        expect(age).toBeLessThanOrEqual(100);
        if (member.relation === 'CHILD') {
          expect(Math.min(...parents) - age).toBeGreaterThanOrEqual(15);
        }
        if (member.relation === 'GRPRN') {
          expect(age - ageOf(head.birth_date)).toBeGreaterThanOrEqual(15);
        }
        if (member.deceased_date !== null) {
          expect(member.deceased_date > member.birth_date!).toBe(true);
        }
        expect(member.registered_at.toISOString().slice(0, 10) >= member.birth_date!).toBe(true);
      }
    }
  });

  it('has realistic shares: household size, sexes, disability, deaths, consent', async () => {
    const { rows } = await test.database.executeSql<Record<string, number>>(`
      select avg((sex = 'female')::int)::float as female, avg(disability::int)::float as disabled,
             avg(is_deceased::int)::float as deceased, avg(consent_data_sharing::int)::float as consent,
             (select count(*) from individuals i where not exists
               (select 1 from seed_planted_duplicates d where d.duplicate_id = i.id))::float / 400 as size
      from individuals`);
    const shares = rows[0]!;
    expect(shares['size']).toBeGreaterThan(4.2);
    expect(shares['size']).toBeLessThan(5.3);
    expect(shares['female']).toBeGreaterThan(0.44);
    expect(shares['female']).toBeLessThan(0.56);
    expect(shares['disabled']).toBeGreaterThan(0.015);
    expect(shares['disabled']).toBeLessThan(0.08);
    expect(shares['deceased']).toBeLessThan(0.03);
    expect(shares['consent']).toBeGreaterThan(0.85);
  });

  it("records adults' consents to the registry's purposes, a few withdrawn since", async () => {
    const { rows } = await test.database.executeSql<{
      purpose: string;
      given: number;
      withdrawn: number;
      children: number;
      channels: string[];
    }>(`
      -- Adults on the AS_OF day, 2026-06-30, were born on 2008-06-30 or before.
      select c.purpose, count(*) filter (where c.withdrawn_at is null)::float
               / (select count(*) from individuals where birth_date <= '2008-06-30') as given,
             count(*) filter (where c.withdrawn_at > c.granted_at)::int as withdrawn,
             count(*) filter (where i.birth_date > '2008-06-30')::int as children,
             array_agg(distinct c.channel) as channels
      from consents c join individuals i on i.id = c.individual_id group by c.purpose`);
    expect(summary.consents).toBeGreaterThan(0);
    const byPurpose = new Map(rows.map((row) => [row.purpose, row]));
    expect([...byPurpose.keys()].sort()).toEqual([...PURPOSE_CODES].sort());
    expect(byPurpose.get('eligibility')!.given).toBeGreaterThan(0.7);
    expect(byPurpose.get('cash_transfer')!.given).toBeGreaterThan(0.5);
    expect(byPurpose.get('research')!.given).toBeLessThan(0.25);
    expect(rows.every((row) => row.children === 0)).toBe(true);
    expect(rows.reduce((sum, row) => sum + row.withdrawn, 0)).toBeGreaterThan(0);
    expect(byPurpose.get('eligibility')!.channels.sort()).toEqual(['odk', 'paper']);
  });

  it('never enrolls a household or a person in two programmes of one exclusion group', async () => {
    const { rows } = await test.database.executeSql(`
      select coalesce(e.household_id, e.individual_id) as who, g.name, count(*)
      from enrollments e join programs p on p.id = e.program_id, unnest(p.exclusion_groups) as g(name)
      group by 1, 2 having count(*) > 1`);
    expect(rows).toEqual([]);
    // Cash and food assistance do overlap, as they do in real programme data.
    const overlap = await test.database.executeSql<{ n: number }>(`
      select count(*)::int as n from enrollments a join enrollments b on a.household_id = b.household_id
      join programs pa on pa.id = a.program_id join programs pb on pb.id = b.program_id
      where pa.code = 'CCT' and pb.code = 'FOOD'`);
    expect(overlap.rows[0]!.n).toBeGreaterThan(0);
  });

  it('gives each enrollment a status history that starts enrolled and ends at its status', async () => {
    const enrollments = await test.database.db.selectFrom('enrollments').select(['id', 'status']).execute();
    const history = await test.database.db
      .selectFrom('enrollment_status_history')
      .select(['enrollment_id', 'from_status', 'to_status', 'changed_at'])
      .orderBy('id')
      .execute();
    const byEnrollment = groupBy(history, (row) => row.enrollment_id);
    for (const enrollment of enrollments) {
      const changes = byEnrollment.get(enrollment.id)!;
      expect(changes[0]).toMatchObject({ from_status: null, to_status: 'enrolled' });
      expect(changes.at(-1)!.to_status).toBe(enrollment.status);
      changes.slice(1).forEach((change, i) => {
        expect(change.from_status).toBe(changes[i]!.to_status);
        expect(change.changed_at >= changes[i]!.changed_at).toBe(true);
      });
    }
    expect(new Set(enrollments.map((e) => e.status)).size).toBeGreaterThan(2);
  });

  it('records planted duplicates, in other households, at about the configured share', async () => {
    const pairs = await test.database.db
      .selectFrom('seed_planted_duplicates as d')
      .innerJoin('individuals as o', 'o.id', 'd.original_id')
      .innerJoin('individuals as c', 'c.id', 'd.duplicate_id')
      .select(['d.variation', 'o.household_id as original_household', 'c.household_id as copy_household'])
      .execute();
    const share = pairs.length / summary.individuals;
    expect(share).toBeGreaterThan(0.01);
    expect(share).toBeLessThan(0.035);
    for (const pair of pairs) {
      expect(pair.copy_household).not.toBe(pair.original_household);
      expect(pair.variation).toMatch(/^[a-z_]+(\+[a-z_]+)*$/);
    }
  });

  it('refuses to seed again, leaving the registry as it was', async () => {
    await expect(seedRegistry(test.database, { households: 10, seed: 8 })).rejects.toThrow(
      RegistryNotEmptyError,
    );
    expect(await count(test, 'households')).toBe(400);
    expect(await count(test, 'seed_runs')).toBe(1);
  });
});

describe('a seed that fails half-way', () => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase();
  });
  afterAll(() => test.drop());

  it('leaves nothing behind, so that it can simply be run again', async () => {
    const failing = seedRegistry(test.database, {
      households: 300,
      seed: 3,
      batchSize: 100,
      onProgress: (done) => {
        if (done === 200) {
          throw new Error('disk full');
        }
      },
    });
    await expect(failing).rejects.toThrow('disk full');
    for (const table of [
      'admin_areas',
      'programs',
      'households',
      'individuals',
      'enrollments',
      'seed_runs',
    ]) {
      expect(await count(test, table)).toBe(0);
    }
    const summary = await seedRegistry(test.database, { households: 300, seed: 3 });
    expect(await count(test, 'individuals')).toBe(summary.individuals);
  });

  it('rejects bad options before touching the database', async () => {
    await expect(seedRegistry(test.database, { households: 0, seed: 1 })).rejects.toThrow(RangeError);
    await expect(seedRegistry(test.database, { households: 5, seed: -1 })).rejects.toThrow(/seed/);
    await expect(seedRegistry(test.database, { households: 5, seed: 1, duplicateShare: 2 })).rejects.toThrow(
      /share/,
    );
  });

  it('copies text, arrays and JSON with quotes, commas and line breaks through COPY unchanged', async () => {
    const name = 'Kijiji "Kipya", \nline two';
    const groups = ['a b', 'NULL', '', 'x"y', 'back\\slash', '{braces}'];
    const boundary = { type: 'Polygon', coordinates: [], note: 'a "quoted", text' };
    await test.database.bulkLoad(async (copy) => {
      await copy(
        'admin_areas',
        ['code', 'name', 'level', 'level_name', 'parent_code', 'boundary'],
        [['X1', csvText(name), '1', 'region', csvText(null), csvJson(boundary)].join(',') + '\n'],
      );
      await copy(
        'programs',
        ['id', 'code', 'name', 'description', 'benefit_type', 'target_unit', 'exclusion_groups'],
        [
          [randomUUID(), 'X', csvText(name), csvText(''), 'cash', 'household', csvArray(groups)].join(',') +
            '\n',
        ],
      );
    });
    const area = await test.database.db
      .selectFrom('admin_areas')
      .selectAll()
      .where('code', '=', 'X1')
      .executeTakeFirst();
    expect(area).toMatchObject({ name, parent_code: null, boundary });
    const program = await test.database.db
      .selectFrom('programs')
      .selectAll()
      .where('code', '=', 'X')
      .executeTakeFirst();
    expect(program).toMatchObject({ name, description: '', exclusion_groups: groups });
  });
});
