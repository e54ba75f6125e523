import { identifierKey } from '#security/anomaly/lookup-keys';
import type { Lookups } from '#platform/http/types';
import { isObject } from './query/condition.ts';
import type { SearchRequestItem, SearchResponseItem } from './search.ts';

/**
 * The identifiers the idtype-value items of a search looked up, and how many of them found a
 * record, for the anomaly guard (request.lookups). Answers pair with items by position; items that
 * were rejected looked nothing up. Expression and predicate searches are not lookups by key.
 * Without answers (an async search, counted when it is accepted), every item asks: whether it
 * finds a record is known only when it is answered, so none counts as a miss.
 */
export function searchLookups(
  items: readonly SearchRequestItem[],
  answers?: readonly SearchResponseItem[],
): Lookups | undefined {
  const keys: string[] = [];
  let found = 0;
  items.forEach((item, index) => {
    const key = idTypeValueKey(item.search_criteria);
    const answer = answers?.[index];
    if (key !== undefined && (!answers || answer?.status === 'succ')) {
      keys.push(key);
      found += !answers || (answer?.data?.reg_records.length ?? 0) > 0 ? 1 : 0;
    }
  });
  return keys.length > 0 ? { keys, found } : undefined;
}

function idTypeValueKey(criteria: unknown): string | undefined {
  if (!isObject(criteria) || criteria['query_type'] !== 'idtype-value' || !isObject(criteria['query'])) {
    return undefined;
  }
  const { type, value } = criteria['query'];
  return typeof type === 'string' && (typeof value === 'string' || typeof value === 'number')
    ? identifierKey(type, String(value))
    : undefined;
}
