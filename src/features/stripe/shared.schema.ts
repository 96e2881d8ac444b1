import { actorOf } from '../../auth/index.js';
import { StripeEnvironment } from '../../generated/prisma/enums.js';
import { builder } from '../../graphql/builder.js';
import type { Context } from '../../graphql/context.js';

/** TEST or LIVE: every room of the Stripe feature speaks of one of the two. */
export const StripeEnvironmentEnum = builder.enumType(StripeEnvironment, { name: 'StripeEnvironment' });

/** What the Stripe services take from a request: no context, no GraphQL. */
export const actingDeps = (ctx: Context) => ({
  db: ctx.db,
  keyring: ctx.keyring,
  config: ctx.config,
  events: ctx.events,
  actor: actorOf(ctx),
  now: ctx.now(),
});
