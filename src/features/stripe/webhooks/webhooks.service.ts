import type { Database } from '../../../db/database.js';
import { planPage, STRIPE_ID, type PageArgs } from '../../../db/pagination.js';
import type { StripeEnvironment } from '../../../generated/prisma/enums.js';
import * as webhooksRepository from './webhooks.repository.js';

/** The events Coffer received for a project environment, newest first (rejected ones only when asked). */
export const listWebhookEvents = (
  db: Database,
  args: PageArgs & { projectId: string; environment: StripeEnvironment; rejectedOnly?: boolean | null },
) =>
  webhooksRepository.listReceivedEvents(db.prisma, {
    projectId: args.projectId,
    environment: args.environment,
    rejectedOnly: args.rejectedOnly ?? false,
    plan: planPage(args, { idPattern: STRIPE_ID }),
  });
