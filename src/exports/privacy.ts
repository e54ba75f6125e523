import { isDeepStrictEqual } from 'node:util';
import { FIELDS_OF, type ExportEntity } from './fields.ts';

/**
 * Whether a new version of an export definition weakens privacy against the version in use, and
 * how (defects issue, item 11: an analyst turned pseudonymisation off on an admin's definition and
 * the integrator's next download carried real ids). Conservative: what cannot be shown to keep the
 * data as protected counts as weakening.
 */

/** What of a definition decides what its exports reveal. */
export interface PrivacySettings {
  entity: string;
  fields: readonly string[];
  filter: unknown;
  include_members: boolean;
  pseudonymise: boolean;
  drop_direct_identifiers: boolean;
}

/** The ways `after` reveals more than `before`, in words; none when it does not. */
export function privacyWeakenings(before: PrivacySettings, after: PrivacySettings): string[] {
  const weakenings: string[] = [];
  if (before.pseudonymise && !after.pseudonymise) {
    weakenings.push('pseudonymisation turned off');
  }
  if (before.drop_direct_identifiers && !after.drop_direct_identifiers) {
    weakenings.push('direct identifiers no longer dropped');
  }
  if (before.entity !== after.entity) {
    weakenings.push(`another entity exported (${before.entity}, now ${after.entity})`);
  } else {
    const added = revealingFields(after).filter((name) => !before.fields.includes(name));
    if (added.length > 0) {
      weakenings.push(`fields holding personal data added: ${added.join(', ')}`);
    }
  }
  if (!before.include_members && after.include_members) {
    weakenings.push('members nested, with every person field');
  }
  if (filterWidened(before.filter, after.filter)) {
    weakenings.push('filter widened (or changed in a way that may widen it)');
  }
  return weakenings;
}

/**
 * The fields of a definition that reveal personal data as it exports them: direct identifiers it
 * does not drop, identifiers it does not pseudonymise, and fields of a protected class (scores,
 * payment accounts; registry/views.ts).
 */
function revealingFields(settings: PrivacySettings): string[] {
  const catalogue = new Map(
    (FIELDS_OF[settings.entity as ExportEntity] ?? []).map((field) => [field.name, field]),
  );
  return settings.fields.filter((name) => {
    const field = catalogue.get(name);
    if (!field || (field.direct === true && settings.drop_direct_identifiers)) {
      return false;
    }
    if (field.pseudonym === true) {
      return !settings.pseudonymise;
    }
    return field.direct === true || field.fieldClass !== undefined;
  });
}

const conditionsOf = (filter: unknown): Record<string, unknown> =>
  filter !== null && typeof filter === 'object' ? (filter as Record<string, unknown>) : {};

/**
 * A filter's top-level conditions all hold at once (the DCI expression query ANDs them): a new
 * filter narrows the old one, or keeps it, when it keeps each of its conditions as it was (and may
 * add others). Any other change may let more records through, and counts as widening.
 */
export function filterWidened(before: unknown, after: unknown): boolean {
  const kept = conditionsOf(after);
  return Object.entries(conditionsOf(before)).some(
    ([key, condition]) => !(key in kept) || !isDeepStrictEqual(kept[key], condition),
  );
}
