import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedFormXml } from '#odk/forms';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea } from '#test/factories';
import { basic, householdInstance, submit, type Household } from './collect.ts';

/**
 * ODK Collect against SP Exchange over OpenRosa: form list, download, manifest, the HEAD probe and
 * multipart submissions of the shipped household registration form, built as Collect builds them;
 * the household and its members in the registry; re-sending; broken and refused submissions.
 */

let t: TestApp;
let agent: string;

const amina: Household = {
  admin_area: 'R01-D01-V001',
  address: 'Near the market',
  gps: '-6.7924 39.2083 12.0 4.5',
  dwelling_type: 'semi_permanent',
  water_source: 'well',
  has_electricity: 'no',
  members: [
    {
      given_name: 'Amina',
      family_name: 'Juma',
      sex: 'female',
      birth_date: '1984-02-11',
      relationship: 'SELF',
      national_id: 'NID-ODK-1',
      phone: '+255700000001',
    },
    {
      given_name: 'Baraka',
      family_name: 'Juma',
      sex: 'male',
      birth_date: '2015-07-30',
      relationship: 'CHILD',
    },
  ],
};

const get = (url: string, key = agent) =>
  t.app.inject({ method: 'GET', url, headers: { authorization: basic(key), 'x-openrosa-version': '1.0' } });
const submissionOf = async (instanceId: string) => {
  const list = await t.get('/api/v1/odk/submissions?limit=500', t.adminKey);
  return list
    .json<{
      items: {
        instance_id: string;
        status: string;
        errors: string[];
        change_request_id: string | null;
        household_id: string | null;
        attachments: { name: string }[];
        id: string;
      }[];
    }>()
    .items.find((s) => s.instance_id === instanceId)!;
};
const householdCount = async () =>
  Number(
    (await t.database.db
      .selectFrom('households')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst())!.n,
  );

beforeAll(async () => {
  t = await createTestApp({ odkMaxSubmissionMb: 1 });
  await insertArea(t.database.db, 'R01');
  await insertArea(t.database.db, 'R01-D01', 'R01');
  await insertArea(t.database.db, 'R01-D01-V001', 'R01-D01');
  agent = await t.keyFor('field_agent');
});
afterAll(() => t.close());

describe('OpenRosa form list, download and manifest', () => {
  it('lists the shipped form with the md5 hash of what it serves', async () => {
    const res = await get('/odk/formList');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['x-openrosa-version']).toBe('1.0');
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    const hash = `md5:${createHash('md5').update(shippedFormXml()).digest('hex')}`;
    expect(res.body).toContain('<xforms xmlns="http://openrosa.org/xforms/xformsList">');
    expect(res.body).toContain(
      `<xform><formID>spx_household_registration</formID><name>Household registration</name><version>2026120701</version><hash>${hash}</hash>` +
        `<downloadUrl>http://localhost:80/odk/forms/spx_household_registration/form.xml</downloadUrl></xform>`,
    );
    const form = await get('/odk/forms/spx_household_registration/form.xml');
    expect(form.body).toBe(shippedFormXml());
    const manifest = await get('/odk/forms/spx_household_registration/manifest');
    expect(manifest.body).toContain(
      '<manifest xmlns="http://openrosa.org/xforms/xformsManifest"></manifest>',
    );
  });

  it('challenges for Basic credentials and refuses keys without field:submit', async () => {
    const anonymous = await t.app.inject({ method: 'GET', url: '/odk/formList' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm="SP Exchange"/);
    expect(anonymous.body).toContain('<message nature="error">');
    expect((await get('/odk/formList', 'spx_wrong_key')).statusCode).toBe(401);
    expect((await get('/odk/formList', await t.keyFor('analyst'))).statusCode).toBe(403);
    expect((await get('/odk/forms/nope/form.xml')).statusCode).toBe(404);
  });

  it('answers the HEAD probe with the largest submission accepted', async () => {
    const res = await t.app.inject({
      method: 'HEAD',
      url: '/odk/submission',
      headers: { authorization: basic(agent) },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['x-openrosa-accept-content-length']).toBe(String(1024 * 1024));
    expect(res.headers['x-openrosa-version']).toBe('1.0');
  });
});

describe('OpenRosa submissions', () => {
  it('registers the household and its members, keeping the photo with the submission', async () => {
    const { xml, instanceId } = householdInstance({ ...amina, photo: 'dwelling.jpg' });
    const photo = Buffer.from('\xff\xd8\xff\xe0 fake jpeg', 'latin1');
    const res = await submit(t, agent, xml, [{ name: 'dwelling.jpg', type: 'image/jpeg', data: photo }]);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.body).toContain('<message nature="submit_success">');
    const submission = await submissionOf(instanceId);
    expect(submission).toMatchObject({
      status: 'applied',
      errors: [],
      attachments: [{ name: 'dwelling.jpg' }],
    });
    const household = await t.database.db
      .selectFrom('households')
      .selectAll()
      .where('id', '=', submission.household_id!)
      .executeTakeFirstOrThrow();
    expect(household).toMatchObject({
      admin_area_code: 'R01-D01-V001',
      latitude: -6.7924,
      longitude: 39.2083,
      dwelling_type: 'semi_permanent',
      has_electricity: false,
    });
    const members = await t.database.db
      .selectFrom('individuals')
      .select(['given_name', 'relationship_to_head', 'birth_date', 'consent_data_sharing'])
      .where('household_id', '=', household.id)
      .orderBy('given_name')
      .execute();
    expect(members.map((m) => [m.given_name, m.relationship_to_head, m.consent_data_sharing])).toEqual([
      ['Amina', 'SELF', true],
      ['Baraka', 'CHILD', true],
    ]);
    const file = await t.get(`/api/v1/odk/submissions/${submission.id}/attachments/dwelling.jpg`, t.adminKey);
    expect(file.rawPayload.equals(photo)).toBe(true);
  });

  it('treats a re-sent submission as received once: nothing changes', async () => {
    const { xml, instanceId } = householdInstance({
      ...amina,
      members: [
        { ...amina.members[0]!, national_id: 'NID-ODK-2', given_name: 'Zawadi', birth_date: '1990-01-01' },
      ],
    });
    expect((await submit(t, agent, xml)).statusCode).toBe(201);
    const households = await householdCount();
    const again = await submit(t, agent, xml);
    expect(again.statusCode).toBe(202);
    expect(again.body).toContain('already received');
    expect(await householdCount()).toBe(households);
    const changed = await submit(t, agent, xml.replace('Zawadi', 'Zuhura'));
    expect(changed.statusCode).toBe(409);
    expect((await submissionOf(instanceId)).status).toBe('applied');
  });

  it('takes a re-sent submission only from its sender, and freezes its files once it was read', async () => {
    const { xml, instanceId } = householdInstance({
      ...amina,
      members: [{ ...amina.members[0]!, national_id: 'NID-ODK-3', given_name: 'Rehema' }],
    });
    const file = (name: string, text = name) => ({ name, type: 'image/jpeg', data: Buffer.from(text) });
    // A large submission comes in parts: files may be added until the last part.
    expect((await submit(t, agent, xml, [file('front.jpg')], { incomplete: true })).statusCode).toBe(201);
    expect((await submit(t, agent, xml, [file('back.jpg')])).statusCode).toBe(202);
    const names = async () => (await submissionOf(instanceId)).attachments.map((a) => a.name);
    expect(await names()).toEqual(['back.jpg', 'front.jpg']);
    expect((await submissionOf(instanceId)).status).toBe('applied');

    const other = await submit(t, await t.keyFor('field_agent'), xml, [file('other.jpg')]);
    expect(other.statusCode).toBe(403);
    expect(other.body).toMatch(/sent by someone else: only they may send it again/);
    const late = await submit(t, agent, xml, [file('late.jpg')]);
    expect(late.statusCode).toBe(409);
    expect(late.body).toMatch(/already read into a change request: its attachments can no longer change/);
    expect((await submit(t, agent, xml, [file('back.jpg', 'replaced')])).statusCode).toBe(409);
    // Collect sending it all again (its answer was lost) changes nothing and is told so.
    expect((await submit(t, agent, xml, [file('front.jpg'), file('back.jpg')])).statusCode).toBe(202);
    expect(await names()).toEqual(['back.jpg', 'front.jpg']);
    const back = await t.get(
      `/api/v1/odk/submissions/${(await submissionOf(instanceId)).id}/attachments/back.jpg`,
      t.adminKey,
    );
    expect(back.body).toBe('back.jpg');
  });

  it('keeps a broken submission raw with its error, and rejects what fails validation with reasons', async () => {
    const broken = await submit(t, agent, '<data id="spx_household_registration"><consent>yes</data>');
    expect(broken.statusCode).toBe(400);
    expect(broken.body).toMatch(/not readable: not well-formed XML/);
    const failed = await t.get('/api/v1/odk/submissions?status=failed', t.adminKey);
    expect(failed.json<{ items: { errors: string[]; form_id: string }[] }>().items[0]).toMatchObject({
      form_id: '(unreadable)',
      errors: [expect.stringMatching(/not well-formed/)],
    });

    const noConsent = householdInstance({ ...amina, consent: 'no' });
    expect((await submit(t, agent, noConsent.xml)).statusCode).toBe(201);
    const twoHeads = householdInstance({
      ...amina,
      members: [amina.members[0]!, { ...amina.members[1]!, relationship: 'SELF', birth_date: '2090-01-01' }],
    });
    await submit(t, agent, twoHeads.xml);
    for (const [instance, pattern] of [
      [noConsent.instanceId, /did not consent/],
      [twoHeads.instanceId, /exactly one member must be the head/],
    ] as const) {
      const submission = await submissionOf(instance);
      expect(submission.status).toBe('rejected');
      const change = await t.get(`/api/v1/change-requests/${submission.change_request_id}`, t.adminKey);
      expect(
        change
          .json<{ issues: { detail: string }[] }>()
          .issues.map((i) => i.detail)
          .join('; '),
      ).toMatch(pattern);
    }
    const future = await t.get(
      `/api/v1/change-requests/${(await submissionOf(twoHeads.instanceId)).change_request_id}`,
      t.adminKey,
    );
    expect(future.json<{ issues: { pointer: string }[] }>().issues).toContainEqual(
      expect.objectContaining({ pointer: '/members/1/birth_date' }),
    );
  });

  it('keeps UTF-16 and NUL-holding submissions as their bytes, with the reason, and refuses a body cut short', async () => {
    const { xml } = householdInstance(amina);
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(
        xml.replace("<?xml version='1.0' ?>", '<?xml version="1.0" encoding="UTF-16"?>'),
        'utf16le',
      ),
    ]);
    const withNul = Buffer.from(xml.replace('<consent>', '<consent>\u0000'));
    for (const [bytes, reason] of [
      [utf16, /not UTF-8 text \(UTF-16\?\): send it as UTF-8/],
      [withNul, /holds NUL characters, which XML does not allow/],
    ] as const) {
      const res = await submit(t, agent, bytes);
      expect(res.statusCode).toBe(400);
      expect(res.body).toMatch(reason);
      const kept = await t.database.db
        .selectFrom('odk_submissions')
        .select(['raw', 'status', 'errors', 'form_id'])
        .where('xml_sha256', '=', createHash('sha256').update(bytes).digest('hex'))
        .executeTakeFirstOrThrow();
      expect(kept).toMatchObject({
        status: 'failed',
        form_id: '(unreadable)',
        errors: [expect.stringMatching(reason)],
      });
      expect(Buffer.from(kept.raw!).equals(bytes)).toBe(true);
    }

    const form = new FormData();
    form.append('xml_submission_file', new Blob([xml], { type: 'text/xml' }), 'submission.xml');
    const encoded = new Response(form);
    const body = Buffer.from(await encoded.arrayBuffer());
    const cut = await t.app.inject({
      method: 'POST',
      url: '/odk/submission',
      headers: { authorization: basic(agent), 'content-type': encoded.headers.get('content-type')! },
      payload: body.subarray(0, body.length - 60),
    });
    expect(cut.statusCode).toBe(400);
    expect(cut.body).toMatch(/the multipart body is malformed or cut short/);
  });

  it('holds a possible duplicate for review; the reviewer approves or rejects', async () => {
    const same = householdInstance({
      ...amina,
      members: [
        { ...amina.members[0]!, national_id: 'NID-ODK-1', given_name: 'Asha', birth_date: '1999-09-09' },
      ],
    });
    await submit(t, agent, same.xml);
    const held = await submissionOf(same.instanceId);
    expect(held.status).toBe('pending_review');
    const change = await t.get(`/api/v1/change-requests/${held.change_request_id}`, t.adminKey);
    expect(change.json<{ issues: { code: string; detail: string }[] }>().issues).toEqual([
      expect.objectContaining({
        code: 'duplicate_identifier',
        detail: expect.stringMatching(/^UIN NID-ODK-1 is already held by person /),
      }),
    ]);
    const queue = await t.get('/api/v1/change-requests?status=pending_review', t.adminKey);
    expect(queue.json<{ items: { id: string }[] }>().items.map((c) => c.id)).toContain(
      held.change_request_id,
    );
    const households = await householdCount();
    const approved = await t.app.inject({
      method: 'POST',
      url: `/api/v1/change-requests/${held.change_request_id}/decision`,
      headers: { authorization: `Bearer ${t.adminKey}` },
      payload: { decision: 'approve', reason: 'checked: a different person, ID typo on the card' },
    });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: 'applied', decided_by: expect.any(String) });
    expect(await householdCount()).toBe(households + 1);
    expect((await submissionOf(same.instanceId)).status).toBe('applied');
    const twice = await t.app.inject({
      method: 'POST',
      url: `/api/v1/change-requests/${held.change_request_id}/decision`,
      headers: { authorization: `Bearer ${t.adminKey}` },
      payload: { decision: 'reject', reason: 'too late' },
    });
    expect(twice.statusCode).toBe(409);
  });

  it('refuses unknown forms, oversize bodies, bad credentials and non-multipart bodies with OpenRosa errors', async () => {
    const unknown = householdInstance(amina).xml.replace(
      'id="spx_household_registration"',
      'id="no_such_form"',
    );
    const res = await submit(t, agent, unknown);
    expect(res.statusCode).toBe(404);
    expect(res.body).toMatch(/<message nature="error">No such form no_such_form/);
    const big = await submit(t, agent, householdInstance(amina).xml, [
      { name: 'huge.jpg', type: 'image/jpeg', data: Buffer.alloc(1024 * 1024 + 10) },
    ]);
    expect(big.statusCode).toBe(413);
    expect((await submit(t, 'spx_nope', householdInstance(amina).xml)).statusCode).toBe(401);
    const plain = await t.app.inject({
      method: 'POST',
      url: '/odk/submission',
      headers: { authorization: basic(agent), 'content-type': 'text/xml' },
      payload: householdInstance(amina).xml,
    });
    expect([400, 415]).toContain(plain.statusCode);
    expect(plain.headers['x-openrosa-version']).toBe('1.0');
    const noXml = new FormData();
    noXml.append('photo.jpg', new Blob([new Uint8Array([120])], { type: 'image/jpeg' }), 'photo.jpg');
    const encoded = new Response(noXml);
    const missing = await t.app.inject({
      method: 'POST',
      url: '/odk/submission',
      headers: { authorization: basic(agent), 'content-type': encoded.headers.get('content-type')! },
      payload: Buffer.from(await encoded.arrayBuffer()),
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toMatch(/no xml_submission_file part/);
  });
});
