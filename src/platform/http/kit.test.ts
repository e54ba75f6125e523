import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { accessTo, problems, principalOf, StringEnum } from './kit.ts';
import { keyset, Keys } from './pagination.ts';
import { ProblemError } from '#platform/problem';

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error instanceof ProblemError ? error.toProblem() : error;
  }
  throw new Error('not refused');
};

describe('the route kit', () => {
  it('documents the problem answers it is given', () => {
    expect(problems(400, 404)).toEqual({ 400: { $ref: 'Problem#' }, 404: { $ref: 'Problem#' } });
  });

  it('declares access with the permission, the audited action and its resource type', () => {
    const manage = accessTo('clients:manage', 'odk_form');
    expect(manage('odk.form.create')).toEqual({
      access: {
        permission: 'clients:manage',
        audit: { action: 'odk.form.create', resourceType: 'odk_form' },
      },
    });
    expect(accessTo('registry:read', 'household', 'social')('household.list', 'person').access).toEqual({
      permission: 'registry:read',
      audit: { action: 'household.list', resourceType: 'person' },
      registry: 'social',
    });
  });

  it('refuses to give a principal where access control set none', () => {
    expect(() => principalOf({})).toThrow(/no principal/);
  });

  it('has a string enum typed as the union of its values, with the JSON schema of Type.String({ enum })', () => {
    const Status = StringEnum(['open', 'closed'], { description: 'state' });
    expectTypeOf<(typeof Status)['static']>().toEqualTypeOf<'open' | 'closed'>();
    expect(JSON.parse(JSON.stringify(Status))).toEqual(
      JSON.parse(JSON.stringify(Type.String({ enum: ['open', 'closed'], description: 'state' }))),
    );
    expect(Value.Check(Type.Object({ s: Status }), { s: 'open' })).toBe(true);
    expect(Value.Check(Type.Object({ s: Status }), { s: 'other' })).toBe(false);
  });
});

describe('keyset cursors', () => {
  const events = keyset('test.events', Keys.seq);
  const visits = keyset('test.visits', Keys.timeAndId);
  const id = '0f8fad5b-d9cb-469f-a165-70867728950e';

  it('resume after the last item of a full page, and end on the last page', () => {
    const rows = [{ seq: '1' }, { seq: '2' }, { seq: '3' }];
    const page = events.page(rows, 2, (row) => row.seq);
    expect(page.items).toEqual(rows.slice(0, 2));
    expect(events.after(page.next_cursor ?? undefined)).toBe('2');
    expect(events.page(rows, 3, (row) => row.seq).next_cursor).toBeNull();
  });

  it('carry a time and an id intact', () => {
    const at = new Date('2026-01-31T08:00:00.000Z');
    expect(visits.after(visits.cursor({ at, id }))).toEqual({ at, id });
  });

  it.each([
    ['not base64 JSON', 'garbage'],
    ['a key of the wrong shape', Buffer.from('{"l":"test.events","k":"1 or 1=1"}').toString('base64url')],
    ['a cursor of another list', keyset('test.other', Keys.seq).cursor('2')],
    ['a cursor without a list', Buffer.from('{"k":"2"}').toString('base64url')],
  ])('refuse %s with a 400 naming the parameter', (_, cursor) => {
    expect(refusal(() => events.after(cursor))).toMatchObject({
      status: 400,
      errors: [{ pointer: 'cursor', detail: 'invalid cursor' }],
    });
    expect(refusal(() => events.after(cursor, 'after'))).toMatchObject({ errors: [{ pointer: 'after' }] });
  });

  it('refuse a time that is no time', () => {
    const cursor = Buffer.from(`{"l":"test.visits","k":"2026-02-31T25:00:00.000Z|${id}"}`).toString(
      'base64url',
    );
    expect(refusal(() => visits.after(cursor))).toMatchObject({ status: 400 });
  });
});
