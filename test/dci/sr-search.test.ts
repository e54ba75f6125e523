import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expression,
  example,
  idType,
  predicate,
  searchMessage,
  createDciApp,
  type DciTestApp,
  type TestMessage,
} from './harness.ts';
import { insertEnrollment, insertProgram } from '#test/factories';
import { groupNumbers, itemsOf, onSearch, seedRegistry } from './fixtures.ts';

// Small limits so that the stories can pass them: 5 records per search, 10 per page, 8 per batch.
const LIMITS = { maxRecords: 5, maxPageSize: 10, defaultPageSize: 3 };

describe('DCI Social Registry sync search', () => {
  let t: DciTestApp;
  let key: string;

  beforeAll(async () => {
    t = await createDciApp({ limits: LIMITS, maxBatch: 8 });
    await seedRegistry(t.database.db);
    key = await t.keyFor('integrator');
  });
  afterAll(() => t.close());

  const search = async (...criteria: Record<string, unknown>[]) =>
    itemsOf(await t.search('sr', searchMessage(...criteria), key));

  it('answers the minimal idtype-value example with the Group of the person, valid against the spec', async () => {
    const message = example<TestMessage>('sr-sync-search-idtype-request');
    (message.message.search_request[0]!['search_criteria'] as { query: { value: string } }).query.value =
      'UIN-A1';
    const res = await t.search('sr', message, key);
    expect(res.statusCode).toBe(200);
    const { header, message: body } = onSearch(res);
    expect(header).toMatchObject({
      version: '1.0.0',
      action: 'on-search',
      status: 'succ',
      total_count: 1,
      completed_count: 1,
      receiver_id: 'spmis.example.org',
    });
    expect(body.transaction_id).toBe('txn-20250115-0001');
    const [item] = body.search_response;
    expect(item).toMatchObject({
      reference_id: 'ref-0001',
      status: 'succ',
      pagination: { page_size: 10, page_number: 1, total_count: 1 },
      locale: 'eng',
    });
    const group = item!.data!.reg_records[0]!;
    expect(group).toMatchObject({
      group_identifier: [{ identifier_type: 'household_number', identifier_value: 'HH-A' }],
      group_type: '2',
      poverty_score: 3.8,
      group_size: 2,
      address: { region_code: 'R01', sub_region_code: 'R01-D01', address_line_1: '12 Baobab Road' },
      group_head_info: {
        demographic_info: {
          name: { given_name: 'Amina', surname: 'Mushi' },
          birth_date: '1985-05-20T00:00:00Z',
        },
      },
    });
    expect(
      group['member_list'].map(
        (m: { demographic_info: { identifier: unknown } }) => m.demographic_info.identifier,
      ),
    ).toEqual([
      [{ identifier_type: 'UIN', identifier_value: 'UIN-A1' }],
      [{ identifier_type: 'BRN', identifier_value: 'BRN-A2' }],
    ]);
    expect(group['member_list'][1]).toMatchObject({
      related_person: [{ relationship_type: 'CHILD' }],
      marital_status: 'S',
    });
  });

  it('answers the minimal expression example (poverty_score $lt 5)', async () => {
    const res = await t.search('sr', example('sr-search-expression-request'), key);
    const [item] = itemsOf(res);
    expect(groupNumbers(item).sort()).toEqual(['HH-A', 'HH-E']);
    expect(item!.pagination!.total_count).toBe(2);
  });

  it('answers the minimal predicate example (poverty_score lt 5 and group_size ge 3): nobody', async () => {
    const [item] = itemsOf(await t.search('sr', example('sr-search-predicate-request'), key));
    expect(item).toMatchObject({ status: 'succ', pagination: { total_count: 0 }, data: { reg_records: [] } });
  });

  describe('idtype-value', () => {
    it('finds a person by any identifier type, as a Member or a Person record', async () => {
      const [member, person] = await search(
        idType('Member', 'BRN', 'BRN-A2'),
        idType('Person', 'UIN', 'UIN-C1'),
      );
      expect(member!.data!.reg_records).toEqual([
        expect.objectContaining({
          member_identifier: [{ identifier_type: 'BRN', identifier_value: 'BRN-A2' }],
        }),
      ]);
      expect(person!.data!.reg_records).toEqual([
        expect.objectContaining({ name: { given_name: 'Halima', surname: 'Mushi' }, sex: 'female' }),
      ]);
    });

    it('finds a household by its number', async () => {
      const [item] = await search(idType('Group', 'household_number', 'HH-D'));
      expect(groupNumbers(item)).toEqual(['HH-D']);
    });

    it('finds nothing for an identifier nobody holds', async () => {
      const [item] = await search(idType('Group', 'UIN', 'NOBODY'));
      expect(item).toMatchObject({ status: 'succ', pagination: { total_count: 0 } });
    });
  });

  describe('expression', () => {
    it('combines $and, $or, $not, $in and the implicit equality', async () => {
      const [item] = await search(
        expression('Group', {
          $or: [
            { location: 'R02' },
            { $and: [{ location: { $in: ['R01-D02'] } }, { poverty_score: { $gte: 50 } }] },
          ],
          $not: { poverty_score: { $gt: 60 } },
        }),
      );
      expect(groupNumbers(item).sort()).toEqual(['HH-D', 'HH-E']);
    });

    it('compares names without regard to case, and years of birth as ranges', async () => {
      const [byName, byYear] = await search(
        expression('Person', { given_name: 'neema' }),
        expression('Person', { YOB: { $gte: 1985, $lt: 2006 }, sex: 'female' }),
      );
      expect(byName!.data!.reg_records.map((p) => p['name'].given_name)).toEqual(['Neema']);
      expect(byYear!.data!.reg_records.map((p) => p['name'].given_name).sort()).toEqual([
        'Amina',
        'Mwanaisha',
        'Zawadi',
      ]);
    });

    it('answers a person search with their groups when asked (response_entity)', async () => {
      const [item] = await search({
        ...expression('Member', { UIN: { $in: 'UIN-B2,UIN-C1' } }),
        response_entity: 'Group',
      });
      expect(item!.data!.reg_record_type).toBe('Group');
      expect(groupNumbers(item).sort()).toEqual(['HH-B', 'HH-C']);
    });

    it('refuses a collection that contradicts the record type', async () => {
      const [item] = await search({ ...expression('Group', { group_size: 1 }), reg_record_type: 'Person' });
      expect(item).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
    });
  });

  describe('predicate', () => {
    it('reads and / or / not between the two expressions of an item, and items together', async () => {
      const [orItem, notItem] = await search(
        {
          ...predicate('Group'),
          query: [
            {
              seq_num: 1,
              expression1: { attribute_name: 'poverty_score', operator: 'lt', attribute_value: 4 },
              condition: 'or',
              expression2: { attribute_name: 'poverty_score', operator: 'gt', attribute_value: 60 },
            },
          ],
        },
        {
          ...predicate('Group', ['location', 'eq', 'R01']),
          query: [
            {
              seq_num: 2,
              expression1: { attribute_name: 'location', operator: 'eq', attribute_value: 'R01' },
              condition: 'not',
              expression2: { attribute_name: 'location', operator: 'eq', attribute_value: 'R01-D02' },
            },
            { seq_num: 1, expression1: { attribute_name: 'group_size', operator: 'ge', attribute_value: 2 } },
          ],
        },
      );
      expect(groupNumbers(orItem).sort()).toEqual(['HH-A', 'HH-F']);
      expect(groupNumbers(notItem).sort()).toEqual(['HH-A', 'HH-B']);
    });

    it('finds persons by birth date and marital status codes', async () => {
      const [item] = await search(
        predicate('Person', ['birth_date', 'le', '1962-08-08'], ['marital_status', 'eq', 'M']),
      );
      expect(item!.data!.reg_records.map((p) => p['name'].given_name).sort()).toEqual([
        'Halima',
        'Juma',
        'Rehema',
      ]);
    });
  });

  it('answers each item of a batch with its own status', async () => {
    const message = searchMessage(
      predicate('Group', ['location', 'eq', 'R02']),
      predicate('Group', ['favourite_colour', 'eq', 'blue']),
      { ...predicate('Group', ['location', 'eq', 'R02']), pagination: { page_size: 0, page_number: 1 } },
      predicate('Group', ['location', 'eq', 'R01-D01']),
      predicate('Group', ['location', 'eq', 'R01-D02']),
      predicate('Group', ['location', 'eq', 'R01-D02']),
    );
    message.message.search_request[3]!['timestamp'] = 'yesterday';
    message.message.search_request[5]!['reference_id'] = 'ref-5';
    const res = await t.search('sr', message, key);
    const { header, message: body } = onSearch(res);
    expect(header).toMatchObject({ status: 'succ', total_count: 6, completed_count: 6 });
    expect(body.search_response.map((i) => [i.reference_id, i.status, i.status_reason_code])).toEqual([
      ['ref-1', 'succ', undefined],
      ['ref-2', 'rjct', 'rjct.search_criteria.invalid'],
      ['ref-3', 'rjct', 'rjct.pagination.invalid'],
      ['ref-4', 'rjct', 'rjct.timestamp.invalid'],
      ['ref-5', 'rjct', 'rjct.reference_id.duplicate'],
      ['ref-5', 'rjct', 'rjct.reference_id.duplicate'],
    ]);
    expect(groupNumbers(body.search_response[0]).sort()).toEqual(['HH-E', 'HH-F']);
  });

  it('rejects an item whose reference_id is not one (rjct.reference_id.invalid), answering the others', async () => {
    const message = searchMessage(
      predicate('Group', ['location', 'eq', 'R02']),
      predicate('Group', ['location', 'eq', 'R02']),
    );
    message.message.search_request[1]!['reference_id'] = 42;
    const { message: body } = onSearch(await t.search('sr', message, key));
    expect(body.search_response.map((i) => [i.status, i.status_reason_code])).toEqual([
      ['succ', undefined],
      ['rjct', 'rjct.reference_id.invalid'],
    ]);
  });

  describe('fails closed', () => {
    it.each([
      [
        'an unknown attribute',
        predicate('Group', ['favourite_colour', 'eq', 'blue']),
        /unknown attribute "favourite_colour"/,
      ],
      [
        'an unknown expression operator',
        expression('Group', { poverty_score: { $regex: '^1' } }),
        /unknown operator "\$regex"/,
      ],
      [
        'an unknown combinator',
        expression('Group', { $nor: [{ group_size: 1 }] }),
        /unknown expression operator "\$nor"/,
      ],
      ['a predicate operator outside the spec', predicate('Group', ['group_size', 'ne', 1]), /operator/],
      [
        'an operator the attribute does not take',
        predicate('Person', ['UIN', 'lt', 'UIN-B']),
        /operator "lt" is not supported for UIN/,
      ],
      [
        'a value of the wrong type',
        predicate('Group', ['poverty_score', 'lt', 'low']),
        /poverty_score expects a number/,
      ],
      ['an unknown record type', predicate('Vehicle', ['group_size', 'eq', 1]), /reg_record_type "Vehicle"/],
      [
        'another registry type',
        { ...predicate('Group', ['group_size', 'eq', 1]), reg_type: 'ns:org:RegistryType:CRVS' },
        /reg_type/,
      ],
      [
        'an unknown query type',
        { ...predicate('Group', ['group_size', 'eq', 1]), query_type: 'graphql' },
        /query_type/,
      ],
    ])('on %s', async (_name, criteria, message) => {
      const [item] = await search(criteria);
      expect(item).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
      expect(item!.status_reason_message).toMatch(message);
    });

    it('on a sort by an unknown attribute', async () => {
      const [item] = await search({
        ...predicate('Group', ['location', 'eq', 'R02']),
        sort: [{ attribute_name: 'colour', sort_order: 'asc' }],
      });
      expect(item).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.sort.invalid' });
    });
  });

  it('refuses a search matching more records than the maximum', async () => {
    const [item] = await search(predicate('Group', ['poverty_score', 'ge', 0]));
    expect(item).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search.too_many_records_found' });
  });

  it('pages through the matches in the requested order, with the total count', async () => {
    const criteria = {
      ...predicate('Group', ['location', 'eq', 'R01']),
      sort: [{ attribute_name: 'poverty_score', sort_order: 'desc' }],
    };
    const [first, second, tooBig] = await search(
      { ...criteria, pagination: { page_size: 3, page_number: 1 } },
      { ...criteria, pagination: { page_size: 3, page_number: 2 } },
      { ...criteria, pagination: { page_size: 11, page_number: 1 } },
    );
    expect(groupNumbers(first)).toEqual(['HH-D', 'HH-C', 'HH-B']);
    expect(first!.pagination).toEqual({ page_size: 3, page_number: 1, total_count: 4 });
    expect(groupNumbers(second)).toEqual(['HH-A']);
    expect(second!.pagination).toEqual({ page_size: 3, page_number: 2, total_count: 4 });
    expect(tooBig).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.pagination.invalid' });
  });

  it('records the search and its record count in the audit trail', async () => {
    const message = searchMessage(predicate('Group', ['location', 'eq', 'R02']));
    await t.search('sr', message, key);
    const row = await t.database.db
      .selectFrom('audit_log')
      .select(['action', 'resource_type', 'resource_id', 'record_count', 'outcome'])
      .where('resource_id', '=', message.message.transaction_id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({
      action: 'dci.social.search',
      resource_type: 'dci_transaction',
      resource_id: message.message.transaction_id,
      record_count: 2,
      outcome: 'success',
    });
  });
});

describe('DCI sync search: the size of one answer', () => {
  let t: DciTestApp;
  let key: string;

  beforeAll(async () => {
    t = await createDciApp({ limits: LIMITS, syncMaxRecords: 4 });
    const { households } = await seedRegistry(t.database.db);
    const cct = await insertProgram(t.database.db, { code: 'CCT' });
    for (const household of ['A', 'B', 'C', 'D', 'E'] as const) {
      await insertEnrollment(t.database.db, cct, { household_id: households[household] });
    }
    key = await t.keyFor('integrator');
  });
  afterAll(() => t.close());

  it('rejects an item whose page would pass the bound, pointing to smaller pages and the async search', async () => {
    const region = {
      ...predicate('Group', ['location', 'eq', 'R01']),
      pagination: { page_size: 3, page_number: 1 },
    };
    const [first, second, third] = itemsOf(
      await t.search('sr', searchMessage(region, region, idType('Group', 'UIN', 'UIN-E1')), key),
    );
    expect(groupNumbers(first)).toHaveLength(3);
    expect(second).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.search.too_many_records_found',
    });
    expect(second!.status_reason_message).toBe(
      'a sync answer holds at most 4 records and this page would bring it to 6: ask for smaller pages ' +
        '(pagination.page_size) or fewer requests per message, or use the async search (/registry/search)',
    );
    // The bound counts the records answered: a lookup of one household still fits.
    expect(groupNumbers(third)).toEqual(['HH-E']);
  });

  it('bounds the IBR sync search the same way', async () => {
    const cct = {
      ...predicate('Beneficiary', ['programme_identifier', 'eq', 'CCT']),
      pagination: { page_size: 5 },
    };
    const [all, one] = itemsOf(
      await t.search('ibr', searchMessage(cct, idType('Beneficiary', 'UIN', 'UIN-A1')), key),
      'ibr',
    );
    expect(all).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search.too_many_records_found' });
    expect(one!.data!.reg_records).toHaveLength(1);
  });
});
