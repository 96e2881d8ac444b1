import { z } from 'zod';
import type { ApiKey } from '../generated/prisma/client.js';
import { UserRef } from '../features/users/users.schema.js';
import { builder } from '../graphql/builder.js';
import type { AuthenticatedContext } from '../graphql/context.js';
import { badInput, notFound } from '../graphql/errors.js';

export const ApiKeyRef = builder.objectRef<ApiKey>('ApiKey').implement({
  description: 'An API key. The key itself is shown once, when it is created; Coffer keeps only an HMAC of it.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.string({ description: 'The public start of the key, to recognise it.', resolve: (key) => `cof_${key.lookupId}_…` }),
    userId: t.exposeID('userId'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Updated in batches, at most a minute late.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

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
    resolve: (user, _args, ctx) => ctx.db.prisma.apiKey.findMany({ where: { userId: user.id }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
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
    resolve: async (_root, { input }, ctx) => {
      const { viewer } = ctx as AuthenticatedContext;
      const userId = input.userId ? String(input.userId) : viewer.userId;
      // Shield lets only admins name another user; checked there, so here it is only existence.
      if (userId !== viewer.userId && !(await ctx.db.prisma.user.findUnique({ where: { id: userId } }))) throw notFound('User');
      if (input.expiresAt && input.expiresAt <= ctx.now()) throw badInput([{ field: 'input.expiresAt', message: 'must be in the future' }]);
      return ctx.auth.createApiKey({ userId, name: input.name.trim(), expiresAt: input.expiresAt ?? null });
    },
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description: 'Revokes an API key at once. Revoking twice is harmless.',
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => ctx.auth.revokeApiKey({ viewer: (ctx as AuthenticatedContext).viewer, id: String(id), now: ctx.now() }),
  }),
  issueToken: t.field({
    type: IssuedToken,
    description: 'Issues a short-lived JWT for a user (admins only).',
    args: { input: t.arg({ type: IssueTokenInput }) },
    resolve: (_root, { input }, ctx) => ctx.auth.issueToken({ userId: String(input.userId), now: ctx.now() }),
  }),
}));
