import { z } from 'zod';
import { actorOf } from '../../auth/index.js';
import type { ApiKey, MachineIdentity } from '../../generated/prisma/client.js';
import { MachineIdentityPermission } from '../../generated/prisma/enums.js';
import { builder } from '../../graphql/builder.js';
import { NodeRef, registerNode } from '../../graphql/node.js';
import { ProjectRef } from '../projects/index.js';
import { visibleMachineIdentities } from './machine-identities.rules.js';
import {
  createMachineIdentity,
  createMachineIdentityApiKey,
  deleteMachineIdentity,
  listMachineIdentities,
  listMachineIdentityKeys,
  MAX_ALLOWED_CIDRS,
  revokeMachineIdentityApiKey,
  updateMachineIdentity,
} from './machine-identities.service.js';

export const MachineIdentityPermissionEnum = builder.enumType(MachineIdentityPermission, {
  name: 'MachineIdentityPermission',
  description:
    'What a machine identity may do in its project. SECRETS_READ: list, read and reveal secrets of its environments, and ' +
    'follow their changes; SECRETS_WRITE: write, delete, restore and roll back them; STRIPE_CONFIG_READ: read the ' +
    'Stripe configuration (masked); STRIPE_SYNC_RUN: start, cancel and follow syncs; STRIPE_MIRROR_READ: read the mirror.',
});

export const MachineIdentityApiKeyRef = builder.objectRef<ApiKey>('MachineIdentityApiKey').implement({
  description: 'An API key of a machine identity. The key itself is shown once, when it is created; Coffer keeps only an HMAC of it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.string({ description: 'The public start of the key, to recognise it.', resolve: (key) => `cof_${key.lookupId}_…` }),
    machineIdentityId: t.id({ resolve: (key) => key.machineIdentityId ?? '' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Updated in batches, at most a minute late.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const MachineIdentityRef = builder.objectRef<MachineIdentity>('MachineIdentity').implement({
  interfaces: [NodeRef],
  description:
    "A program's identity in one project, with least privilege: the environments and permissions it was granted, " +
    'optionally only from some address ranges and until some time. It signs in with API keys of its own.',
  fields: (t) => ({
    id: t.exposeID('id'),
    projectId: t.exposeID('projectId'),
    name: t.exposeString('name'),
    environments: t.exposeStringList('environments', { description: 'The environments its secret permissions reach.' }),
    permissions: t.field({ type: [MachineIdentityPermissionEnum], resolve: (identity) => identity.permissions }),
    allowedCidrs: t.exposeStringList('allowedCidrs', { description: 'Client address ranges its keys work from; empty: anywhere.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    apiKeys: t.field({
      type: [MachineIdentityApiKeyRef],
      description: 'Its API keys, newest first (without the keys themselves).',
      resolve: (identity, _args, ctx) => listMachineIdentityKeys({ db: ctx.db, machineIdentityId: identity.id }),
    }),
  }),
});

registerNode(MachineIdentityRef, visibleMachineIdentities);

// Reached only through a project the viewer may see (the project field's rule).
builder.objectField(ProjectRef, 'machineIdentities', (t) =>
  t.field({
    type: [MachineIdentityRef],
    description: "The project's machine identities, oldest first.",
    resolve: (project, _args, ctx) => listMachineIdentities({ db: ctx.db, projectId: project.id }),
  }),
);

const CreatedMachineIdentityApiKey = builder.objectRef<{ apiKey: ApiKey; key: string }>('CreatedMachineIdentityApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: MachineIdentityApiKeyRef, resolve: (payload) => payload.apiKey }),
    key: t.exposeString('key', { description: 'The API key. Store it now: it cannot be shown again.' }),
  }),
});

const environmentList = z.array(z.string().max(32, 'must be at most 32 characters')).max(100, 'must be at most 100 environments');
const cidrList = z
  .array(z.string().max(64, 'must be at most 64 characters'))
  .max(MAX_ALLOWED_CIDRS, `must be at most ${MAX_ALLOWED_CIDRS} ranges`);

const CreateMachineIdentityInput = builder.inputType('CreateMachineIdentityInput', {
  fields: (t) => ({
    name: t.string({ validate: { schema: z.string().trim().min(1, 'must not be empty').max(100) } }),
    environments: t.stringList({
      validate: { schema: environmentList },
      description: 'Environments of the project its secret permissions reach.',
    }),
    permissions: t.field({ type: [MachineIdentityPermissionEnum] }),
    expiresAt: t.field({ type: 'DateTime', required: false, description: 'After this, its keys no longer work.' }),
    allowedCidrs: t.stringList({
      required: false,
      validate: { schema: cidrList },
      description: 'Client address ranges (e.g. 10.0.0.0/8, 2001:db8::/32) its keys may be used from; omitted or empty: anywhere.',
    }),
  }),
});

const UpdateMachineIdentityInput = builder.inputType('UpdateMachineIdentityInput', {
  description: 'Only the fields given change. expiresAt: null removes the expiry.',
  fields: (t) => ({
    name: t.string({ required: false, validate: { schema: z.string().trim().min(1, 'must not be empty').max(100) } }),
    environments: t.stringList({ required: false, validate: { schema: environmentList } }),
    permissions: t.field({ type: [MachineIdentityPermissionEnum], required: false }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
    allowedCidrs: t.stringList({ required: false, validate: { schema: cidrList } }),
    disabled: t.boolean({ required: false, description: 'true: its keys stop working at once; false: they work again.' }),
  }),
});

const CreateMachineIdentityApiKeyInput = builder.inputType('CreateMachineIdentityApiKeyInput', {
  fields: (t) => ({
    name: t.string({ validate: { schema: z.string().trim().min(1, 'must not be empty').max(100) } }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
  }),
});

builder.queryFields((t) => ({
  machineIdentities: t.field({
    type: [MachineIdentityRef],
    description: "A project's machine identities, oldest first (its owner or an admin).",
    args: { projectId: t.arg.id() },
    resolve: (_root, { projectId }, ctx) => listMachineIdentities({ db: ctx.db, projectId: String(projectId).toLowerCase() }),
  }),
}));

builder.mutationFields((t) => ({
  createMachineIdentity: t.field({
    type: MachineIdentityRef,
    description: 'Creates a machine identity in the project (its owner or an admin). Give it keys with createMachineIdentityApiKey.',
    args: { projectId: t.arg.id(), input: t.arg({ type: CreateMachineIdentityInput }) },
    resolve: (_root, { projectId, input }, ctx) =>
      createMachineIdentity({
        db: ctx.db,
        actor: actorOf(ctx),
        signals: ctx.signals,
        now: ctx.now(),
        projectId: String(projectId).toLowerCase(),
        input: { ...input, allowedCidrs: input.allowedCidrs ?? [], expiresAt: input.expiresAt ?? null },
      }),
  }),
  updateMachineIdentity: t.field({
    type: MachineIdentityRef,
    description: 'Changes its grant, expiry, address ranges or name, or disables it; every replica applies it to the next request.',
    args: { id: t.arg.id(), input: t.arg({ type: UpdateMachineIdentityInput }) },
    resolve: (_root, { id, input }, ctx) =>
      updateMachineIdentity({ db: ctx.db, actor: actorOf(ctx), signals: ctx.signals, now: ctx.now(), id: String(id), input }),
  }),
  deleteMachineIdentity: t.field({
    type: MachineIdentityRef,
    description: 'Deletes it with its keys; they stop working at once.',
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) =>
      deleteMachineIdentity({ db: ctx.db, actor: actorOf(ctx), signals: ctx.signals, now: ctx.now(), id: String(id) }),
  }),
  createMachineIdentityApiKey: t.field({
    type: CreatedMachineIdentityApiKey,
    args: { machineIdentityId: t.arg.id(), input: t.arg({ type: CreateMachineIdentityApiKeyInput }) },
    resolve: (_root, { machineIdentityId, input }, ctx) =>
      createMachineIdentityApiKey({
        db: ctx.db,
        actor: actorOf(ctx),
        now: ctx.now(),
        keys: ctx.auth.keys,
        machineIdentityId: String(machineIdentityId),
        name: input.name,
        expiresAt: input.expiresAt ?? null,
      }),
  }),
  revokeMachineIdentityApiKey: t.field({
    type: MachineIdentityApiKeyRef,
    description: 'Revokes a key of a machine identity at once, on every replica. Revoking twice is harmless.',
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) =>
      revokeMachineIdentityApiKey({ db: ctx.db, actor: actorOf(ctx), signals: ctx.signals, now: ctx.now(), id: String(id) }),
  }),
}));
