import type { GraphQLResolveInfo } from 'graphql';
import { z } from 'zod';
import { actorOf } from '../../auth/index.js';
import type { Secret } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { connectionOf } from '../../graphql/connections.js';
import { NodeRef, registerNode } from '../../graphql/node.js';
import type { Context } from '../../graphql/context.js';
import { SecretScopeEnum } from '../../graphql/shared-types.js';
import { expandRevealed } from './references.service.js';
import { resolvedEnvironments, resolvedScope, visibleSecrets } from './secrets.rules.js';
import {
  compareEnvironments,
  copySecrets,
  deleteSecret,
  destroySecret,
  environmentName,
  findReadableSecret,
  listSecrets,
  listVersions,
  MAX_BULK_SECRETS,
  restoreSecret,
  revealServedValues,
  revealValue,
  rollbackSecret,
  SECRET_NAME,
  type ComparisonStatus,
  type SecretRow,
  updateSecret,
  upsertSecret,
  upsertSecrets,
} from './secrets.service.js';

const SecretInfo = builder.interfaceRef<Secret>('SecretInfo').implement({
  description: 'What is known about a secret without its value.',
  fields: (t) => ({
    id: t.exposeID('id'),
    scope: t.expose('scope', { type: SecretScopeEnum }),
    projectId: t.id({ nullable: true, resolve: (secret) => (secret.scope === 'PROJECT' ? secret.ownerId : null) }),
    userId: t.id({ nullable: true, resolve: (secret) => (secret.scope === 'USER' ? secret.ownerId : null) }),
    environment: t.string({
      nullable: true,
      description: 'The environment of a PROJECT secret (its name); null for ACCOUNT and USER secrets.',
      // Reads carry the name already; what a write returns is looked up.
      resolve: (secret: Secret & { environment?: string | null }, _args, ctx) => {
        if (secret.scope !== 'PROJECT') return null;
        return secret.environment !== undefined ? secret.environment : environmentName(ctx.db, secret.environmentId);
      },
    }),
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
const SecretMetadata = builder.objectRef<Secret>('SecretMetadata').implement({ interfaces: [SecretInfo, NodeRef], isTypeOf: () => true });

// Secret (with a value) is not a Node: node(id:) never reveals, and a value is read by name and version.
registerNode(SecretMetadata, visibleSecrets);

const SecretWithValue = builder.objectRef<SecretRow & { readVersion: number }>('Secret').implement({
  interfaces: [SecretInfo],
  isTypeOf: () => true,
  fields: (t) => ({
    version: t.exposeInt('readVersion', { description: 'The version whose value this is.' }),
    value: t.string({
      description:
        'The decrypted value, with references (`${NAME}`, `${environment.NAME}`) expanded unless `raw`. ' +
        'Decrypted only when selected; every reveal is audited, referenced secrets included.',
      args: { raw: t.arg.boolean({ defaultValue: false, description: 'The stored text: references left as written.' }) },
      resolve: async (secret, { raw }, ctx) => {
        const reader = { db: ctx.db, keyring: ctx.keyring, actor: actorOf(ctx), now: ctx.now() };
        const text = await revealValue({ ...reader, secret, version: secret.readVersion });
        return raw ? text : (await expandRevealed(reader, [{ secret, text }]))[0]!;
      },
    }),
  }),
});

type VersionInfo = { version: number; keyId: string; createdAt: Date; createdById: string | null };

const SecretVersionInfo = builder.objectRef<VersionInfo>('SecretVersion').implement({
  fields: (t) => ({
    version: t.exposeInt('version'),
    masterKeyId: t.exposeString('keyId', { description: "The master key wrapping this version's data key." }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdById: t.exposeID('createdById', { nullable: true }),
  }),
});

const SecretScopeInput = builder.inputType('SecretScopeInput', {
  description: 'Where a secret lives. Omitted: ACCOUNT. PROJECT needs projectId; USER defaults to you.',
  fields: (t) => ({
    type: t.field({ type: SecretScopeEnum, required: false, defaultValue: 'ACCOUNT' }),
    projectId: t.id({ required: false }),
    userId: t.id({ required: false }),
    environment: t.string({
      required: false,
      description: 'PROJECT only: the environment (its name). Omitted: production, where secrets created before environments live.',
    }),
  }),
});

const secretName = z.string().regex(SECRET_NAME, 'must be 1-255 characters of A-Z, 0-9 and _');
const namePrefix = z.string().refine((prefix) => prefix === '' || SECRET_NAME.test(prefix), 'must be characters of A-Z, 0-9 and _');
const description = z.string().max(1000, 'must be at most 1000 characters');
const version = (min: number) => ({ schema: z.number().int().min(min) });

const SecretFilter = builder.inputType('SecretFilter', {
  fields: (t) => ({
    namePrefix: t.string({ required: false, validate: { schema: namePrefix } }),
    isActive: t.boolean({ required: false }),
    isReserved: t.boolean({ required: false }),
    includeDeleted: t.boolean({ required: false, defaultValue: false }),
    expiringBefore: t.field({ type: 'DateTime', required: false }),
  }),
});

const nameAndScope = builder.args((t) => ({
  name: t.string({ validate: { schema: secretName } }),
  scope: t.field({ type: SecretScopeInput, required: false }),
}));

// What resolvers hand the services. The scope is the one the field's rule resolved and let through.
const named = (ctx: Context, info: GraphQLResolveInfo, name: string) => ({
  db: ctx.db,
  events: ctx.events,
  ref: resolvedScope(info),
  name,
});
const lookup = (ctx: Context, info: GraphQLResolveInfo, name: string) => ({ ...named(ctx, info, name), now: ctx.now() });
const target = (ctx: Context, info: GraphQLResolveInfo, name: string) => ({ ...named(ctx, info, name), actor: actorOf(ctx) });
const change = (ctx: Context, info: GraphQLResolveInfo, name: string) => ({ ...target(ctx, info, name), now: ctx.now() });
const valueChange = (ctx: Context, info: GraphQLResolveInfo, name: string) => ({
  ...change(ctx, info, name),
  keyring: ctx.keyring,
  versionsKept: ctx.config.secretVersionsKept,
});

builder.queryFields((t) => ({
  secrets: t.connection(
    {
      type: SecretMetadata,
      description: 'Secrets of one scope, newest first. Metadata only: values are never listed.',
      args: { scope: t.arg({ type: SecretScopeInput, required: false }), filter: t.arg({ type: SecretFilter, required: false }) },
      resolve: (_root, args, ctx, info) =>
        listSecrets({ db: ctx.db, now: ctx.now(), ref: resolvedScope(info), filter: args.filter ?? {}, page: args }),
    },
    connectionOf(SecretMetadata, 'Secret'),
  ),
  secret: t.field({
    type: SecretWithValue,
    description: 'One secret with its value (the current version unless `version` is given).',
    args: { ...nameAndScope, version: t.arg.int({ required: false, validate: version(1) }) },
    resolve: async (_root, args, ctx, info) => {
      const secret = await findReadableSecret(lookup(ctx, info, args.name), ctx.viewer);
      return { ...secret, readVersion: args.version ?? secret.currentVersion };
    },
  }),
  secretVersions: t.field({
    type: [SecretVersionInfo],
    description: 'The kept versions of a secret, newest first (also after a soft delete).',
    args: nameAndScope,
    resolve: (_root, args, ctx, info) => listVersions(lookup(ctx, info, args.name)),
  }),
}));

const IfExists = builder.enumType('IfExists', {
  values: {
    REPLACE: { description: 'Create or replace (a new version).' },
    FAIL: { description: 'CONFLICT when the name is taken.' },
  } as const,
});

const UpsertSecretInput = builder.inputType('UpsertSecretInput', {
  fields: (t) => ({
    scope: t.field({ type: SecretScopeInput, required: false }),
    name: t.string({ validate: { schema: secretName } }),
    value: t.string({ description: '1 byte to 64 KiB of UTF-8.' }),
    ifExists: t.field({ type: IfExists, required: false, defaultValue: 'REPLACE' }),
    expectedVersion: t.int({
      required: false,
      description: 'Check-and-set: CONFLICT unless the current version is this (0: must not exist).',
      validate: version(0),
    }),
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
    expectedVersion: t.int({ required: false, validate: version(0) }),
    description: t.string({ required: false, validate: { schema: description } }),
    isActive: t.boolean({ required: false }),
    isReserved: t.boolean({ required: false }),
    expiresAt: t.field({ type: 'DateTime', required: false, description: 'null clears the expiry.' }),
  }),
});

builder.mutationFields((t) => ({
  upsertSecret: t.field({
    type: SecretMetadata,
    description: 'Create-or-replace (each write is a new version). Recreating a deleted name works.',
    args: { input: t.arg({ type: UpsertSecretInput }) },
    resolve: (_root, { input }, ctx, info) => upsertSecret({ ...valueChange(ctx, info, input.name), input }),
  }),
  updateSecret: t.field({
    type: SecretMetadata,
    args: { input: t.arg({ type: UpdateSecretInput }) },
    resolve: (_root, { input }, ctx, info) => updateSecret({ ...valueChange(ctx, info, input.name), input }),
  }),
  deleteSecret: t.field({
    type: SecretMetadata,
    description: 'Soft delete: restoreSecret brings it back. Reserved secrets cannot be deleted (FORBIDDEN).',
    args: nameAndScope,
    resolve: (_root, args, ctx, info) => deleteSecret(change(ctx, info, args.name)),
  }),
  restoreSecret: t.field({
    type: SecretMetadata,
    args: nameAndScope,
    resolve: (_root, args, ctx, info) => restoreSecret(change(ctx, info, args.name)),
  }),
  rollbackSecret: t.field({
    type: SecretMetadata,
    description: 'Makes a kept version current again, as a new version.',
    args: { ...nameAndScope, version: t.arg.int({ validate: version(1) }), expectedVersion: t.arg.int({ required: false }) },
    resolve: (_root, args, ctx, info) =>
      rollbackSecret({ ...valueChange(ctx, info, args.name), version: args.version, expectedVersion: args.expectedVersion }),
  }),
  destroySecret: t.field({
    type: SecretMetadata,
    description: 'Deletes a secret and all its versions for good (admins only).',
    args: nameAndScope,
    resolve: (_root, args, ctx, info) => destroySecret(change(ctx, info, args.name)),
  }),
}));

// --- Whole environments: bulk reads, copies and comparisons ---

const SecretValue = builder
  .objectRef<{ name: string; value: string; version: number; environment: string | null }>('SecretValue')
  .implement({
    description: 'A secret served by a bulk read: its name, its value and the version the value is.',
    fields: (t) => ({
      name: t.exposeString('name'),
      value: t.exposeString('value'),
      version: t.exposeInt('version'),
      environment: t.exposeString('environment', { nullable: true, description: 'null for ACCOUNT and USER secrets.' }),
    }),
  });

const bulkNames = z.array(secretName).max(MAX_BULK_SECRETS, `must name at most ${MAX_BULK_SECRETS} secrets`);

builder.queryFields((t) => ({
  secretValues: t.field({
    type: [SecretValue],
    description:
      `The values of every secret a scope serves (ACTIVE, not deleted, not expired), by name, or of \`names\` only ` +
      `(names it does not serve are left out). At most ${MAX_BULK_SECRETS} per request: a scope serving more answers ` +
      'BAD_USER_INPUT unless `names` is given. References are expanded unless `raw`. One audit record per value revealed.',
    args: {
      scope: t.arg({ type: SecretScopeInput, required: true }),
      names: t.arg.stringList({ required: false, validate: { schema: bulkNames } }),
      raw: t.arg.boolean({ required: false, defaultValue: false, description: 'The stored texts: references left as written.' }),
    },
    resolve: async (_root, args, ctx, info) => {
      const reader = { db: ctx.db, keyring: ctx.keyring, actor: actorOf(ctx), now: ctx.now() };
      const revealed = await revealServedValues({ ...reader, ref: resolvedScope(info), names: args.names ?? null });
      const values = args.raw ? revealed.map(({ text }) => text) : await expandRevealed(reader, revealed);
      return revealed.map(({ secret }, index) => ({
        name: secret.name,
        value: values[index]!,
        version: secret.currentVersion,
        environment: secret.scope === 'PROJECT' ? secret.environment : null,
      }));
    },
  }),
}));

type ComparisonEntryShape = { name: string; status: ComparisonStatus; versionInA: number | null; versionInB: number | null };

const ComparisonStatusEnum = builder.enumType('ComparisonStatus', {
  values: {
    ONLY_IN_A: { description: 'The name lives in a only.' },
    ONLY_IN_B: { description: 'The name lives in b only.' },
    SAME: { description: 'Both hold the same stored text (references as written).' },
    DIFFERENT: { description: 'Both have the name, with different stored texts.' },
  } as const,
});

const ComparisonEntry = builder.objectRef<ComparisonEntryShape>('EnvironmentComparisonEntry').implement({
  description: 'One name: where it lives, and whether the values match. Versions are the current ones.',
  fields: (t) => ({
    name: t.exposeString('name'),
    status: t.expose('status', { type: ComparisonStatusEnum }),
    versionInA: t.exposeInt('versionInA', { nullable: true }),
    versionInB: t.exposeInt('versionInB', { nullable: true }),
  }),
});

const EnvironmentComparison = builder
  .objectRef<{ a: string; b: string; entries: ComparisonEntryShape[] }>('EnvironmentComparison')
  .implement({
    description: 'Which names two environments share and whether their values match. Never a value, nor a digest of one.',
    fields: (t) => ({
      a: t.exposeString('a'),
      b: t.exposeString('b'),
      entries: t.field({ type: [ComparisonEntry], description: 'One per name, by name.', resolve: (comparison) => comparison.entries }),
    }),
  });

builder.queryFields((t) => ({
  compareEnvironments: t.field({
    type: EnvironmentComparison,
    description:
      'Compares two environments of a project name by name, on the server. Every live secret counts (inactive ones too); ' +
      'stored texts are compared, references as written. Audited.',
    args: { projectId: t.arg.id(), a: t.arg.string(), b: t.arg.string() },
    resolve: (_root, _args, ctx, info) => {
      const [a, b] = resolvedEnvironments(info);
      return compareEnvironments({ db: ctx.db, keyring: ctx.keyring, actor: actorOf(ctx), now: ctx.now(), a, b });
    },
  }),
}));

const CopiedSecret = builder.objectRef<{ name: string; version: number; created: boolean; environment: string }>('CopiedSecret').implement({
  description: 'A secret a copy wrote: never its value.',
  fields: (t) => ({
    name: t.exposeString('name'),
    environment: t.exposeString('environment', { description: 'The environment copied to.' }),
    version: t.exposeInt('version', { description: 'The new version at the target.' }),
    created: t.exposeBoolean('created', { description: 'The name did not exist at the target before.' }),
  }),
});

const ExpectedVersionInput = builder.inputType('ExpectedVersionInput', {
  description: 'Check-and-set for one name: CONFLICT unless its current version is this (0: must not exist).',
  fields: (t) => ({
    name: t.string({ validate: { schema: secretName } }),
    version: t.int({ validate: version(0) }),
  }),
});

builder.mutationFields((t) => ({
  copySecrets: t.field({
    type: [CopiedSecret],
    description:
      'Copies (promotes) the values `from` serves (ACTIVE, live) into `to`, in one transaction: a new version each ' +
      `(a new secret where the name is free). Stored texts are copied, references as written. At most ${MAX_BULK_SECRETS}. ` +
      'Without overwrite, names that exist in `to` are a CONFLICT naming them, and nothing changes.',
    args: {
      projectId: t.arg.id(),
      from: t.arg.string(),
      to: t.arg.string(),
      names: t.arg.stringList({ required: false, validate: { schema: bulkNames } }),
      overwrite: t.arg.boolean({ required: false, defaultValue: false }),
      expectedVersions: t.arg({ type: [ExpectedVersionInput], required: false }),
    },
    resolve: (_root, args, ctx, info) => {
      const [from, to] = resolvedEnvironments(info);
      return copySecrets({
        db: ctx.db,
        events: ctx.events,
        keyring: ctx.keyring,
        actor: actorOf(ctx),
        now: ctx.now(),
        versionsKept: ctx.config.secretVersionsKept,
        from,
        to,
        names: args.names ?? null,
        overwrite: args.overwrite ?? false,
        expectedVersions: args.expectedVersions ?? [],
      });
    },
  }),
}));

const UpsertSecretsItemInput = builder.inputType('UpsertSecretsItemInput', {
  description: 'One secret of upsertSecrets.',
  fields: (t) => ({
    name: t.string({ validate: { schema: secretName } }),
    value: t.string({ description: '1 byte to 64 KiB of UTF-8.' }),
    expectedVersion: t.int({
      required: false,
      description: 'Check-and-set: CONFLICT (and nothing written) unless the current version is this (0: must not exist).',
      validate: version(0),
    }),
  }),
});

builder.mutationFields((t) => ({
  upsertSecrets: t.field({
    type: [SecretMetadata],
    description:
      `Create-or-replace of up to ${MAX_BULK_SECRETS} secrets of one scope, all or nothing, in one transaction: each becomes a new ` +
      'version (a new secret where the name is free), audited and announced like upsertSecret. Every name and value is checked ' +
      'before anything is written (BAD_USER_INPUT naming the items; a name given twice too); a failed check-and-set is a ' +
      'CONFLICT naming the secrets whose version moved (extensions.names), and nothing is written. Answers the secrets written, by name.',
    args: {
      scope: t.arg({ type: SecretScopeInput, required: true }),
      secrets: t.arg({ type: [UpsertSecretsItemInput], required: true }),
    },
    resolve: (_root, args, ctx, info) =>
      upsertSecrets({
        db: ctx.db,
        events: ctx.events,
        keyring: ctx.keyring,
        actor: actorOf(ctx),
        now: ctx.now(),
        versionsKept: ctx.config.secretVersionsKept,
        ref: resolvedScope(info),
        items: args.secrets,
      }),
  }),
}));
