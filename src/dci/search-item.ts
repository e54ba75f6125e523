import { sql, type SqlBool } from 'kysely';
import type { FieldError } from '#platform/problem';
import { agreedPurpose, consentCondition, statedPurpose } from './consent.ts';
import { timestamp } from './envelope.ts';
import { clipMessage, DciError, searchRejection, type SearchReasonCode } from './errors.ts';
import { loadRecords } from './load.ts';
import { planSearch, type SearchCriteria, type SearchPlan } from './query/criteria.ts';
import { countMatches, pageOfIds } from './query/queries.ts';
import {
  ASYNC_SEARCH,
  type SearchContext,
  type SearchRequestItem,
  type SearchResponseItem,
} from './search.ts';

/**
 * One `search_request` item of a search message, answered on its own: rejected with the reason code
 * of its first problem (spec `SearchStatusReasonCode`), or run and answered with a page of records.
 */

/** Errors inside one `search_request` item reject that item only; any other error, the message. */
export function splitErrors(errors: FieldError[]) {
  const envelopeErrors: FieldError[] = [];
  const itemErrors = new Map<number, FieldError[]>();
  for (const error of errors) {
    const match = /^\/message\/search_request\/(\d+)(\/.*)?$/.exec(error.pointer);
    if (match) {
      const index = Number(match[1]);
      itemErrors.set(index, [
        ...(itemErrors.get(index) ?? []),
        { pointer: match[2] ?? '/', detail: error.detail },
      ]);
    } else {
      envelopeErrors.push(error);
    }
  }
  return { envelopeErrors, itemErrors };
}

/**
 * A reference_id names one request of the batch in the response; used twice it names neither, so
 * every item carrying it is rejected rather than guessing which one the sender meant.
 */
export function duplicateReferences(items: readonly unknown[]): Set<string> {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const item of items) {
    const ref = referenceOf(item);
    if (ref !== '') {
      (seen.has(ref) ? duplicates : seen).add(ref);
    }
  }
  return duplicates;
}

const referenceOf = (item: unknown): string => {
  const ref =
    item && typeof item === 'object' ? (item as { reference_id?: unknown }).reference_id : undefined;
  return typeof ref === 'string' ? ref : '';
};

/** One item answered, with what the audit trail keeps of it. */
export interface ItemAnswer {
  item: SearchResponseItem;
  /** Ids of the records returned. */
  subjectIds: string[];
  /** The purpose the item stated, if any. */
  purpose?: string | undefined;
}

/**
 * The answer to one item: its schema errors, a duplicate reference, a rejected search, or a page of
 * records (`answered`: the records the items before it returned).
 */
export async function answerItem(
  item: SearchRequestItem,
  errors: FieldError[] | undefined,
  duplicates: Set<string>,
  ctx: SearchContext,
  answered = 0,
): Promise<ItemAnswer> {
  const reference_id = referenceOf(item);
  const base = { reference_id, timestamp: timestamp(ctx.receiver), ...localeOf(item) };
  const rejected = (code: SearchReasonCode, message: string): ItemAnswer => ({
    item: { ...base, status: 'rjct', status_reason_code: code, status_reason_message: message },
    subjectIds: [],
  });
  if (errors) {
    return rejected(reasonFor(errors), describe(errors));
  }
  if (duplicates.has(reference_id)) {
    return rejected(
      'rjct.reference_id.duplicate',
      `reference_id ${reference_id} is used more than once in this message`,
    );
  }
  try {
    const purpose = agreedPurpose(ctx.principal, statedPurpose(item.search_criteria) ?? ctx.purpose);
    const { ids, ...answer } = await runSearch(item.search_criteria, purpose, ctx, answered);
    return { item: { ...base, status: 'succ', ...answer }, subjectIds: ids, purpose };
  } catch (error) {
    if (error instanceof DciError && error.code.startsWith('rjct.')) {
      return rejected(error.code as SearchReasonCode, clipMessage(error.message));
    }
    throw error;
  }
}

async function runSearch(
  criteria: SearchCriteria,
  purpose: string | undefined,
  ctx: SearchContext,
  answered: number,
): Promise<Pick<SearchResponseItem, 'data' | 'pagination'> & { ids: string[] }> {
  const plan = planSearch(criteria, ctx.registry, ctx.principal, ctx.limits);
  if (ctx.consentRequired) {
    plan.where = sql<SqlBool>`(${plan.where}) and ${consentCondition(plan.entity, purpose)}`;
  }
  const { ids, total } = await pageAndTotal(plan, ctx);
  checkRoom(answered + ids.length, ctx.maxAnswerRecords);
  const records = await loadRecords(ctx.db, plan.shape, ids, ctx.principal);
  return {
    ids,
    data: {
      version: '1.0.0',
      reg_type: plan.regType,
      reg_record_type: plan.recordType,
      reg_records: records,
    },
    pagination: { page_size: plan.page.size, page_number: plan.page.number, total_count: total },
  };
}

/**
 * The page's ids and the number of matches. A first page that is not full already tells the total
 * (most ID lookups): the count, which runs the condition a second time, is needed only otherwise.
 */
async function pageAndTotal(plan: SearchPlan, ctx: SearchContext): Promise<{ ids: string[]; total: number }> {
  const { size, number } = plan.page;
  const { maxRecords } = ctx.limits;
  const page = (offset: number) => pageOfIds(ctx.db, plan.entity, plan.where, plan.order, { size, offset });
  const first = number === 1 ? await page(0) : undefined;
  if (first && first.length < size && first.length <= maxRecords) {
    return { ids: first, total: first.length };
  }
  const total = await countMatches(ctx.db, plan.entity, plan.where, maxRecords);
  if (total > maxRecords) {
    throw searchRejection(
      'rjct.search.too_many_records_found',
      `more than ${maxRecords} records match; narrow the search`,
    );
  }
  return { ids: total === 0 ? [] : (first ?? (await page((number - 1) * size))), total };
}

/**
 * A sync answer is built, signed and sent in one piece: its size is bounded (20 pages of 500 Group
 * records made 40 MB and held every other request for seconds). Past the bound the item is
 * rejected the DCI way, with the reason code of a search that found more than may be answered and
 * the ways to get the records: smaller pages, or the async search, whose answer is delivered later.
 */
function checkRoom(records: number, max: number | undefined): void {
  if (max !== undefined && records > max) {
    throw searchRejection(
      'rjct.search.too_many_records_found',
      `a sync answer holds at most ${max} records and this page would bring it to ${records}: ask for ` +
        'smaller pages (pagination.page_size) or fewer requests per message, or use the async search ' +
        `(${ASYNC_SEARCH})`,
    );
  }
}

/** The reason code for schema errors inside an item, by where the first of them lies. */
function reasonFor(errors: FieldError[]): SearchReasonCode {
  const pointers = errors.map((e) => e.pointer);
  const at = (prefix: string) => pointers.some((p) => p === prefix || p.startsWith(`${prefix}/`));
  if (at('/reference_id')) {
    return 'rjct.reference_id.invalid';
  }
  if (at('/timestamp')) {
    return 'rjct.timestamp.invalid';
  }
  if (pointers.every((p) => p.startsWith('/search_criteria/pagination'))) {
    return 'rjct.pagination.invalid';
  }
  if (pointers.every((p) => p.startsWith('/search_criteria/sort'))) {
    return 'rjct.sort.invalid';
  }
  return 'rjct.search_criteria.invalid';
}

const describe = (errors: FieldError[]) =>
  clipMessage(
    errors
      .slice(0, 3)
      .map((e) => `${e.pointer} ${e.detail}`)
      .join('; '),
  );

/** The request's locale, echoed when it is ISO 639-3 as the response schema requires. */
const localeOf = (item: unknown): { locale?: string } => {
  const locale = item && typeof item === 'object' ? (item as { locale?: unknown }).locale : undefined;
  return typeof locale === 'string' && /^[a-z]{3}$/.test(locale) ? { locale } : {};
};
