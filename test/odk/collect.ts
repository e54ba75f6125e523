import { randomUUID } from 'node:crypto';
import type { TestApp } from '#test/app';

/**
 * What ODK Collect sends: the filled household registration form as instance XML, posted as
 * multipart/form-data with `xml_submission_file` (filename `<instance>.xml`, text/xml) and each
 * attachment under its file name, with `X-OpenRosa-Version: 1.0` and HTTP Basic credentials.
 */

export interface Member {
  given_name: string;
  family_name: string;
  sex: string;
  birth_date: string;
  relationship: string;
  national_id?: string;
  phone?: string;
  disability?: string;
  /** Consent purposes chosen, space-separated as ODK writes a select-multiple answer. */
  consents?: string;
}

export interface Household {
  instanceId?: string;
  consent?: string;
  admin_area: string;
  address?: string;
  gps?: string;
  dwelling_type?: string;
  water_source?: string;
  has_electricity?: string;
  members: Member[];
  photo?: string;
}

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const el = (name: string, value: string | undefined) =>
  value === undefined || value === '' ? `<${name}/>` : `<${name}>${esc(value)}</${name}>`;

export function householdInstance(
  household: Household,
  version = '2026120701',
): { xml: string; instanceId: string } {
  const instanceId = household.instanceId ?? `uuid:${randomUUID()}`;
  const members = household.members
    .map(
      (m) =>
        `<member>${el('given_name', m.given_name)}${el('family_name', m.family_name)}${el('sex', m.sex)}` +
        `${el('birth_date', m.birth_date)}${el('relationship', m.relationship)}${el('national_id', m.national_id)}` +
        `${el('phone', m.phone)}${el('disability', m.disability ?? 'no')}${el('consents', m.consents)}</member>`,
    )
    .join('');
  const xml =
    `<?xml version='1.0' ?><data id="spx_household_registration" version="${version}" ` +
    `xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">` +
    el('consent', household.consent ?? 'yes') +
    `<location>${el('admin_area', household.admin_area)}${el('address', household.address)}${el('gps', household.gps)}</location>` +
    `<dwelling>${el('dwelling_type', household.dwelling_type)}${el('water_source', household.water_source)}${el('has_electricity', household.has_electricity)}</dwelling>` +
    `<members>${members}</members><member_count>${household.members.length}</member_count>` +
    `${el('photo', household.photo)}<signature/>` +
    `<meta><instanceID>${instanceId}</instanceID><instanceName>Household</instanceName></meta></data>`;
  return { xml, instanceId };
}

export const basic = (key: string, user = 'agent') =>
  `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`;

/**
 * POSTs a submission as ODK Collect does (the XML as text, or as bytes in another encoding); answers
 * the response. `incomplete`: more attachments follow in another request (`*isIncomplete*`).
 */
export async function submit(
  t: TestApp,
  key: string,
  xml: string | Buffer,
  attachments: { name: string; type: string; data: Buffer }[] = [],
  { incomplete = false } = {},
) {
  const form = new FormData();
  const bytes = typeof xml === 'string' ? xml : new Uint8Array(xml);
  form.append('xml_submission_file', new Blob([bytes], { type: 'text/xml' }), 'submission.xml');
  if (incomplete) {
    form.append('*isIncomplete*', 'yes');
  }
  for (const a of attachments) {
    form.append(a.name, new Blob([new Uint8Array(a.data)], { type: a.type }), a.name);
  }
  const encoded = new Response(form);
  return t.app.inject({
    method: 'POST',
    url: '/odk/submission',
    headers: {
      authorization: basic(key),
      'x-openrosa-version': '1.0',
      date: new Date().toUTCString(),
      'content-type': encoded.headers.get('content-type')!,
    },
    payload: Buffer.from(await encoded.arrayBuffer()),
  });
}
