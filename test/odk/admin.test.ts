import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedFormXml } from '#odk/forms';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea } from '#test/factories';
import { basic, householdInstance, submit } from './collect.ts';

/** Uploading XForms, media and mappings; review mode; processing a failed submission again. */

let t: TestApp;
let agent: string;

const send = (method: 'POST' | 'PUT', url: string, payload: string | object | Buffer, contentType?: string) =>
  t.app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${t.adminKey}`,
      ...(contentType ? { 'content-type': contentType } : {}),
    },
    payload,
  });
const formV2 = shippedFormXml()
  .replace('version="2026120701"', 'version="2026120702"')
  .replace('<h:title>Household registration</h:title>', '<h:title>Household registration (v2)</h:title>');
const member = {
  given_name: 'Rehema',
  family_name: 'Said',
  sex: 'female',
  birth_date: '1970-03-03',
  relationship: 'SELF',
};

beforeAll(async () => {
  t = await createTestApp();
  await insertArea(t.database.db, 'R03');
  agent = await t.keyFor('field_agent');
});
afterAll(() => t.close());

describe('forms', () => {
  it('uploads a new version, offered to Collect instead of the old; the same XML again is a no-op', async () => {
    const res = await send('POST', '/api/v1/odk/forms', formV2, 'application/xml');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      form_id: 'spx_household_registration',
      version: '2026120702',
      title: 'Household registration (v2)',
    });
    expect((await send('POST', '/api/v1/odk/forms', formV2, 'application/xml')).statusCode).toBe(200);
    const list = await t.app.inject({
      method: 'GET',
      url: '/odk/formList',
      headers: { authorization: basic(agent) },
    });
    expect(list.body).toContain('<version>2026120702</version>');
    expect(list.body).not.toContain('<version>2026120701</version>');
    // Submissions of the older version are still read (by the form id's mapping).
    const old = householdInstance({ admin_area: 'R03', members: [member] });
    expect((await submit(t, agent, old.xml)).statusCode).toBe(201);
  });

  it('refuses invalid XForms naming the problem, and other content under an existing version', async () => {
    const cases: [string, RegExp][] = [
      ['<h:html xmlns:h="http://www.w3.org/1999/xhtml"><h:head>', /not well-formed XML/],
      [formV2.replace(' jr:preload="uid"', ''), /meta\/instanceID bound with jr:preload="uid"/],
      [formV2.replace('id="spx_household_registration" ', ''), /root needs an id attribute/],
      [
        formV2.replace('nodeset="/data/location/address"', 'nodeset="/data/location/street"'),
        /bind names \/data\/location\/street/,
      ],
      [
        formV2.replace('<input ref="/data/location/address">', '<input ref="/data/location/road">'),
        /control \/data\/location\/road names no node/,
      ],
      ['<!DOCTYPE x [<!ENTITY a "b">]><x/>', /DOCTYPE/],
    ];
    for (const [xml, pattern] of cases) {
      const res = await send('POST', '/api/v1/odk/forms', xml, 'application/xml');
      expect(res.statusCode, xml.slice(0, 80)).toBe(400);
      expect(res.json<{ detail: string }>().detail).toMatch(pattern);
    }
    const clash = await send(
      'POST',
      '/api/v1/odk/forms',
      formV2.replace('(v2)', '(v2 bis)'),
      'application/xml',
    );
    expect(clash.statusCode).toBe(409);
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/odk/forms',
          headers: {
            authorization: `Bearer ${await t.keyFor('field_agent')}`,
            'content-type': 'application/xml',
          },
          payload: formV2,
        })
      ).statusCode,
    ).toBe(403);
  });

  it('lists uploaded media in the manifest, with their md5', async () => {
    expect(
      (
        await send(
          'PUT',
          '/api/v1/odk/forms/spx_household_registration/media/areas.csv',
          Buffer.from('name,label\nR03,Region 3\n'),
          'application/octet-stream',
        )
      ).statusCode,
    ).toBe(204);
    const manifest = await t.app.inject({
      method: 'GET',
      url: '/odk/forms/spx_household_registration/manifest',
      headers: { authorization: basic(agent) },
    });
    expect(manifest.body).toMatch(
      /<mediaFile><filename>areas.csv<\/filename><hash>md5:[0-9a-f]{32}<\/hash><downloadUrl>http:\/\/localhost:80\/odk\/forms\/spx_household_registration\/media\/areas.csv<\/downloadUrl><\/mediaFile>/,
    );
    const file = await t.app.inject({
      method: 'GET',
      url: '/odk/forms/spx_household_registration/media/areas.csv',
      headers: { authorization: basic(agent) },
    });
    expect(file.body).toBe('name,label\nR03,Region 3\n');
    expect(
      (await send('PUT', '/api/v1/odk/forms/nope/media/a.csv', Buffer.from('x'), 'application/octet-stream'))
        .statusCode,
    ).toBe(404);
    expect(
      (
        await send(
          'PUT',
          '/api/v1/odk/forms/spx_household_registration/media/..%2Fx',
          Buffer.from('x'),
          'application/octet-stream',
        )
      ).statusCode,
    ).toBe(400);
  });
});

describe('mappings', () => {
  const mappingUrl = '/api/v1/odk/forms/spx_household_registration/mapping';

  it('refuses mappings naming fields the form lacks, or bad shapes', async () => {
    const current = (await t.get(mappingUrl, t.adminKey)).json<{
      mapping: { household: object; members: object };
    }>().mapping;
    const wrong = { ...current, household: { admin_area_code: 'location/village' } };
    const res = await send('PUT', mappingUrl, { mapping: wrong, review_mode: 'auto' });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ detail: string }>().detail).toMatch(
      /household.admin_area_code: location\/village is not a field of form spx_household_registration/,
    );
    const shape = await send('PUT', mappingUrl, { mapping: { household: {} }, review_mode: 'auto' });
    expect(shape.statusCode).toBe(400);
    expect(
      (await send('PUT', '/api/v1/odk/forms/nope/mapping', { mapping: current, review_mode: 'auto' }))
        .statusCode,
    ).toBe(400);
    expect((await send('PUT', mappingUrl, { mapping: current, review_mode: 'sometimes' })).statusCode).toBe(
      400,
    );
  });

  it('in review mode, every clean registration waits for a reviewer; versions are kept', async () => {
    const current = (await t.get(mappingUrl, t.adminKey)).json<{ mapping: object; version: number }>();
    const saved = await send('PUT', mappingUrl, { mapping: current.mapping, review_mode: 'review' });
    expect(saved.statusCode).toBe(201);
    expect(saved.json()).toMatchObject({ version: current.version + 1, review_mode: 'review' });
    const { xml, instanceId } = householdInstance(
      { admin_area: 'R03', members: [{ ...member, given_name: 'Mwanaisha' }] },
      '2026120702',
    );
    await submit(t, agent, xml);
    const list = await t.get('/api/v1/odk/submissions', t.adminKey);
    const submission = list
      .json<{ items: { instance_id: string; status: string; mapping_version: number }[] }>()
      .items.find((s) => s.instance_id === instanceId);
    expect(submission).toMatchObject({ status: 'pending_review', mapping_version: current.version + 1 });
  });
});

describe('submissions that fail to be read', () => {
  it('are kept failed with the reason, and processed again once the form has a mapping', async () => {
    const bare = shippedFormXml().replaceAll('spx_household_registration', 'bare_registration');
    expect((await send('POST', '/api/v1/odk/forms', bare, 'application/xml')).statusCode).toBe(201);
    const { xml } = householdInstance({ admin_area: 'R03', members: [{ ...member, given_name: 'Tumaini' }] });
    const res = await submit(
      t,
      agent,
      xml.replace('id="spx_household_registration"', 'id="bare_registration"'),
    );
    expect(res.statusCode).toBe(201);
    const failed = (await t.get('/api/v1/odk/submissions?form_id=bare_registration', t.adminKey)).json<{
      items: { id: string; status: string; errors: string[] }[];
    }>().items[0]!;
    expect(failed).toMatchObject({
      status: 'failed',
      errors: ['form bare_registration has no mapping to registry fields yet'],
    });
    const mapping = (await t.get('/api/v1/odk/forms/spx_household_registration/mapping', t.adminKey)).json<{
      mapping: object;
    }>().mapping;
    expect(
      (await send('PUT', '/api/v1/odk/forms/bare_registration/mapping', { mapping, review_mode: 'auto' }))
        .statusCode,
    ).toBe(201);
    const again = await send('POST', `/api/v1/odk/submissions/${failed.id}/process`, {});
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ status: 'applied', errors: [] });
    const detail = await t.get(`/api/v1/odk/submissions/${failed.id}`, t.adminKey);
    expect(detail.json<{ xml: string }>().xml).toContain('<given_name>Tumaini</given_name>');
  });
});
