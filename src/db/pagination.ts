import { badInput } from '../errors.js';

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

const UUID_ID = '[0-9a-f-]{36}';
/** Stripe ids (`cus_...`, `prod_...`) key the mirrored tables. */
export const STRIPE_ID = '[A-Za-z0-9_]{1,255}';

export function decodeCursor(cursor: string, argName: string, idPattern = UUID_ID): Keyset {
  const match = new RegExp(`^k1:(\\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z):(${idPattern})$`).exec(Buffer.from(cursor, 'base64url').toString());
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

export function planPage(args: PageArgs, { defaultSize = 10, maxSize = 100, idPattern = UUID_ID } = {}): PagePlan {
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
  return { take: size + 1, size, backwards, cursor: rawCursor ? decodeCursor(rawCursor, backwards ? 'before' : 'after', idPattern) : null };
}

/**
 * Prisma `where` for "newest first" keyset order (createdAt desc, id desc): rows strictly after
 * the cursor in the direction of travel. A stable key means inserts never cause duplicates or gaps.
 * The plain range on createdAt comes first so the (…, created_at, id) index bounds the scan:
 * deep pages cost what the first page costs.
 */
export function keysetWhere<Field extends string = 'createdAt'>(plan: PagePlan, field: Field = 'createdAt' as Field, idField = 'id') {
  if (!plan.cursor) return {};
  const { createdAt: at, id } = plan.cursor;
  return (
    plan.backwards
      ? { [field]: { gte: at }, OR: [{ [field]: { gt: at } }, { [idField]: { gt: id } }] }
      : { [field]: { lte: at }, OR: [{ [field]: { lt: at } }, { [idField]: { lt: id } }] }
  ) as Record<Field, { gte?: Date; lte?: Date }> & { OR: Array<Record<string, unknown>> };
}

export function keysetOrder<Field extends string = 'createdAt'>(plan: PagePlan, field: Field = 'createdAt' as Field, idField = 'id') {
  const direction = plan.backwards ? ('asc' as const) : ('desc' as const);
  return [{ [field]: direction } as Record<Field, 'asc' | 'desc'>, { [idField]: direction }];
}

/** Counts every row the listing's filter matches (cursor and page size aside). */
export type CountAll = () => Promise<number>;

export interface ConnectionOptions<Row> {
  /** The row's time and id when its time column is not `createdAt`. */
  keyOf?: (row: Row) => Keyset;
  /**
   * Run only when a client selects `totalCount` (see src/graphql/connections.ts), at most once per
   * connection: a page costs no count query unless one is asked for.
   */
  count: CountAll;
}

export function toConnection<Row>(rows: Row[], plan: PagePlan, { keyOf = (row) => row as Keyset, count }: ConnectionOptions<Row>) {
  const hasMore = rows.length > plan.size;
  const page = rows.slice(0, plan.size);
  if (plan.backwards) page.reverse();
  const edges = page.map((node) => ({ cursor: encodeCursor(keyOf(node)), node }));
  let counted: Promise<number> | undefined;
  return {
    edges,
    pageInfo: {
      hasNextPage: plan.backwards ? plan.cursor !== null : hasMore,
      hasPreviousPage: plan.backwards ? hasMore : plan.cursor !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
    totalCount: () => (counted ??= count()),
  };
}
