import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedFormXml } from '#odk/forms';
import { enqueueDuePulls } from '#odk/central/schedule';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea } from '#test/factories';
import { householdInstance, type Member } from './collect.ts';
import { startFakeCentral, type FakeCentral } from './fake-central.ts';

/**
 * Pulling from ODK Central (a fake on 127.0.0.1): two pulls import each submission once, only what
 * is new is fetched, attachments come along, rejected submissions stay out, the status API tells the
 * last pull; wrong credentials and unknown form versions fail the pull with a clear error. Central
 * is reached through the SSRF guard: a loopback or private host only when the source allows it, no
 * redirect followed, and the status never repeats what Central (or whatever answered) said.
 */

interface Source {
  name: string;
  cursor_at: string | null;
  last_pull: {
    status: string;
    error: string | null;
    counts: Record<string, number> | null;
    job_id: string | null;
  };
}

let t: TestApp;
let central: FakeCentral;

const FORM = 'spx_household_registration';
const person = (given: string): Member => ({
  given_name: given,
  family_name: 'Kileo',
  sex: 'female',
  birth_date: '1988-08-08',
  relationship: 'SELF',
});
const addSubmission = (
  given: string,
  submittedAt: string,
  extra: Partial<FakeCentral['submissions'][number]> = {},
) => {
  const { xml, instanceId } = householdInstance({ admin_area: 'R04', members: [person(given)] });
  central.submissions.push({ instanceId, submittedAt, xml, ...extra });
  return instanceId;
};
const send = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
  t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${t.adminKey}` },
    ...(payload ? { payload } : {}),
  });
const source = async (name: string) =>
  (await t.get(`/api/v1/odk/central-sources/${name}`, t.adminKey)).json<Source>();

async function pull(name: string): Promise<Source> {
  const res = await send('POST', `/api/v1/odk/central-sources/${name}/pull`);
  expect(res.statusCode, res.body).toBe(202);
  const { job_id } = res.json<{ job_id: string }>();
  await expect
    .poll(async () => (await t.get(`/api/v1/jobs/${job_id}`, t.adminKey)).json<{ status: string }>().status, {
      timeout: 20_000,
      interval: 100,
    })
    .toMatch(/^(succeeded|failed|cancelled|retrying)$/);
  return source(name);
}
const importedFromCentral = async () =>
  (
    await t.database.db
      .selectFrom('odk_submissions')
      .select('instance_id')
      .where('source', '=', 'central')
      .execute()
  ).map((r) => r.instance_id);

beforeAll(async () => {
  central = await startFakeCentral(FORM);
  t = await createTestApp({ jobsEnabled: true });
  await insertArea(t.database.db, 'R04');
});
afterAll(async () => {
  await t.close();
  await central.close();
});

describe('ODK Central pulls', () => {
  const ids: string[] = [];

  it('pulls every submission with its attachments into the registry', async () => {
    ids.push(
      addSubmission('Asha', '2026-11-20T08:00:00.000Z', {
        attachments: [{ name: 'dwelling.jpg', type: 'image/jpeg', data: Buffer.from('jpeg bytes') }],
      }),
    );
    ids.push(addSubmission('Bahati', '2026-11-20T09:30:00.000Z'));
    addSubmission('Rejected', '2026-11-20T10:00:00.000Z', { reviewState: 'rejected' });
    const created = await send('POST', '/api/v1/odk/central-sources', {
      name: 'kibaha',
      base_url: `${central.url}/`,
      project_id: central.projectId,
      form_id: FORM,
      auth: { kind: 'session', email: central.email, password: central.password },
      allow_private_addresses: true, // the fake runs on 127.0.0.1
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).not.toContain(central.password);

    const after = await pull('kibaha');
    expect(after.last_pull).toMatchObject({
      status: 'ok',
      error: null,
      counts: { listed: 2, imported: 2, already: 0, failed: 0 },
    });
    expect(after.cursor_at).toBe('2026-11-20T09:30:00.000Z');
    expect((await importedFromCentral()).sort()).toEqual([...ids].sort());
    const names = await t.database.db
      .selectFrom('individuals')
      .select('given_name')
      .where('family_name', '=', 'Kileo')
      .execute();
    expect(names.map((n) => n.given_name).sort()).toEqual(['Asha', 'Bahati']);
    const photo = await t.database.db.selectFrom('odk_attachments').select(['name', 'content']).execute();
    expect(photo.map((p) => [p.name, Buffer.from(p.content).toString()])).toEqual([
      ['dwelling.jpg', 'jpeg bytes'],
    ]);
  });

  it('imports only what is new on the next pull, each submission once', async () => {
    ids.push(addSubmission('Chausiku', '2026-11-21T07:00:00.000Z'));
    const before = central.requests.length;
    const after = await pull('kibaha');
    expect(after.last_pull.counts).toEqual({ listed: 2, imported: 1, already: 1, failed: 0 });
    expect((await importedFromCentral()).sort()).toEqual([...ids].sort());
    // Only the new submission's XML was fetched.
    expect(central.requests.slice(before).filter((r) => r.endsWith('.xml'))).toHaveLength(1);
    const again = await pull('kibaha');
    expect(again.last_pull.counts).toEqual({ listed: 1, imported: 0, already: 1, failed: 0 });
  });

  it('works with an app user key too', async () => {
    await send('POST', '/api/v1/odk/central-sources', {
      name: 'app-user',
      base_url: central.url,
      project_id: central.projectId,
      form_id: FORM,
      auth: { kind: 'app_user', token: central.appUserKey },
      allow_private_addresses: true,
    });
    const after = await pull('app-user');
    expect(after.last_pull).toMatchObject({ status: 'ok', counts: { listed: 3, imported: 0, already: 3 } });
    expect(central.requests).toContain(
      `GET /v1/key/${central.appUserKey}/projects/7/forms/${FORM}.svc/Submissions`,
    );
  });

  it('stops before a submission of a form version it lacks, and goes on once it is uploaded', async () => {
    const v3 = shippedFormXml().replace('version="2026120701"', 'version="2026120703"');
    const { xml, instanceId } = householdInstance(
      { admin_area: 'R04', members: [person('Dalila')] },
      '2026120703',
    );
    central.submissions.push({ instanceId, submittedAt: '2026-11-22T07:00:00.000Z', xml });
    const stopped = await pull('kibaha');
    expect(stopped.last_pull.status).toBe('error');
    expect(stopped.last_pull.error).toMatch(
      /No such form spx_household_registration version 2026120703; upload that form version, then pull again/,
    );
    expect(stopped.cursor_at).toBe('2026-11-21T07:00:00.000Z');
    const uploaded = await t.app.inject({
      method: 'POST',
      url: '/api/v1/odk/forms',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/xml' },
      payload: v3,
    });
    expect(uploaded.statusCode).toBe(201);
    const resumed = await pull('kibaha');
    expect(resumed.last_pull).toMatchObject({ status: 'ok', counts: { imported: 1 } });
    expect(await importedFromCentral()).toContain(instanceId);
  });

  it('reports refused credentials in the status, and enqueues scheduled pulls once per interval', async () => {
    await send('PATCH', '/api/v1/odk/central-sources/kibaha', {
      auth: { kind: 'session', email: central.email, password: 'wrong' },
    });
    const refused = await pull('kibaha');
    expect(refused.last_pull.status).toBe('error');
    expect(refused.last_pull.error).toBe(
      'ODK Central answered HTTP 401 (check the credentials and the role on the project)',
    );

    await send('PATCH', '/api/v1/odk/central-sources/app-user', { interval_minutes: 60 });
    const first = await enqueueDuePulls(t.database.db, t.app.jobs);
    expect(first).toHaveLength(1);
    expect(await enqueueDuePulls(t.database.db, t.app.jobs)).toEqual([]);
    expect((await source('app-user')).last_pull.job_id).toBe(first[0]);
  });

  it('refuses bad sources: unknown form, duplicate name, bad URL or credentials shape, non-admins', async () => {
    const base = {
      base_url: central.url,
      project_id: 7,
      form_id: FORM,
      auth: { kind: 'app_user', token: 'x' },
      allow_private_addresses: true,
    };
    const unknownForm = await send('POST', '/api/v1/odk/central-sources', {
      ...base,
      name: 'other',
      form_id: 'not_here',
    });
    expect(unknownForm.statusCode).toBe(400);
    expect(unknownForm.json<{ detail: string }>().detail).toMatch(/SP Exchange has no form not_here/);
    expect((await send('POST', '/api/v1/odk/central-sources', { ...base, name: 'kibaha' })).statusCode).toBe(
      409,
    );
    expect(
      (await send('POST', '/api/v1/odk/central-sources', { ...base, name: 'x', base_url: 'ftp://central' }))
        .statusCode,
    ).toBe(400);
    expect(
      (
        await send('POST', '/api/v1/odk/central-sources', {
          ...base,
          name: 'x',
          auth: { kind: 'session', email: 'a@b.c' },
        })
      ).statusCode,
    ).toBe(400);
    expect((await send('POST', '/api/v1/odk/central-sources/nope/pull')).statusCode).toBe(404);
    const agent = await t.keyFor('field_agent');
    expect((await t.get('/api/v1/odk/central-sources', agent)).statusCode).toBe(403);
    expect((await send('DELETE', '/api/v1/odk/central-sources/app-user')).statusCode).toBe(204);
    expect((await t.get('/api/v1/odk/central-sources/app-user', t.adminKey)).statusCode).toBe(404);
  });
});

/** A server on 127.0.0.1 that records what it receives; answers as `handle` does. */
async function listen(handle: RequestListener) {
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(`${req.method} ${req.url}`);
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('ODK Central behind the SSRF guard', () => {
  const source = (name: string, base_url: string, extra: object = {}) =>
    send('POST', '/api/v1/odk/central-sources', {
      name,
      base_url,
      project_id: central.projectId,
      form_id: FORM,
      auth: { kind: 'session', email: central.email, password: central.password },
      ...extra,
    });

  it('refuses a source whose host is this machine, however it is written, and sends it nothing', async () => {
    const port = new URL(central.url).port;
    const before = central.requests.length;
    const forms = [
      '127.0.0.1',
      'localhost',
      hostname(),
      '[::1]',
      '2130706433',
      '0177.0.0.1',
      '[::ffff:127.0.0.1]',
      '0.0.0.0',
      '[::127.0.0.1]',
      '[::ffff:0:7f00:1]',
    ];
    for (const [i, host] of forms.entries()) {
      const res = await source(`loopback-${i}`, `http://${host}:${port}`);
      expect(res.statusCode, host).toBe(400);
      expect(res.json<{ errors: { pointer: string }[] }>().errors[0]!.pointer).toBe('/base_url');
    }
    expect(central.requests.length).toBe(before);
  });

  it('refuses to pull from a loopback host once private addresses are no longer allowed', async () => {
    expect((await source('was-allowed', central.url, { allow_private_addresses: true })).statusCode).toBe(
      201,
    );
    await send('PATCH', '/api/v1/odk/central-sources/was-allowed', { allow_private_addresses: false });
    const before = central.requests.length;
    const refused = await pull('was-allowed');
    expect(refused.last_pull.status).toBe('error');
    expect(refused.last_pull.error).toMatch(/resolves to a private or loopback address: refused/);
    expect(central.requests.length).toBe(before);
  });

  it('follows no redirect and repeats nothing of what answered', async () => {
    const internal = await listen((_req, res) => res.end('internal service'));
    const redirector = await listen((req, res) =>
      res
        .writeHead(302, { location: `http://127.0.0.1:${internal.port}${req.url}` })
        .end('moved: secret internal detail'),
    );
    const said = await listen((_req, res) =>
      res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>db01 password expired</h1>'),
    );
    try {
      await source('redirecting', `http://127.0.0.1:${redirector.port}`, { allow_private_addresses: true });
      const moved = await pull('redirecting');
      expect(moved.last_pull.error).toBe(
        'ODK Central answered HTTP 302 (a redirect: redirects are not followed, set base_url to where Central answers)',
      );
      expect(redirector.received).toEqual(['POST /v1/sessions']);
      expect(internal.received).toEqual([]);

      await source('talkative', `http://127.0.0.1:${said.port}`, { allow_private_addresses: true });
      expect((await pull('talkative')).last_pull.error).toBe('ODK Central answered HTTP 500');
    } finally {
      await Promise.all([internal.close(), redirector.close(), said.close()]);
    }
  });
});
