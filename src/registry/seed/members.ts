/**
 * The members of a household: a head, often a spouse, children, and now and then a grandparent, a
 * sibling or another relative. Relationship codes are those of the DCI RelationshipTypeEnum (SELF,
 * SPS, CHILD, GRPRN, SIB, EXT). Ages follow the family: children are at least 15 years younger than
 * their parents, grandparents older than the head.
 */
import { AS_OF, civil, yearsBetween } from './calendar.ts';
import type { Household } from './households.ts';
import { familyName, givenName, keepsFamilyName, middleName, type Sex } from './names.ts';
import { mobileNumber, type NumberSource } from './numbers.ts';
import { clamp, type Rng, Weighted } from './random.ts';

export type Relationship = 'SELF' | 'SPS' | 'CHILD' | 'GRPRN' | 'SIB' | 'EXT';
export type Marital = 'single' | 'married' | 'divorced' | 'widowed' | 'separated';

export interface Identifier {
  type: 'UIN' | 'BRN' | 'VOTER_ID';
  value: string;
  issuedBy: string;
}

export interface Person {
  id: string;
  householdId: string;
  relationship: Relationship;
  givenName: string;
  middleName: string | null;
  familyName: string;
  sex: Sex;
  birthDay: number;
  /** Completed years on the AS_OF day. */
  age: number;
  phone: string | null;
  marital: Marital | null;
  disability: string | null;
  deceasedDay: number | null;
  /** Registered with the household, or, if born later, when the birth was added to the record. */
  registeredDay: number;
  registeredSecond: number;
  consentSharing: boolean;
  consentContact: boolean;
  identifiers: Identifier[];
}

/** Household sizes 1 to 12 (weights in %): mean about 4.7, as in East African household surveys. */
const SIZE = new Weighted(
  [8, 12, 15, 17, 15, 12, 8, 5, 3, 2, 1.5, 1.5].map((weight, i) => [i + 1, weight] as const),
);

const DISABILITY = Weighted.of({ mobility: 35, visual: 25, hearing: 20, cognitive: 20 });

/** Marital status of persons without a spouse in the household, by age (below 30, below 60, older). */
const UNPARTNERED_BY_AGE: ReadonlyArray<readonly [number, Weighted<Marital>]> = [
  [30, Weighted.of({ single: 70, separated: 15, divorced: 10, widowed: 5 })],
  [60, Weighted.of({ single: 25, separated: 25, divorced: 25, widowed: 25 })],
  [Infinity, Weighted.of({ single: 15, separated: 10, divorced: 10, widowed: 65 })],
];

interface Draft {
  relationship: Relationship;
  sex: Sex;
  /** Target age in years; the drawn birth day lands within a year of it. */
  age: number;
  familyName: string;
  marital?: Marital;
}

/** Generates the members of a household, head first. */
export function generateMembers(rng: Rng, household: Household, numbers: NumberSource): Person[] {
  const size = SIZE.draw(rng);
  const locale = household.locale;
  const headSex: Sex = rng.chance(0.7) ? 'male' : 'female';
  const headFamily = familyName(rng, locale);
  const married = size >= 2 && rng.chance(size >= 3 ? 0.8 : 0.55);
  const head = person(rng, household, numbers, {
    relationship: 'SELF',
    sex: headSex,
    age: Math.round(clamp(rng.normal(married ? 40 : 46, 15), 18, 85)),
    familyName: headFamily,
    ...(married ? { marital: 'married' } : {}),
  });
  const members = [head];
  let fatherFamily = headSex === 'male' ? headFamily : null;
  let youngestParent = head.age;
  if (married) {
    const spouse = person(rng, household, numbers, spouseOf(rng, head, locale));
    members.push(spouse);
    fatherFamily ??= spouse.familyName;
    youngestParent = Math.min(youngestParent, spouse.age);
  }
  while (members.length < size) {
    const draft = relative(rng, head, youngestParent, fatherFamily ?? headFamily, locale);
    members.push(person(rng, household, numbers, draft));
  }
  return members;
}

function spouseOf(rng: Rng, head: Person, locale: Household['locale']): Draft {
  const sex: Sex = head.sex === 'male' ? 'female' : 'male';
  // Husbands are on average about four years older than their wives.
  const gap = rng.normal(4, 4) * (sex === 'female' ? -1 : 1);
  const wifeKeepsName = keepsFamilyName(rng, locale);
  return {
    relationship: 'SPS',
    sex,
    age: Math.round(clamp(head.age + gap, 18, 90)),
    familyName: sex === 'female' && !wifeKeepsName ? head.familyName : familyName(rng, locale),
    marital: 'married',
  };
}

/** A further member: mostly the couple's children, sometimes another relative. */
function relative(
  rng: Rng,
  head: Person,
  youngestParent: number,
  family: string,
  locale: Household['locale'],
): Draft {
  const roll = rng.float();
  const sex: Sex = rng.chance(0.5) ? 'male' : 'female';
  if (roll < 0.05 && head.age <= 65) {
    return { relationship: 'GRPRN', sex, age: Math.min(98, head.age + rng.int(18, 35)), familyName: family };
  }
  if (roll < 0.1) {
    return {
      relationship: 'SIB',
      sex,
      age: clamp(head.age + rng.int(-12, 12), 5, 95),
      familyName: head.familyName,
    };
  }
  // Children are at least 17 years younger than the younger parent: the drawn birth day can move an age by
  // one year, and the registry rule checked downstream is "15 years or more".
  const oldestChild = Math.min(youngestParent - 17, youngestParent >= 60 ? 45 : 25);
  if (roll < 0.14 || oldestChild < 0) {
    return { relationship: 'EXT', sex, age: rng.int(0, 70), familyName: familyName(rng, locale) };
  }
  return { relationship: 'CHILD', sex, age: rng.int(0, oldestChild), familyName: family };
}

function person(rng: Rng, household: Household, numbers: NumberSource, draft: Draft): Person {
  const birthDay = AS_OF - Math.floor((draft.age + rng.float()) * 365.2425);
  const age = yearsBetween(birthDay, AS_OF);
  const adult = age >= 18;
  const phone = rng.chance(adult ? (age >= 65 ? 0.5 : 0.82) : age >= 15 ? 0.2 : 0) ? mobileNumber(rng) : null;
  const bornLater = birthDay >= household.registeredDay;
  const registeredDay = bornLater ? Math.min(AS_OF, birthDay + rng.int(14, 180)) : household.registeredDay;
  return {
    id: rng.uuid(),
    householdId: household.id,
    relationship: draft.relationship,
    givenName: givenName(rng, household.locale, draft.sex),
    middleName: middleName(rng, household.locale, draft.sex),
    familyName: draft.familyName,
    sex: draft.sex,
    birthDay,
    age,
    phone,
    marital: draft.marital ?? maritalStatus(rng, draft.relationship, age),
    // Disability becomes more common with age: about 4% overall, as in census disability modules.
    disability: rng.chance(0.015 + age * 0.0009) ? DISABILITY.draw(rng) : null,
    deceasedDay: draft.relationship === 'SELF' ? null : deceasedDay(rng, age, registeredDay),
    registeredDay,
    registeredSecond: bornLater ? rng.int(8 * 3600, 17 * 3600) : household.registeredSecond,
    consentSharing: rng.chance(0.93),
    consentContact: rng.chance(phone ? 0.88 : 0.3),
    identifiers: identifiersOf(rng, numbers, age, birthDay),
  };
}

function maritalStatus(rng: Rng, relationship: Relationship, age: number): Marital | null {
  if (age < 15) {
    return null;
  }
  if (relationship === 'GRPRN') {
    return rng.chance(0.7) ? 'widowed' : 'married';
  }
  if (relationship !== 'SELF' && age < 25) {
    return rng.chance(0.9) ? 'single' : 'married';
  }
  if (relationship !== 'SELF' && rng.chance(0.4)) {
    return 'married';
  }
  return UNPARTNERED_BY_AGE.find(([below]) => age < below)![1].draw(rng);
}

/** About 1% of members died after registration (more among the old); the record stays, flagged. */
function deceasedDay(rng: Rng, age: number, registeredDay: number): number | null {
  const from = registeredDay + 1;
  if (from >= AS_OF || !rng.chance(age >= 60 ? 0.12 : 0.008)) {
    return null;
  }
  return rng.int(from, AS_OF - 1);
}

function identifiersOf(rng: Rng, numbers: NumberSource, age: number, birthDay: number): Identifier[] {
  const ids: Identifier[] = [];
  if (age >= 18) {
    if (rng.chance(0.96)) {
      ids.push({ type: 'UIN', value: numbers.uin(), issuedBy: 'NIA' });
    }
    if (rng.chance(0.1)) {
      ids.push({ type: 'VOTER_ID', value: numbers.voterId(), issuedBy: 'NEC' });
    }
  } else if (rng.chance(0.5)) {
    // Birth registration is far from universal in East Africa: half of the children have a certificate.
    ids.push({ type: 'BRN', value: numbers.brn(civil(birthDay)[0]), issuedBy: 'CRVS' });
  }
  return ids;
}
