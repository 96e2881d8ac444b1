import type { StripeWebhookEvent } from '../../../generated/prisma/client.js';
import { builder } from '../../../graphql/builder.js';
import { connectionOf } from '../../../graphql/connections.js';
import { StripeEnvironmentEnum } from '../shared.schema.js';
import { listWebhookEvents } from './webhooks.service.js';

const StripeWebhookEventRef = builder.objectRef<StripeWebhookEvent>('StripeWebhookEvent').implement({
  description: 'An event Stripe delivered to Coffer (its id, type and object; never its data).',
  fields: (t) => ({
    id: t.exposeID('eventId', { description: "Stripe's event id (evt_...)." }),
    environment: t.expose('environment', { type: StripeEnvironmentEnum }),
    type: t.exposeString('type'),
    objectId: t.exposeString('objectId', { nullable: true }),
    created: t.expose('created', { type: 'DateTime', description: 'When Stripe created the event.' }),
    receivedAt: t.expose('receivedAt', { type: 'DateTime' }),
    rejected: t.boolean({ resolve: (event) => event.rejectedReason !== null }),
    rejectedReason: t.exposeString('rejectedReason', {
      nullable: true,
      description: 'Why a validly signed event could not be applied. It was acknowledged, so Stripe does not retry it.',
    }),
  }),
});

builder.queryField('stripeWebhookEvents', (t) =>
  t.connection(
    {
      type: StripeWebhookEventRef,
      description: 'Events received on the webhook endpoint, newest first; `rejectedOnly` for the ones that could not be applied.',
      args: {
        projectId: t.arg.id(),
        environment: t.arg({ type: StripeEnvironmentEnum }),
        rejectedOnly: t.arg.boolean({ required: false, defaultValue: false }),
      },
      resolve: (_root, args, ctx) => listWebhookEvents(ctx.db, { ...args, projectId: String(args.projectId) }),
    },
    connectionOf(StripeWebhookEventRef),
  ),
);
