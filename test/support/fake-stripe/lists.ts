/**
 * Stripe's list semantics: `limit` 1..100 (default 10), `starting_after` / `ending_before` cursors
 * by id, newest first for top-level lists, `created[gt|gte|lt|lte]` ranges, and inline child lists
 * (subscription items, invoice lines, charge refunds) cut at 10 entries with `has_more`.
 */
import { invalidRequest, notFound, stringParam, type FormObject, type FormValue, type StripeObject } from './http.js';

/** How many entries of a child list Stripe embeds in its parent (in lists, retrieves and events). */
export const INLINE_LIMIT = 10;

export interface ApiList<T = StripeObject> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

/** A child list as Stripe embeds it: the first 10 entries, `has_more` when there are more. */
export const inlineList = <T>(data: readonly T[], url: string): ApiList<T> => ({
  object: 'list',
  data: data.slice(0, INLINE_LIMIT),
  has_more: data.length > INLINE_LIMIT,
  url,
});

/**
 * Objects by position, oldest first (index 0). `live` answers undefined for a position whose
 * object was deleted.
 */
export interface IndexedSource {
  noun: string;
  count: number;
  live(index: number): StripeObject | undefined;
  indexOf(id: string): number;
}

interface Page {
  limit: number;
  after?: string;
  before?: string;
}

function pageOf(query: FormObject): Page {
  const raw = stringParam(query, 'limit') ?? '10';
  if (!/^-?\d+$/.test(raw)) throw invalidRequest(`Invalid integer: ${raw}`, { param: 'limit' });
  const limit = Number(raw);
  if (limit < 1) throw invalidRequest('This value must be greater than or equal to 1.', { param: 'limit' });
  if (limit > 100) throw invalidRequest('This value must be less than or equal to 100.', { param: 'limit' });
  const after = stringParam(query, 'starting_after');
  const before = stringParam(query, 'ending_before');
  if (after && before) throw invalidRequest('You may only specify one of these parameters: starting_after, ending_before.');
  return { limit, after, before };
}

/**
 * One page, newest first, of the objects at positions [lo, hi) that `match`. A cursor must name an
 * object of this very list: a deleted one, or one that no longer matches the filters (a
 * subscription canceled while listing active ones), is `resource_missing`, as at Stripe.
 */
export function paginate(
  source: IndexedSource,
  query: FormObject,
  url: string,
  { range = [0, source.count], match }: { range?: [number, number]; match?: ((object: StripeObject) => boolean) | null } = {},
): ApiList {
  const { limit, after, before } = pageOf(query);
  const ok = (object: StripeObject | undefined): object is StripeObject => object !== undefined && (!match || match(object));
  const cursor = (id: string, param: string) => {
    const index = source.indexOf(id);
    if (index < 0 || !ok(source.live(index))) throw notFound(source.noun, id, param);
    return index;
  };
  const [lo, hi] = range;
  const data: StripeObject[] = [];
  let hasMore = false;
  if (before) {
    // Walks up (towards newer) from the cursor, then answers newest first like every page.
    for (let i = Math.max(lo, cursor(before, 'ending_before') + 1); i < hi; i++) {
      const object = source.live(i);
      if (!ok(object)) continue;
      if (data.length === limit) {
        hasMore = true;
        break;
      }
      data.push(object);
    }
    data.reverse();
  } else {
    for (let i = Math.min(hi, after ? cursor(after, 'starting_after') : hi) - 1; i >= lo; i--) {
      const object = source.live(i);
      if (!ok(object)) continue;
      if (data.length === limit) {
        hasMore = true;
        break;
      }
      data.push(object);
    }
  }
  return { object: 'list', data, has_more: hasMore, url };
}

/** One page of a child list in its own order (the order Stripe embeds it in). */
export function paginateArray<T extends { id: string }>(all: readonly T[], query: FormObject, url: string, noun: string): ApiList<T> {
  const { limit, after, before } = pageOf(query);
  const position = (id: string, param: string) => {
    const i = all.findIndex((entry) => entry.id === id);
    if (i < 0) throw notFound(noun, id, param);
    return i;
  };
  if (before) {
    const end = position(before, 'ending_before');
    const start = Math.max(0, end - limit);
    return { object: 'list', data: all.slice(start, end), has_more: start > 0, url };
  }
  const start = after ? position(after, 'starting_after') + 1 : 0;
  return { object: 'list', data: all.slice(start, start + limit), has_more: start + limit < all.length, url };
}

/** Parses `created=N` or `created[gt|gte|lt|lte]=N` into inclusive bounds. */
export function rangeBounds(filter: FormValue | undefined, param: string): { min: number; max: number } | null {
  if (filter === undefined) return null;
  const ops: FormObject = typeof filter === 'string' ? { gte: filter, lte: filter } : Array.isArray(filter) ? { '': '' } : filter;
  let min = -Infinity;
  let max = Infinity;
  for (const [op, raw] of Object.entries(ops)) {
    const t = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!['gt', 'gte', 'lt', 'lte'].includes(op)) {
      throw invalidRequest(`Received unknown parameter: ${param}[${op}]`, { param: `${param}[${op}]` });
    }
    if (Number.isNaN(t)) throw invalidRequest(`Invalid integer: ${String(raw)}`, { param: `${param}[${op}]` });
    if (op === 'gt') min = Math.max(min, t + 1);
    if (op === 'gte') min = Math.max(min, t);
    if (op === 'lt') max = Math.min(max, t - 1);
    if (op === 'lte') max = Math.min(max, t);
  }
  return { min, max };
}

/** Positions [lo, hi) whose time is within `bounds`, for times that never decrease with the position. */
export function positionsWithin(
  count: number,
  timeAt: (index: number) => number,
  bounds: { min: number; max: number } | null,
): [number, number] {
  if (!bounds) return [0, count];
  const firstAtLeast = (t: number) => {
    let [lo, hi] = [0, count];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (timeAt(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const lo = firstAtLeast(bounds.min);
  const hi = bounds.max === Infinity ? count : firstAtLeast(bounds.max + 1);
  return [lo, Math.max(lo, hi)];
}
