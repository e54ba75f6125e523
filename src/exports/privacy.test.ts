import { describe, expect, it } from 'vitest';
import { filterWidened, privacyWeakenings, type PrivacySettings } from './privacy.ts';

const before: PrivacySettings = {
  entity: 'individuals',
  fields: ['id', 'sex', 'birth_year'],
  filter: { sex: 'female', YOB: { $lt: 1990 } },
  include_members: false,
  pseudonymise: true,
  drop_direct_identifiers: true,
};
const weakenings = (change: Partial<PrivacySettings>) => privacyWeakenings(before, { ...before, ...change });

describe('privacy weakenings', () => {
  it('finds none in a version that reveals nothing more', () => {
    expect(weakenings({})).toEqual([]);
    expect(weakenings({ fields: ['id'] })).toEqual([]);
    // Fields of no protected class, or left out, or hashed, reveal nothing more.
    expect(weakenings({ fields: [...before.fields, 'marital_status', 'given_name', 'identifiers'] })).toEqual(
      [],
    );
    expect(weakenings({ filter: { ...(before.filter as object), disability: true } })).toEqual([]);
  });

  it('finds pseudonymisation turned off and direct identifiers no longer dropped', () => {
    expect(weakenings({ pseudonymise: false })).toEqual(['pseudonymisation turned off']);
    expect(weakenings({ drop_direct_identifiers: false })).toEqual(['direct identifiers no longer dropped']);
  });

  it('finds fields that reveal personal data added', () => {
    const open = { ...before, pseudonymise: false, drop_direct_identifiers: false };
    const added = privacyWeakenings(open, { ...open, fields: [...open.fields, 'given_name', 'phone'] });
    expect(added).toEqual(['fields holding personal data added: given_name, phone']);
    const score = privacyWeakenings(
      { ...before, entity: 'households', fields: ['id'] },
      { ...before, entity: 'households', fields: ['id', 'pmt_score'] },
    );
    expect(score).toEqual(['fields holding personal data added: pmt_score']);
  });

  it('counts another entity and nested members as weakening', () => {
    expect(weakenings({ entity: 'household_members' })).toEqual([
      'another entity exported (individuals, now household_members)',
    ]);
    expect(weakenings({ include_members: true })).toEqual(['members nested, with every person field']);
  });

  it('counts a filter as widened unless it keeps each condition as it was', () => {
    expect(filterWidened(null, { sex: 'female' })).toBe(false);
    expect(filterWidened({ sex: 'female' }, { sex: 'female', disability: true })).toBe(false);
    expect(filterWidened({ sex: 'female' }, null)).toBe(true);
    expect(filterWidened({ sex: 'female' }, {})).toBe(true);
    expect(filterWidened({ YOB: { $lt: 1990 } }, { YOB: { $lt: 2000 } })).toBe(true);
    // A narrower value is not proven narrower: any change of a condition counts.
    expect(filterWidened({ YOB: { $lt: 1990 } }, { YOB: { $lt: 1980 } })).toBe(true);
    expect(weakenings({ filter: { sex: 'female' } })).toEqual([
      'filter widened (or changed in a way that may widen it)',
    ]);
  });
});
