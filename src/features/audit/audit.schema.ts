import type { AuditEvent } from '../../generated/prisma/client.js';
import { AuditOutcome } from '../../generated/prisma/enums.js';
import { visibleAuditEvents } from './audit.rules.js';
import { builder } from '../../graphql/builder.js';
import { NodeRef, registerNode } from '../../graphql/node.js';
import { connectionOf } from '../../graphql/connections.js';
import { SecretScopeEnum } from '../../graphql/shared-types.js';
import { listAuditEvents } from './audit.service.js';

const AuditOutcomeEnum = builder.enumType(AuditOutcome, { name: 'AuditOutcome' });

const AuditEventRef = builder.objectRef<AuditEvent>('AuditEvent').implement({
  interfaces: [NodeRef],
  description: 'One audited action. Holds who, what, which target and how it ended; never a value.',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.expose('at', { type: 'DateTime' }),
    actorId: t.exposeID('actorId', {
      nullable: true,
      description: 'The user who acted; null for a machine identity, an anonymous caller or Coffer.',
    }),
    actorMachineIdentityId: t.exposeID('actorMachineIdentityId', {
      nullable: true,
      description: 'The machine identity that acted (its key is in actorVia); null for users and Coffer.',
    }),
    actorVia: t.exposeString('actorVia', { description: '`api-key:<id>`, `token`, `external-token`, `anonymous` or `system`.' }),
    action: t.exposeString('action'),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeString('targetId', { nullable: true }),
    targetName: t.exposeString('targetName', { nullable: true }),
    scope: t.expose('scope', { type: SecretScopeEnum, nullable: true }),
    scopeOwnerId: t.exposeID('scopeOwnerId', { nullable: true }),
    outcome: t.expose('outcome', { type: AuditOutcomeEnum }),
    reason: t.exposeString('reason', { nullable: true }),
    requestId: t.exposeString('requestId', { nullable: true }),
    clientAddress: t.exposeString('clientAddress', { nullable: true }),
  }),
});

registerNode(AuditEventRef, visibleAuditEvents);

const AuditEventFilter = builder.inputType('AuditEventFilter', {
  fields: (t) => ({
    action: t.string({ required: false }),
    actorId: t.id({ required: false }),
    actorMachineIdentityId: t.id({ required: false, description: 'What one machine identity did.' }),
    targetName: t.string({ required: false }),
    outcome: t.field({ type: AuditOutcomeEnum, required: false }),
    since: t.field({ type: 'DateTime', required: false }),
    until: t.field({ type: 'DateTime', required: false }),
  }),
});

builder.queryFields((t) => ({
  auditEvents: t.connection(
    {
      type: AuditEventRef,
      description: 'The audit trail, newest first (admins only).',
      args: { filter: t.arg({ type: AuditEventFilter, required: false }) },
      resolve: (_root, args, ctx) => {
        const filter = args.filter ?? {};
        return listAuditEvents({
          db: ctx.db,
          filter: {
            ...filter,
            actorId: filter.actorId ? String(filter.actorId) : null,
            actorMachineIdentityId: filter.actorMachineIdentityId ? String(filter.actorMachineIdentityId) : null,
          },
          page: args,
        });
      },
    },
    connectionOf(AuditEventRef),
  ),
}));
