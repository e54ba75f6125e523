import type * as XFormsEngine from '@getodk/xforms-engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedFormXml } from '#odk/forms';
import { readXForm } from '#odk/xform';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea } from '#test/factories';
import { submit } from './collect.ts';

/**
 * The shipped household registration form run by ODK's own form engine (@getodk/xforms-engine, the
 * engine of ODK Web Forms): it loads and instantiates the form (its XPath expressions compile, its
 * binds evaluate), enforces the form's own rules (required consent, constraints), and the instance it
 * serialises, submitted over OpenRosa, becomes a household in the registry.
 *
 * The engine needs a DOM: jsdom's, installed as globals before the engine is imported (its bundled
 * XPath parser also reads __dirname, which ESM lacks).
 */

interface EngineNode {
  nodeType: string;
  currentState: { reference: string; children?: readonly EngineNode[] | null };
  setValue?(value: unknown): void;
  selectValue?(value: string): void;
  selectValues?(values: readonly string[]): void;
  addInstances?(): void;
}
type Engine = typeof XFormsEngine;

let engine: Engine;
let t: TestApp;

beforeAll(async () => {
  const { JSDOM } = await import('jsdom');
  const { window } = new JSDOM('');
  Object.assign(globalThis, { DOMParser: window.DOMParser, Node: window.Node, document: window.document });
  (globalThis as { __dirname?: string }).__dirname ??= '/';
  engine = await import('@getodk/xforms-engine');
  t = await createTestApp();
  await insertArea(t.database.db, 'R02');
  await insertArea(t.database.db, 'R02-D01', 'R02');
  await insertArea(t.database.db, 'R02-D01-V007', 'R02-D01');
}, 60_000);
afterAll(() => t.close());

const nodes = (node: EngineNode, into: EngineNode[] = []): EngineNode[] => {
  into.push(node);
  for (const child of node.currentState.children ?? []) {
    nodes(child, into);
  }
  return into;
};

async function filledInstance() {
  const form = await engine.loadForm(shippedFormXml());
  expect(form.status, String(form.error)).not.toBe('failure');
  const { root } = form.createInstance();
  const at = (reference: string) => {
    const node = nodes(root as unknown as EngineNode).find((n) => n.currentState.reference === reference);
    if (!node) {
      throw new Error(`no node ${reference}`);
    }
    return node;
  };
  return { root, at };
}

describe('the shipped XForm in the ODK form engine', () => {
  it('is valid by our checks and the engine loads and instantiates it', async () => {
    expect(readXForm(shippedFormXml())).toMatchObject({
      formId: 'spx_household_registration',
      version: '2026120701',
    });
    const { root } = await filledInstance();
    const payload = await root.prepareInstancePayload();
    // Nothing answered yet: the engine holds it back on the required consent.
    expect(payload.status).toBe('pending');
    expect(payload.violations?.map((v) => v.reference)).toEqual(['/data/consent']);
  });

  it('enforces the form rules: required names, a birth date not in the future', async () => {
    const { root, at } = await filledInstance();
    at('/data/consent').selectValue!('yes');
    at('/data/location/admin_area').setValue!('R02-D01-V007');
    at('/data/members/member').addInstances!();
    at('/data/members/member[1]/birth_date').setValue!('2999-01-01');
    const payload = await root.prepareInstancePayload();
    expect(payload.status).toBe('pending');
    expect(payload.violations?.map((v) => `${v.reference} ${v.violation.condition}`)).toEqual(
      expect.arrayContaining([
        '/data/members/member[1]/given_name required',
        '/data/members/member[1]/birth_date constraint',
      ]),
    );
  });

  it('fills a household of two and its submission registers it', async () => {
    const { root, at } = await filledInstance();
    at('/data/consent').selectValue!('yes');
    at('/data/location/admin_area').setValue!('R02-D01-V007');
    at('/data/location/gps').setValue!('-3.3869 36.6830 1400 5');
    at('/data/dwelling/dwelling_type').selectValue!('permanent');
    at('/data/dwelling/has_electricity').selectValue!('yes');
    const repeat = at('/data/members/member');
    repeat.addInstances!();
    repeat.addInstances!();
    const people = [
      ['Neema', 'Mollel', 'female', '1979-04-02', 'SELF', 'NID-WEB-1'],
      ['Lemayan', 'Mollel', 'male', '2011-12-24', 'CHILD', ''],
    ];
    people.forEach(([given, family, sex, born, relation, nid], n) => {
      const member = `/data/members/member[${n + 1}]`;
      at(`${member}/given_name`).setValue!(given);
      at(`${member}/family_name`).setValue!(family);
      at(`${member}/sex`).selectValue!(sex!);
      at(`${member}/birth_date`).setValue!(born);
      at(`${member}/relationship`).selectValue!(relation!);
      if (nid) {
        at(`${member}/national_id`).setValue!(nid);
      }
    });
    at('/data/members/member[1]/consents').selectValues!(['eligibility', 'cash_transfer']);
    const payload = await root.prepareInstancePayload();
    expect(payload.violations).toBeNull();
    const xml = await (payload.data[0].get('xml_submission_file') as File).text();
    expect(xml).toMatch(/<instanceID>uuid:[0-9a-f-]{36}<\/instanceID>/);

    const res = await submit(
      t,
      await t.keyFor('field_agent'),
      `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`,
    );
    expect(res.statusCode, res.body).toBe(201);
    const registered = await t.database.db
      .selectFrom('individuals as i')
      .innerJoin('households as h', 'h.id', 'i.household_id')
      .select([
        'i.given_name',
        'i.relationship_to_head',
        'h.admin_area_code',
        'h.latitude',
        'h.has_electricity',
      ])
      .where('i.family_name', '=', 'Mollel')
      .orderBy('i.given_name', 'desc')
      .execute();
    expect(registered).toEqual([
      {
        given_name: 'Neema',
        relationship_to_head: 'SELF',
        admin_area_code: 'R02-D01-V007',
        latitude: -3.3869,
        has_electricity: true,
      },
      {
        given_name: 'Lemayan',
        relationship_to_head: 'CHILD',
        admin_area_code: 'R02-D01-V007',
        latitude: -3.3869,
        has_electricity: true,
      },
    ]);
    // The select-multiple answer, as the engine writes it, becomes Neema's consents.
    const consents = await t.database.db
      .selectFrom('consents as c')
      .innerJoin('individuals as i', 'i.id', 'c.individual_id')
      .select(['i.given_name', 'c.purpose', 'c.channel'])
      .where('i.family_name', '=', 'Mollel')
      .orderBy('c.purpose')
      .execute();
    expect(consents).toEqual([
      { given_name: 'Neema', purpose: 'cash_transfer', channel: 'odk' },
      { given_name: 'Neema', purpose: 'eligibility', channel: 'odk' },
    ]);
  });
});
