import type { Database } from '../../../db/database.js';
import { planPage, STRIPE_ID, type PageArgs } from '../../../db/pagination.js';
import { badInput } from '../../../errors.js';
import type { StripeEnvironment } from '../../../generated/prisma/enums.js';
import * as mirrorRepository from './mirror.repository.js';
import type { ObjectTypeSpec } from './object-types.js';

export type MirrorFilter = {
  created?: { gte?: Date | null; gt?: Date | null; lte?: Date | null; lt?: Date | null } | null;
  includeDeleted?: boolean | null;
} & Record<string, unknown>;

/** A filter's typed keys (`productId`) and the columns they match (lists mean "one of"). */
export type FilterColumns = Record<string, string>;

export interface MirrorListArgs extends PageArgs {
  projectId: string;
  environment: StripeEnvironment;
  filter?: MirrorFilter | null;
}

/** One page of a mirrored object type, newest first; BAD_USER_INPUT for an empty "one of" list. */
export function listMirrored<Row extends { created: Date; stripeId: string }>(
  db: Database,
  spec: ObjectTypeSpec,
  args: MirrorListArgs,
  filterColumns: FilterColumns,
) {
  const { filter } = args;
  const columns: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(filterColumns)) {
    const value = filter?.[key];
    if (value === undefined || value === null) continue;
    if (Array.isArray(value) && value.length === 0) throw badInput([{ field: `filter.${key}`, message: 'must list at least one value' }]);
    columns[column] = value;
  }
  const created = Object.fromEntries(Object.entries(filter?.created ?? {}).filter(([, value]) => value != null)) as { gte?: Date };
  return mirrorRepository.listMirrored<Row>(db.prisma, spec, {
    projectId: args.projectId,
    environment: args.environment,
    created,
    includeDeleted: filter?.includeDeleted ?? false,
    columns,
    plan: planPage(args, { idPattern: STRIPE_ID }),
  });
}

export const subscriptionItems = (db: Database, subscription: { projectId: string; environment: StripeEnvironment; stripeId: string }) =>
  mirrorRepository.subscriptionItemsOf(db.prisma, subscription);
