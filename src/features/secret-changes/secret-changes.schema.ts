import { z } from 'zod';
import { actorOf, requireAnyViewer } from '../../auth/index.js';
import { isCofferError } from '../../errors.js';
import type { NotificationDelivery, NotificationEndpoint, SecretChangeEvent } from '../../generated/prisma/client.js';
import { NotificationDeliveryStatus, SecretChangeKind } from '../../generated/prisma/enums.js';
import { builder } from '../../graphql/builder.js';
import type { Context } from '../../graphql/context.js';
import { secretChangeStream } from './change-stream.js';
import {
  createEndpoint,
  deleteEndpoint,
  listDeliveries,
  listEndpoints,
  MAX_DELIVERIES_PAGE,
  retryDelivery,
  setEndpointEnabled,
} from './notifications.service.js';
import { mayReadChanges } from './secret-changes.rules.js';
import { toSecretChange, type SecretChange } from './secret-changes.service.js';

const SecretChangeKindEnum = builder.enumType(SecretChangeKind, {
  name: 'SecretChangeKind',
  description: 'What happened to the secret. EXPIRING: its expiresAt is near (SECRET_EXPIRY_WARNING_SECONDS).',
});
const NotificationDeliveryStatusEnum = builder.enumType(NotificationDeliveryStatus, { name: 'NotificationDeliveryStatus' });

const SecretChangeRef = builder.objectRef<SecretChange>('SecretChange').implement({
  description: 'One change to a project secret. Never carries a value.',
  fields: (t) => ({
    projectId: t.exposeID('projectId'),
    sequence: t.exposeInt('sequence', {
      description: 'Per project, from 1, without gaps: resume with `afterSequence` set to the last one seen.',
    }),
    kind: t.expose('kind', { type: SecretChangeKindEnum }),
    name: t.exposeString('name'),
    environment: t.exposeString('environment', { nullable: true }),
    version: t.exposeInt('version', { nullable: true, description: 'The current version after the change.' }),
    actorId: t.exposeID('actorId', { nullable: true, description: 'The user who made the change; null for Coffer itself.' }),
    actorVia: t.exposeString('actorVia', { description: 'As in audit records: `api-key:<id>`, `token`, `external-token` or `system`.' }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const NotificationEndpointRef = builder.objectRef<NotificationEndpoint>('NotificationEndpoint').implement({
  description: "Where a project's secret changes are POSTed, signed (`Coffer-Signature`).",
  fields: (t) => ({
    id: t.exposeID('id'),
    projectId: t.exposeID('projectId'),
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    enabled: t.boolean({ resolve: (endpoint) => endpoint.disabledAt === null }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreatedNotificationEndpointRef = builder
  .objectRef<{ endpoint: NotificationEndpoint; signingSecret: string }>('CreatedNotificationEndpoint')
  .implement({
    fields: (t) => ({
      endpoint: t.field({ type: NotificationEndpointRef, resolve: (created) => created.endpoint }),
      signingSecret: t.exposeString('signingSecret', {
        description: 'Verifies the Coffer-Signature header. Shown this once: store it now.',
      }),
    }),
  });

const NotificationDeliveryRef = builder.objectRef<NotificationDelivery & { event: SecretChangeEvent }>('NotificationDelivery').implement({
  description: 'One change sent (or to be sent) to one endpoint: the delivery log.',
  fields: (t) => ({
    id: t.exposeID('id'),
    endpointId: t.exposeID('endpointId'),
    change: t.field({ type: SecretChangeRef, resolve: (delivery) => toSecretChange(delivery.event) }),
    status: t.expose('status', { type: NotificationDeliveryStatusEnum }),
    attempts: t.exposeInt('attempts'),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'While PENDING: when it is sent next.',
      resolve: (delivery) => (delivery.status === 'PENDING' ? delivery.nextAttemptAt : null),
    }),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    lastStatusCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const environmentName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be an environment name (lowercase letters, digits, -)');

const acting = (ctx: Context) => ({ db: ctx.db, actor: actorOf(ctx), now: ctx.now() });

builder.queryFields((t) => ({
  notificationEndpoints: t.field({
    type: [NotificationEndpointRef],
    description: "A project's notification endpoints, oldest first (owner or admin).",
    args: { projectId: t.arg.id() },
    resolve: (_root, { projectId }, ctx) => listEndpoints(ctx.db, String(projectId)),
  }),
  notificationDeliveries: t.field({
    type: [NotificationDeliveryRef],
    description: "An endpoint's deliveries, newest first (owner or admin).",
    args: {
      endpointId: t.arg.id(),
      status: t.arg({ type: NotificationDeliveryStatusEnum, required: false }),
      first: t.arg.int({ required: false, defaultValue: 50, description: `At most ${MAX_DELIVERIES_PAGE}.` }),
    },
    resolve: (_root, args, ctx) =>
      listDeliveries(ctx.db, { endpointId: String(args.endpointId), status: args.status ?? null, first: args.first ?? 50 }),
  }),
}));

const CreateNotificationEndpointInput = builder.inputType('CreateNotificationEndpointInput', {
  fields: (t) => ({
    url: t.string({ description: 'https:// (http://127.0.0.1 only with NOTIFICATION_ALLOW_LOCAL_HTTP).' }),
    description: t.string({ required: false, validate: { schema: z.string().max(500) } }),
  }),
});

builder.mutationFields((t) => ({
  createNotificationEndpoint: t.field({
    type: CreatedNotificationEndpointRef,
    description: "Registers a URL to receive the project's secret changes as signed POSTs; returns the signing secret once.",
    args: { projectId: t.arg.id(), input: t.arg({ type: CreateNotificationEndpointInput }) },
    resolve: (_root, { projectId, input }, ctx) =>
      createEndpoint(
        { ...acting(ctx), keyring: ctx.keyring, settings: ctx.config.notifications },
        { projectId: String(projectId).toLowerCase(), url: input.url, description: input.description },
      ),
  }),
  deleteNotificationEndpoint: t.field({
    type: NotificationEndpointRef,
    description: 'Removes the endpoint and its delivery log.',
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => deleteEndpoint(acting(ctx), String(id)),
  }),
  setNotificationEndpointEnabled: t.field({
    type: NotificationEndpointRef,
    description: 'A disabled endpoint is sent nothing, and changes made meanwhile are not queued for it.',
    args: { id: t.arg.id(), enabled: t.arg.boolean() },
    resolve: (_root, { id, enabled }, ctx) => setEndpointEnabled(acting(ctx), String(id), enabled),
  }),
  retryNotificationDelivery: t.field({
    type: NotificationDeliveryRef,
    description: 'Sends a delivery again (a failed one, or a delivered one replayed), with a fresh set of attempts.',
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => retryDelivery(acting(ctx), String(id)),
  }),
}));

builder.subscriptionFields((t) => ({
  secretChanges: t.field({
    type: SecretChangeRef,
    description:
      "Changes to a project's secrets, over SSE or graphql-ws: the stored ones after `afterSequence` " +
      '(none when omitted), then live ones, ' +
      'each once and in order. Ends with an error when your access goes (key revoked, permission removed).',
    args: {
      projectId: t.arg.id(),
      environment: t.arg.string({ required: false, validate: { schema: environmentName } }),
      afterSequence: t.arg.int({ required: false, validate: { schema: z.number().int().min(0) } }),
    },
    subscribe: async (_root, args, ctx) => {
      const projectId = String(args.projectId).toLowerCase();
      const viewer = requireAnyViewer(ctx);
      const environment = args.environment ?? null;
      const access = await mayReadChanges(ctx, viewer, projectId, environment);
      if (access !== true) throw access;
      return secretChangeStream(ctx, {
        viewer,
        projectId,
        environment,
        afterSequence: args.afterSequence ?? null,
        mayRead: (current) => mayReadChanges(ctx, current, projectId, environment),
      });
    },
    resolve: (change) => {
      if (isCofferError(change)) throw change;
      return change;
    },
  }),
}));
