import { z } from 'zod';
import { actorOf, requireViewer } from '../../auth/index.js';
import type { User } from '../../generated/prisma/client.js';
import { Role } from '../../generated/prisma/enums.js';
import { visibleUsers } from './users.rules.js';
import { builder } from '../../graphql/builder.js';
import { NodeRef, registerNode } from '../../graphql/node.js';
import { connectionOf } from '../../graphql/connections.js';
import { createUser, listUsers, setUserDisabled } from './users.service.js';

export const RoleEnum = builder.enumType(Role, { name: 'Role' });

export const UserRef = builder.objectRef<User>('User').implement({
  interfaces: [NodeRef],
  description: 'A person or service that uses Coffer. Admins manage the deployment; developers own projects.',
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    name: t.exposeString('name', { nullable: true }),
    role: t.expose('role', { type: RoleEnum }),
    isExternal: t.boolean({
      description: "Provisioned from the platform's identity provider.",
      resolve: (user) => user.externalId !== null,
    }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

registerNode(UserRef, visibleUsers);

builder.queryFields((t) => ({
  me: t.field({
    type: UserRef,
    description: 'The signed-in user.',
    resolve: (_root, _args, ctx) => requireViewer(ctx).user,
  }),
  users: t.connection(
    {
      type: UserRef,
      description: 'Every user, newest first (admins only).',
      resolve: (_root, args, ctx) => listUsers({ db: ctx.db, page: args }),
    },
    connectionOf(UserRef),
  ),
}));

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    email: t.string({ validate: { schema: z.string().trim().email('must be an email address').max(254) } }),
    name: t.string({ required: false, validate: { schema: z.string().trim().min(1).max(200) } }),
    role: t.field({ type: RoleEnum, required: false, defaultValue: 'DEVELOPER' }),
  }),
});

builder.mutationFields((t) => ({
  createUser: t.field({
    type: UserRef,
    description: 'Creates a user (admins only). Give them a credential with createApiKey or issueToken.',
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      createUser({ db: ctx.db, input: { email: input.email, name: input.name ?? null, role: input.role ?? 'DEVELOPER' } }),
  }),
  disableUser: t.field({
    type: UserRef,
    description:
      'Disables a user (admins only): their API keys and tokens are refused from the next request on, on every replica. ' +
      'Not yourself (BAD_USER_INPUT), nor the last enabled admin (CONFLICT). Disabling a disabled user changes nothing.',
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) =>
      setUserDisabled({ db: ctx.db, signals: ctx.signals, actor: actorOf(ctx), now: ctx.now(), userId: String(id), disabled: true }),
  }),
  enableUser: t.field({
    type: UserRef,
    description: 'Enables a disabled user again (admins only): their unrevoked API keys work again.',
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) =>
      setUserDisabled({ db: ctx.db, signals: ctx.signals, actor: actorOf(ctx), now: ctx.now(), userId: String(id), disabled: false }),
  }),
}));
