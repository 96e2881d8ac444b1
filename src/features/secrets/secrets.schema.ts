import { z } from 'zod';
import type { Secret } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import type { AuthenticatedContext } from '../../graphql/context.js';
import {
  auditingDenials,
  deleteSecret,
  destroySecret,
  findSecret,
  listSecrets,
  listVersions,
  restoreSecret,
  revealValue,
  rollbackSecret,
  updateSecret,
  upsertSecret,
} from './secrets.service.js';
import { resolveScope, SecretScopeEnum, SecretScopeInput, type ScopeInputShape } from './secrets.types.js';

const authed = (ctx: unknown) => ctx as AuthenticatedContext;
const scopeOf = (ctx: unknown, scope: ScopeInputShape | null | undefined, field = 'scope') => resolveScope(scope, authed(ctx).viewer, field);

const SecretInfo = builder.interfaceRef<Secret>('SecretInfo').implement({
  description: 'What is known about a secret without its value.',
  fields: (t) => ({
    id: t.exposeID('id'),
    scope: t.expose('scope', { type: SecretScopeEnum }),
    projectId: t.id({ nullable: true, resolve: (secret) => (secret.scope === 'PROJECT' ? secret.ownerId : null) }),
    userId: t.id({ nullable: true, resolve: (secret) => (secret.scope === 'USER' ? secret.ownerId : null) }),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    currentVersion: t.exposeInt('currentVersion'),
    isActive: t.exposeBoolean('isActive'),
    isReserved: t.exposeBoolean('isReserved'),
    isExpired: t.boolean({
      description: 'Past expiresAt. Only reserved secrets are still shown when expired: they never expire silently.',
      resolve: (secret, _args, ctx) => secret.expiresAt !== null && secret.expiresAt <= ctx.now(),
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    createdById: t.exposeID('createdById', { nullable: true }),
    updatedById: t.exposeID('updatedById', { nullable: true }),
  }),
});

/** A listing entry: by construction it has no value field at all. */
const SecretMetadata = builder.objectRef<Secret>('SecretMetadata').implement({ interfaces: [SecretInfo], isTypeOf: () => true });

const SecretWithValue = builder.objectRef<Secret & { readVersion: number }>('Secret').implement({
  interfaces: [SecretInfo],
  isTypeOf: () => true,
  fields: (t) => ({
    version: t.exposeInt('readVersion', { description: 'The version whose value this is.' }),
    value: t.string({
      description: 'The decrypted value. Decrypted only when selected; every reveal is audited.',
      resolve: (secret, _args, ctx) => revealValue({ ctx: authed(ctx), secret, version: secret.readVersion }),
    }),
  }),
});

const SecretVersionInfo = builder.objectRef<{ version: number; keyId: string; createdAt: Date; createdById: string | null }>('SecretVersion').implement({
  fields: (t) => ({
    version: t.exposeInt('version'),
    masterKeyId: t.exposeString('keyId', { description: 'The master key wrapping this version\'s data key.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdById: t.exposeID('createdById', { nullable: true }),
  }),
});

const SecretFilter = builder.inputType('SecretFilter', {
  fields: (t) => ({
    namePrefix: t.string({ required: false }),
    isActive: t.boolean({ required: false }),
    isReserved: t.boolean({ required: false }),
    includeDeleted: t.boolean({ required: false, defaultValue: false }),
    expiringBefore: t.field({ type: 'DateTime', required: false }),
  }),
});

const secretName = z.string().regex(/^[A-Z0-9_]{1,255}$/, 'must be 1-255 characters of A-Z, 0-9 and _');
const description = z.string().max(1000, 'must be at most 1000 characters');

builder.queryFields((t) => ({
  secrets: t.connection(
    {
      type: SecretMetadata,
      description: 'Secrets of one scope, newest first. Metadata only: values are never listed.',
      args: { scope: t.arg({ type: SecretScopeInput, required: false }), filter: t.arg({ type: SecretFilter, required: false }) },
      resolve: (_root, args, ctx) => listSecrets({ ctx: authed(ctx), ref: scopeOf(ctx, args.scope), filter: args.filter ?? {}, page: args }),
    },
  ),
  secret: t.field({
    type: SecretWithValue,
    description: 'One secret with its value (the current version unless `version` is given).',
    args: { name: t.arg.string(), scope: t.arg({ type: SecretScopeInput, required: false }), version: t.arg.int({ required: false, validate: { schema: z.number().int().min(1) } }) },
    resolve: async (_root, args, ctx) => {
      const secret = await findSecret({ ctx: authed(ctx), ref: scopeOf(ctx, args.scope), name: args.name });
      return { ...secret, readVersion: args.version ?? secret.currentVersion };
    },
  }),
  secretVersions: t.field({
    type: [SecretVersionInfo],
    description: 'The kept versions of a secret, newest first (also after a soft delete).',
    args: { name: t.arg.string(), scope: t.arg({ type: SecretScopeInput, required: false }) },
    resolve: (_root, args, ctx) => listVersions({ ctx: authed(ctx), ref: scopeOf(ctx, args.scope), name: args.name }),
  }),
}));

const IfExists = builder.enumType('IfExists', {
  values: { REPLACE: { description: 'Create or replace (a new version).' }, FAIL: { description: 'CONFLICT when the name is taken.' } } as const,
});

const UpsertSecretInput = builder.inputType('UpsertSecretInput', {
  fields: (t) => ({
    scope: t.field({ type: SecretScopeInput, required: false }),
    name: t.string({ validate: { schema: secretName } }),
    value: t.string({ description: '1 byte to 64 KiB of UTF-8.' }),
    ifExists: t.field({ type: IfExists, defaultValue: 'REPLACE' }),
    expectedVersion: t.int({ required: false, description: 'Check-and-set: CONFLICT unless the current version is this (0: must not exist).', validate: { schema: z.number().int().min(0) } }),
    description: t.string({ required: false, validate: { schema: description } }),
    isActive: t.boolean({ required: false }),
    isReserved: t.boolean({ required: false, description: 'Admins only. A reserved secret cannot be deleted.' }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
  }),
});

const UpdateSecretInput = builder.inputType('UpdateSecretInput', {
  fields: (t) => ({
    scope: t.field({ type: SecretScopeInput, required: false }),
    name: t.string({ validate: { schema: secretName } }),
    value: t.string({ required: false }),
    expectedVersion: t.int({ required: false, validate: { schema: z.number().int().min(0) } }),
    description: t.string({ required: false, validate: { schema: description } }),
    isActive: t.boolean({ required: false }),
    isReserved: t.boolean({ required: false }),
    expiresAt: t.field({ type: 'DateTime', required: false, description: 'null clears the expiry.' }),
  }),
});

const nameAndScope = builder.args((t) => ({
  name: t.string({ validate: { schema: secretName } }),
  scope: t.field({ type: SecretScopeInput, required: false }),
}));

builder.mutationFields((t) => ({
  upsertSecret: t.field({
    type: SecretMetadata,
    description: 'Create-or-replace (each write is a new version). Recreating a deleted name works.',
    args: { input: t.arg({ type: UpsertSecretInput }) },
    resolve: (_root, { input }, ctx) => {
      const ref = scopeOf(ctx, input.scope, 'input.scope');
      return auditingDenials(authed(ctx), 'secret.upsert', ref, input.name, () => upsertSecret({
        ctx: authed(ctx),
        ref,
        input: {
          name: input.name,
          value: input.value,
          ifExists: input.ifExists ?? 'REPLACE',
          expectedVersion: input.expectedVersion,
          description: input.description,
          isActive: input.isActive,
          isReserved: input.isReserved,
          expiresAt: input.expiresAt,
        },
      }));
    },
  }),
  updateSecret: t.field({
    type: SecretMetadata,
    args: { input: t.arg({ type: UpdateSecretInput }) },
    resolve: (_root, { input }, ctx) => {
      const ref = scopeOf(ctx, input.scope, 'input.scope');
      return auditingDenials(authed(ctx), 'secret.update', ref, input.name, () => updateSecret({ ctx: authed(ctx), ref, input }));
    },
  }),
  deleteSecret: t.field({
    type: SecretMetadata,
    description: 'Soft delete: restoreSecret brings it back. Reserved secrets cannot be deleted (FORBIDDEN).',
    args: nameAndScope,
    resolve: (_root, args, ctx) => {
      const ref = scopeOf(ctx, args.scope);
      return auditingDenials(authed(ctx), 'secret.delete', ref, args.name, () => deleteSecret({ ctx: authed(ctx), ref, name: args.name }));
    },
  }),
  restoreSecret: t.field({
    type: SecretMetadata,
    args: nameAndScope,
    resolve: (_root, args, ctx) => restoreSecret({ ctx: authed(ctx), ref: scopeOf(ctx, args.scope), name: args.name }),
  }),
  rollbackSecret: t.field({
    type: SecretMetadata,
    description: 'Makes a kept version current again, as a new version.',
    args: { ...nameAndScope, version: t.arg.int({ validate: { schema: z.number().int().min(1) } }), expectedVersion: t.arg.int({ required: false }) },
    resolve: (_root, args, ctx) => rollbackSecret({ ctx: authed(ctx), ref: scopeOf(ctx, args.scope), name: args.name, version: args.version, expectedVersion: args.expectedVersion }),
  }),
  destroySecret: t.field({
    type: SecretMetadata,
    description: 'Deletes a secret and all its versions for good (admins only).',
    args: nameAndScope,
    resolve: (_root, args, ctx) => {
      const ref = scopeOf(ctx, args.scope);
      return auditingDenials(authed(ctx), 'secret.destroy', ref, args.name, () => destroySecret({ ctx: authed(ctx), ref, name: args.name }));
    },
  }),
}));

