import { z } from 'zod';
import { requireViewer } from '../../auth/index.js';
import type { ApiKey } from '../../generated/prisma/client.js';
import { visibleApiKeys } from './credentials.rules.js';
import { builder } from '../../graphql/builder.js';
import { NodeRef, registerNode } from '../../graphql/node.js';
import { UserRef } from '../users/index.js';
import { createApiKey, issueToken, listApiKeys, revokeApiKey } from './credentials.service.js';

export const ApiKeyRef = builder.objectRef<ApiKey>('ApiKey').implement({
  interfaces: [NodeRef],
  description: 'An API key. The key itself is shown once, when it is created; Coffer keeps only an HMAC of it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.string({ description: 'The public start of the key, to recognise it.', resolve: (key) => `cof_${key.lookupId}_…` }),
    // Only users' keys are ApiKeys (a machine identity's are MachineIdentityApiKeys).
    userId: t.id({ resolve: (key) => key.userId ?? '' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Updated in batches, at most a minute late.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

registerNode(ApiKeyRef, visibleApiKeys);

const CreatedApiKey = builder.objectRef<{ apiKey: ApiKey; key: string }>('CreatedApiKey').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (payload) => payload.apiKey }),
    key: t.exposeString('key', { description: 'The API key. Store it now: it cannot be shown again.' }),
  }),
});

const IssuedToken = builder.objectRef<{ token: string; expiresAt: Date }>('IssuedToken').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'A JWT to send as `Authorization: Bearer <token>`.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

builder.objectField(UserRef, 'apiKeys', (t) =>
  t.field({
    type: [ApiKeyRef],
    description: "The user's API keys, newest first (the user themselves or an admin).",
    resolve: (user, _args, ctx) => listApiKeys({ db: ctx.db, userId: user.id }),
  }),
);

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ validate: { schema: z.string().trim().min(1, 'must not be empty').max(100) } }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
    userId: t.id({ required: false, description: 'Create the key for another user (admins only). Defaults to yourself.' }),
  }),
});

const IssueTokenInput = builder.inputType('IssueTokenInput', {
  fields: (t) => ({ userId: t.id() }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    args: { input: t.arg({ type: CreateApiKeyInput }) },
    resolve: (_root, { input }, ctx) =>
      createApiKey({
        db: ctx.db,
        keys: ctx.auth.keys,
        // Shield lets only admins name another user.
        userId: input.userId ? String(input.userId) : requireViewer(ctx).userId,
        name: input.name,
        expiresAt: input.expiresAt ?? null,
        now: ctx.now(),
      }),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description: 'Revokes an API key at once. Revoking twice is harmless.',
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) =>
      revokeApiKey({ db: ctx.db, signals: ctx.signals, viewer: requireViewer(ctx), id: String(id), now: ctx.now() }),
  }),
  issueToken: t.field({
    type: IssuedToken,
    description: 'Issues a short-lived JWT for a user (admins only).',
    args: { input: t.arg({ type: IssueTokenInput }) },
    resolve: (_root, { input }, ctx) =>
      issueToken({
        db: ctx.db,
        keys: ctx.auth.keys,
        ttlSeconds: ctx.auth.config.tokenTtlSeconds,
        userId: String(input.userId),
        now: ctx.now(),
      }),
  }),
}));
