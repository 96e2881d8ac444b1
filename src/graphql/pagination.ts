import { badInput } from './errors.js';

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Keyset {
  createdAt: Date;
  id: string;
}

/** Opaque to clients; versioned and checked so a forged cursor is a clear error, not a crash. */
export function encodeCursor(key: Keyset): string {
  return Buffer.from(`k1:${key.createdAt.toISOString()}:${key.id}`).toString('base64url');
}

export function decodeCursor(cursor: string, argName: string): Keyset {
  const match = /^k1:(\d{4}-\d{2}-\d{2}T[\d:.]+Z):([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString());
  const createdAt = match ? new Date(match[1] as string) : null;
  if (!match || !createdAt || Number.isNaN(createdAt.getTime())) {
    throw badInput([{ field: argName, message: 'is not a cursor returned by this API' }], 'Invalid cursor.');
  }
  return { createdAt, id: match[2] as string };
}

export interface PagePlan {
  /** Rows to fetch: one more than the page so hasNextPage/hasPreviousPage need no extra query. */
  take: number;
  size: number;
  /** true when paging backwards (`last`/`before`): fetch in ascending order, then reverse. */
  backwards: boolean;
  cursor: Keyset | null;
}

export function planPage(args: PageArgs, { defaultSize = 10, maxSize = 100 } = {}): PagePlan {
  const problems = [];
  if (args.after != null && args.before != null) problems.push({ field: 'before', message: 'cannot be combined with after' });
  if (args.first != null && args.last != null) problems.push({ field: 'last', message: 'cannot be combined with first' });
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 1 || value > maxSize)) problems.push({ field: name, message: `must be between 1 and ${maxSize}` });
  }
  if (problems.length > 0) throw badInput(problems, 'Invalid pagination arguments.');
  const backwards = args.last != null || args.before != null;
  const size = (backwards ? args.last : args.first) ?? defaultSize;
  const rawCursor = backwards ? args.before : args.after;
  return { take: size + 1, size, backwards, cursor: rawCursor ? decodeCursor(rawCursor, backwards ? 'before' : 'after') : null };
}

/**
 * Prisma `where` for "newest first" keyset order (createdAt desc, id desc): rows strictly after
 * the cursor in the direction of travel. A stable key means inserts never cause duplicates or gaps.
 * The plain range on createdAt comes first so the (…, created_at, id) index bounds the scan:
 * deep pages cost what the first page costs.
 */
export function keysetWhere(plan: PagePlan) {
  if (!plan.cursor) return {};
  const { createdAt, id } = plan.cursor;
  return plan.backwards
    ? { createdAt: { gte: createdAt }, OR: [{ createdAt: { gt: createdAt } }, { id: { gt: id } }] }
    : { createdAt: { lte: createdAt }, OR: [{ createdAt: { lt: createdAt } }, { id: { lt: id } }] };
}

export function keysetOrder(plan: PagePlan) {
  const direction = plan.backwards ? ('asc' as const) : ('desc' as const);
  return [{ createdAt: direction }, { id: direction }];
}

export function toConnection<Row extends Keyset>(rows: Row[], plan: PagePlan) {
  const hasMore = rows.length > plan.size;
  const page = rows.slice(0, plan.size);
  if (plan.backwards) page.reverse();
  const edges = page.map((node) => ({ cursor: encodeCursor(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: plan.backwards ? plan.cursor !== null : hasMore,
      hasPreviousPage: plan.backwards ? hasMore : plan.cursor !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}
