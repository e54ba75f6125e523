import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea, insertHousehold, insertIndividual } from '#test/factories';
import { newClient } from '#test/clients';
import { setPolicy } from '#test/security/policy/helpers';
import { submit } from './collect.ts';

/**
 * An update form (one carrying household_id and the members' person_id, e.g. pre-filled from the
 * registry): its submission changes that household, updates the members it names and adds the others,
 * and its photo is found from the household. An update of a household outside the agent's areas is
 * rejected.
 */

const UPDATE_FORM = `<?xml version="1.0"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" xmlns:jr="http://openrosa.org/javarosa">
  <h:head>
    <h:title>Household update</h:title>
    <model>
      <instance>
        <data id="spx_household_update" version="1">
          <household_id/><water/>
          <members><member jr:template=""><person_id/><given_name/><family_name/><sex/><relationship/><phone/></member></members>
          <photo/>
          <meta><instanceID/></meta>
        </data>
      </instance>
      <bind nodeset="/data/household_id" type="string" required="true()"/>
      <bind nodeset="/data/water" type="string"/>
      <bind nodeset="/data/members/member/person_id" type="string"/>
      <bind nodeset="/data/members/member/given_name" type="string"/>
      <bind nodeset="/data/members/member/family_name" type="string"/>
      <bind nodeset="/data/members/member/sex" type="string"/>
      <bind nodeset="/data/members/member/relationship" type="string"/>
      <bind nodeset="/data/members/member/phone" type="string"/>
      <bind nodeset="/data/photo" type="binary"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/household_id"><label>Household</label></input>
    <input ref="/data/water"><label>Water source</label></input>
    <repeat nodeset="/data/members/member">
      <input ref="/data/members/member/person_id"><label>Person</label></input>
      <input ref="/data/members/member/given_name"><label>Given name</label></input>
      <input ref="/data/members/member/family_name"><label>Family name</label></input>
      <input ref="/data/members/member/sex"><label>Sex</label></input>
      <input ref="/data/members/member/relationship"><label>Relationship</label></input>
      <input ref="/data/members/member/phone"><label>Phone</label></input>
    </repeat>
    <upload ref="/data/photo" mediatype="image/*"><label>Photo</label></upload>
  </h:body>
</h:html>`;

const MAPPING = {
  household_id: 'household_id',
  household: { water_source: 'water' },
  members: {
    repeat: 'members/member',
    person_id: 'person_id',
    fields: {
      given_name: 'given_name',
      family_name: 'family_name',
      sex: 'sex',
      relationship_to_head: 'relationship',
      phone: 'phone',
    },
  },
};

let t: TestApp;
let agent: string;

const instance = (household: string, members: string, photo = '') =>
  `<data id="spx_household_update" version="1"><household_id>${household}</household_id><water>borehole</water>` +
  `<members>${members}</members><photo>${photo}</photo><meta><instanceID>uuid:${randomUUID()}</instanceID></meta></data>`;

beforeAll(async () => {
  t = await createTestApp();
  await insertArea(t.database.db, 'R05');
  await insertArea(t.database.db, 'R06');
  const admin = { authorization: `Bearer ${t.adminKey}` };
  const form = await t.app.inject({
    method: 'POST',
    url: '/api/v1/odk/forms',
    headers: { ...admin, 'content-type': 'application/xml' },
    payload: UPDATE_FORM,
  });
  expect(form.statusCode, form.body).toBe(201);
  const mapping = await t.app.inject({
    method: 'PUT',
    url: '/api/v1/odk/forms/spx_household_update/mapping',
    headers: admin,
    payload: { mapping: MAPPING, review_mode: 'auto' },
  });
  expect(mapping.statusCode, mapping.body).toBe(201);
  // An agent working in R05 only (its data sharing agreement).
  const client = await newClient(t, 'field_agent');
  await setPolicy(t, client.id, { area_codes: ['R05'] });
  agent = client.key;
});
afterAll(() => t.close());

describe('update submissions', () => {
  it('update the household and the members named, add the others, and link the photo to the household', async () => {
    const household = await insertHousehold(t.database.db, {
      admin_area_code: 'R05',
      water_source: 'surface',
    });
    const head = await insertIndividual(t.database.db, household, {
      given_name: 'Halima',
      phone: '+255700000009',
    });
    const xml = instance(
      household,
      `<member><person_id>${head}</person_id><given_name/><family_name/><sex/><relationship/><phone>+255711111111</phone></member>` +
        `<member><person_id/><given_name>Imani</given_name><family_name>Okello</family_name><sex>male</sex><relationship>CHILD</relationship><phone/></member>`,
      'house.jpg',
    );
    const res = await submit(t, agent, xml, [
      { name: 'house.jpg', type: 'image/jpeg', data: Buffer.from('jpeg') },
    ]);
    expect(res.statusCode, res.body).toBe(201);
    const row = await t.database.db
      .selectFrom('households')
      .select('water_source')
      .where('id', '=', household)
      .executeTakeFirstOrThrow();
    expect(row.water_source).toBe('borehole');
    const members = await t.database.db
      .selectFrom('individuals')
      .select(['given_name', 'phone'])
      .where('household_id', '=', household)
      .orderBy('given_name')
      .execute();
    expect(members).toEqual([
      { given_name: 'Halima', phone: '+255711111111' },
      { given_name: 'Imani', phone: null },
    ]);
    const submissions = await t.get(`/api/v1/odk/submissions?household_id=${household}`, t.adminKey);
    expect(
      submissions.json<{ items: { status: string; attachments: { name: string }[] }[] }>().items,
    ).toEqual([
      expect.objectContaining({
        status: 'applied',
        attachments: [expect.objectContaining({ name: 'house.jpg' })],
      }),
    ]);
  });

  it('reject updates of households outside the agent areas, or of persons who are not members', async () => {
    const elsewhere = await insertHousehold(t.database.db, { admin_area_code: 'R06' });
    const mine = await insertHousehold(t.database.db, { admin_area_code: 'R05' });
    const stranger = await insertIndividual(t.database.db, elsewhere);
    await submit(t, agent, instance(elsewhere, ''));
    await submit(
      t,
      agent,
      instance(
        mine,
        `<member><person_id>${stranger}</person_id><given_name/><family_name/><sex/><relationship/><phone>+2557</phone></member>`,
      ),
    );
    const rejected = await t.get('/api/v1/change-requests?status=rejected', t.adminKey);
    const details = rejected
      .json<{ items: { issues: { code: string }[] }[] }>()
      .items.flatMap((c) => c.issues.map((i) => i.code));
    expect(details).toEqual(expect.arrayContaining(['unknown_household', 'unknown_member']));
    const untouched = await t.database.db
      .selectFrom('individuals')
      .select('phone')
      .where('id', '=', stranger)
      .executeTakeFirstOrThrow();
    expect(untouched.phone).toBe('+255712345678');
  });
});
