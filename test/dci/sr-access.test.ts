import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResponse } from '#dci/spec';
import { createDciApp, expression, idType, predicate, searchMessage, type DciTestApp } from './harness.ts';
import { itemsOf, keysDeep, onSearch, seedRegistry } from './fixtures.ts';

describe('DCI sync search: field policy', () => {
  let t: DciTestApp;
  let analyst: string;
  let fieldAgent: string;

  beforeAll(async () => {
    t = await createDciApp();
    await seedRegistry(t.database.db);
    analyst = await t.keyFor('analyst');
    fieldAgent = await t.keyFor('field_agent');
  });
  afterAll(() => t.close());

  const search = async (key: string, ...criteria: Record<string, unknown>[]) =>
    itemsOf(await t.search('sr', searchMessage(...criteria), key));

  it('an analyst receives groups and members without names, identifiers, birth dates, addresses or places', async () => {
    const [groups, persons] = await search(
      analyst,
      predicate('Group', ['location', 'eq', 'R01-D01']),
      predicate('Member', ['sex', 'eq', 'female']),
    );
    expect(groups!.data!.reg_records).toHaveLength(2);
    const keys = keysDeep([groups!.data, persons!.data]);
    for (const hidden of [
      'name',
      'given_name',
      'surname',
      'identifier',
      'member_identifier',
      'birth_date',
      'phone_number',
      'address_line_1',
      'locality',
      'geographical_location',
    ]) {
      expect(keys, hidden).not.toContain(hidden);
    }
    // No identifier is left: the household number, on the household's registration card, is one too.
    expect(groups!.data!.reg_records[0]).not.toHaveProperty('group_identifier');
    // What de-identified analysis keeps: area codes, scores, sizes, sex, year of birth.
    expect(groups!.data!.reg_records[0]).toMatchObject({
      address: { region_code: 'R01', sub_region_code: 'R01-D01' },
      group_size: expect.any(Number),
      poverty_score: expect.any(Number),
    });
    expect(persons!.data!.reg_records[0]).toMatchObject({
      demographic_info: { sex: 'female' },
      additional_attributes: [{ birth_year: expect.any(Number) }],
    });
  });

  it.each([
    ['by identifier (idtype-value)', idType('Group', 'UIN', 'UIN-A1'), /may not search by UIN/],
    ['by identifier (predicate)', predicate('Person', ['BRN', 'eq', 'BRN-A2']), /may not search by BRN/],
    ['by name', expression('Person', { surname: 'Mushi' }), /may not search by surname/],
    [
      'by birth date',
      predicate('Person', ['birth_date', 'lt', '1990-01-01']),
      /may not search by birth_date/,
    ],
    [
      'inside a combination',
      expression('Group', { $or: [{ location: 'R01' }, { UIN: 'UIN-A1' }] }),
      /may not search by UIN/,
    ],
  ])('an analyst may not search %s', async (_name, criteria, message) => {
    const [item] = await search(analyst, criteria);
    expect(item).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
    expect(item!.status_reason_message).toMatch(message);
  });

  it('an analyst may search by year of birth (what the views show them) but not sort by birth date', async () => {
    const [byYear, sorted] = await search(analyst, predicate('Person', ['YOB', 'eq', 1950]), {
      ...predicate('Person', ['sex', 'eq', 'male']),
      sort: [{ attribute_name: 'birth_date', sort_order: 'asc' }],
    });
    expect(byYear!.pagination!.total_count).toBe(1);
    expect(sorted).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.sort.invalid' });
  });

  it('a field agent never receives poverty scores and may not search by them', async () => {
    const [groups, byScore] = await search(
      fieldAgent,
      predicate('Group', ['location', 'eq', 'R02']),
      predicate('Group', ['poverty_score', 'lt', 5]),
    );
    expect(keysDeep(groups!.data)).not.toContain('poverty_score');
    expect(keysDeep(groups!.data)).not.toContain('income_band');
    expect(byScore).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
  });
});

describe('DCI sync search: envelope and transport errors', () => {
  let t: DciTestApp;
  let key: string;

  beforeAll(async () => {
    t = await createDciApp({ maxBatch: 2, receiverId: 'sr.example.org' });
    key = await t.keyFor('integrator');
  });
  afterAll(() => t.close());

  const good = () => searchMessage(predicate('Group', ['location', 'eq', 'R01']));
  const errorsOf = (res: { statusCode: number; json(): unknown }) =>
    (res.json() as { errors: { code: string; message: string }[] }).errors;

  it('refuses a malformed envelope with err.request.bad, naming the fields', async () => {
    const message = good();
    delete message.header['message_id'];
    message.header['action'] = 'subscribe';
    const res = await t.search('sr', message, key);
    expect(res.statusCode).toBe(400);
    const errors = errorsOf(res);
    expect(errors.every((e) => e.code === 'err.request.bad')).toBe(true);
    expect(errors.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/header\/message_id: /),
        expect.stringMatching(/^\/header\/action: /),
      ]),
    );
  });

  it.each([
    ['invalid JSON', '{"header": ', 'err.request.bad'],
    ['a body that is not an object', '[]', 'err.request.bad'],
  ])('refuses %s with %s', async (_name, body, code) => {
    const res = await t.search('sr', body, key);
    expect(res.statusCode).toBe(400);
    expect(errorsOf(res)[0]!.code).toBe(code);
  });

  it.each([
    ['another protocol version', { version: '2.0.0' }, 'err.version.not_supported'],
    ['an encrypted message', { is_msg_encrypted: true }, 'err.encryption.invalid'],
    ['a message for another registry', { receiver_id: 'crvs.example.org' }, 'err.receiver_id.invalid'],
  ])('refuses %s with %s', async (_name, header, code) => {
    const message = good();
    Object.assign(message.header, header);
    const res = await t.search('sr', message, key);
    expect(res.statusCode).toBe(400);
    expect(errorsOf(res)).toEqual([{ code, message: expect.any(String) }]);
  });

  it('rejects the whole message when total_count does not match, in an on-search envelope', async () => {
    const message = good();
    message.header['total_count'] = 3;
    const res = await t.search('sr', message, key);
    expect(res.statusCode).toBe(400);
    expect(onSearch(res).header).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.total_count.invalid',
      completed_count: 0,
    });
  });

  it('rejects a batch larger than allowed', async () => {
    const message = searchMessage(
      predicate('Group', ['group_size', 'eq', 1]),
      predicate('Group', ['group_size', 'eq', 2]),
      predicate('Group', ['group_size', 'eq', 3]),
    );
    const res = await t.search('sr', message, key);
    expect(onSearch(res).header).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.total_count.limit_exceeded',
    });
  });

  it('answers a message addressed to this registry', async () => {
    const [item] = itemsOf(await t.search('sr', good(), key));
    expect(item!.status).toBe('succ');
  });

  it('asks for a key (err.request.unauthorized) and a key with registry:read (err.request.forbidden)', async () => {
    const anonymous = await t.search('sr', good(), undefined);
    expect(anonymous.statusCode).toBe(401);
    expect(errorsOf(anonymous)).toEqual([{ code: 'err.request.unauthorized', message: expect.any(String) }]);
    const jobsOnly = await t.keyFor('integrator', ['jobs:read']);
    const forbidden = await t.search('sr', good(), jobsOnly);
    expect(forbidden.statusCode).toBe(403);
    expect(errorsOf(forbidden)).toEqual([
      { code: 'err.request.forbidden', message: expect.stringContaining('registry:read') },
    ]);
  });

  it('speaks the IBR spec on the IBR mount', async () => {
    const res = await t.search(
      'ibr',
      searchMessage(predicate('Beneficiary', ['programme_identifier', 'eq', 'NONE'])),
      key,
    );
    expect(res.statusCode).toBe(200);
    expect(validateResponse({ registry: 'ibr', path: '/registry/sync/search' }, res.json())).toEqual([]);
  });
});
