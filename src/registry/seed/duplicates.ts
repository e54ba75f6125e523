/**
 * Planted duplicates: persons registered a second time in another household, with the variations that
 * real double registrations show (a typo, swapped names, a birth date off by a day, a month or a year,
 * the same or a mistyped national ID). The pairs are kept as ground truth (seed_planted_duplicates), so
 * that deduplication and fraud checks can be scored against them.
 */
import { AS_OF, civil, dayFromCivil, yearsBetween } from './calendar.ts';
import type { Household } from './households.ts';
import type { Identifier, Person } from './members.ts';
import { type Rng, Weighted } from './random.ts';

export interface PlantedDuplicate {
  originalId: string;
  duplicateId: string;
  /** The variations applied, joined by '+', e.g. 'name_typo+birth_year+uin_same'. */
  variation: string;
}

type Variation =
  'exact' | 'name_typo' | 'name_swap' | 'middle_name' | 'birth_day' | 'birth_month' | 'birth_year';

const VARIATIONS = Weighted.of<Variation>({
  exact: 10,
  name_typo: 35,
  name_swap: 10,
  middle_name: 10,
  birth_day: 15,
  birth_month: 10,
  birth_year: 10,
});

/** Originals wait in a pool of this size; a full pool replaces a random entry, keeping memory bounded. */
const POOL_SIZE = 8192;

/** Chooses originals from earlier households and re-registers them in later ones. */
export class DuplicatePlanter {
  readonly #pool: Person[] = [];
  /** Chance per registered person of one duplicate, so that duplicates / all persons = share. */
  readonly #perPerson: number;

  constructor(share: number) {
    this.#perPerson = share / (1 - share);
  }

  /** Duplicates to add to `household` (never of its own members: those join the pool afterwards). */
  plant(rng: Rng, household: Household, members: readonly Person[]): [Person[], PlantedDuplicate[]] {
    const persons: Person[] = [];
    const planted: PlantedDuplicate[] = [];
    for (let i = 0; i < members.length; i++) {
      const original = rng.chance(this.#perPerson) ? this.#take(rng, household) : undefined;
      if (original) {
        const [duplicate, variation] = reRegister(rng, original, household);
        persons.push(duplicate);
        planted.push({ originalId: original.id, duplicateId: duplicate.id, variation });
      }
    }
    for (const member of members) {
      this.#remember(rng, member);
    }
    return [persons, planted];
  }

  /** A random original from the pool born before this household registered (a few draws, else none). */
  #take(rng: Rng, household: Household): Person | undefined {
    for (let attempt = 0; attempt < 5 && this.#pool.length > 0; attempt++) {
      const index = rng.int(0, this.#pool.length - 1);
      const original = this.#pool[index]!;
      if (original.birthDay < household.registeredDay) {
        this.#pool[index] = this.#pool.at(-1)!;
        this.#pool.pop();
        return original;
      }
    }
    return undefined;
  }

  #remember(rng: Rng, person: Person) {
    if (person.deceasedDay !== null) {
      return;
    }
    if (this.#pool.length < POOL_SIZE) {
      this.#pool.push(person);
    } else {
      this.#pool[rng.int(0, POOL_SIZE - 1)] = person;
    }
  }
}

/** A copy of the original, registered in another household with one or two variations. */
function reRegister(rng: Rng, original: Person, household: Household): [Person, string] {
  const copy: Person = {
    ...original,
    id: rng.uuid(),
    householdId: household.id,
    relationship: 'EXT',
    registeredDay: household.registeredDay,
    registeredSecond: household.registeredSecond,
    phone: rng.chance(0.5) ? original.phone : null,
    identifiers: [],
  };
  const first = VARIATIONS.draw(rng);
  const second = first !== 'exact' && rng.chance(0.3) ? VARIATIONS.draw(rng) : first;
  const tags = [...new Set([first, second])].filter((tag) => apply(rng, copy, tag));
  copy.age = yearsBetween(copy.birthDay, AS_OF);
  const idTag = copyIdentifiers(rng, original.identifiers, copy);
  return [copy, [...(tags.length > 0 ? tags : ['exact']), ...(idTag ? [idTag] : [])].join('+')];
}

/** Applies one variation; false when it does not fit this person (then it is not recorded). */
function apply(rng: Rng, person: Person, variation: Variation): boolean {
  switch (variation) {
    case 'exact':
      return true;
    case 'name_typo':
      if (rng.chance(0.5)) {
        person.givenName = typo(rng, person.givenName);
      } else {
        person.familyName = typo(rng, person.familyName);
      }
      return true;
    case 'name_swap':
      [person.givenName, person.familyName] = [person.familyName, person.givenName];
      return true;
    case 'middle_name':
      // A middle name dropped, or the middle name registered as the given name.
      if (person.middleName === null) {
        return false;
      }
      if (rng.chance(0.5)) {
        person.givenName = person.middleName;
      }
      person.middleName = null;
      return true;
    case 'birth_day':
    case 'birth_month':
    case 'birth_year':
      return shiftBirth(rng, person, variation);
  }
}

function shiftBirth(
  rng: Rng,
  person: Person,
  variation: 'birth_day' | 'birth_month' | 'birth_year',
): boolean {
  const [y, m, d] = civil(person.birthDay);
  const step = rng.chance(0.5) ? -1 : 1;
  const shifted =
    variation === 'birth_day'
      ? person.birthDay + step
      : variation === 'birth_month'
        ? dayFromCivil(y, m + step, Math.min(d, 28))
        : dayFromCivil(y + step, m, Math.min(d, 28));
  // A birth after the (re-)registration would give the duplicate away: skip such shifts.
  if (shifted >= person.registeredDay) {
    return false;
  }
  person.birthDay = shifted;
  return true;
}

const LETTERS = 'aeioubdgklmnrst';

/** One keying error: a letter replaced, dropped, doubled, or two letters swapped; or accents lost. */
export function typo(rng: Rng, name: string): string {
  const plain = name.normalize('NFD').replace(/\p{M}/gu, '');
  if (plain !== name && rng.chance(0.5)) {
    return plain;
  }
  const chars = Array.from(name);
  const at = rng.int(1, chars.length - 1);
  switch (rng.int(0, 3)) {
    case 0:
      chars[at] = pickOther(rng, chars[at]!);
      break;
    case 1:
      chars.splice(at, 1);
      break;
    case 2:
      chars.splice(at, 0, chars[at]!);
      break;
    default:
      [chars[at - 1], chars[at]] = [chars[at]!, chars[at - 1]!];
  }
  const result = chars.join('');
  // Swapping two equal letters changes nothing: replace one instead, so the typo is always visible.
  return result === name || result.length < 2
    ? name.slice(0, at) + pickOther(rng, name[at]!) + name.slice(at + 1)
    : result;
}

function pickOther(rng: Rng, letter: string): string {
  let other = letter;
  while (other === letter) {
    other = LETTERS[rng.int(0, LETTERS.length - 1)]!;
  }
  return other;
}

/** The duplicate's identifiers: the same national ID, a mistyped one, or none. */
function copyIdentifiers(rng: Rng, identifiers: readonly Identifier[], copy: Person): string | null {
  const uin = identifiers.find((id) => id.type === 'UIN');
  const brn = identifiers.find((id) => id.type === 'BRN');
  const roll = rng.float();
  if (uin) {
    if (roll < 0.5) {
      copy.identifiers.push(uin);
      return 'uin_same';
    }
    if (roll < 0.75) {
      copy.identifiers.push({ ...uin, value: mistype(rng, uin.value) });
      return 'uin_typo';
    }
    return 'uin_missing';
  }
  if (brn && roll < 0.5) {
    copy.identifiers.push(brn);
    return 'brn_same';
  }
  return null;
}

/**
 * A national ID with one digit mistyped (never the first, which is not 0, nor the check digit). The Luhn
 * check catches every single-digit error, so the typo is detectable, as it is on real ID numbers.
 */
function mistype(rng: Rng, value: string): string {
  const at = rng.int(1, value.length - 2);
  const digit = (Number(value[at]) + rng.int(1, 9)) % 10;
  return value.slice(0, at) + String(digit) + value.slice(at + 1);
}
