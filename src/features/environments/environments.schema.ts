import { z } from 'zod';
import { actorOf } from '../../auth/index.js';
import type { Environment } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { ProjectRef } from '../projects/index.js';
import { createEnvironment, deleteEnvironment, listEnvironments, renameEnvironment } from './environments.service.js';

export const EnvironmentRef = builder.objectRef<Environment>('Environment').implement({
  description: 'A stage of a project (development, staging, production...). Each project secret lives in one.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

// Reached only through a project the viewer may see (the project field's rule).
builder.objectField(ProjectRef, 'environments', (t) =>
  t.field({ type: [EnvironmentRef], resolve: (project, _args, ctx) => listEnvironments({ db: ctx.db, projectId: project.id }) }),
);

const name = { schema: z.string().max(32, 'must be at most 32 characters') };

builder.mutationFields((t) => ({
  createEnvironment: t.field({
    type: EnvironmentRef,
    args: { projectId: t.arg.id(), name: t.arg.string({ validate: name }) },
    resolve: (_root, args, ctx) =>
      createEnvironment({ db: ctx.db, actor: actorOf(ctx), projectId: String(args.projectId), name: args.name }),
  }),
  renameEnvironment: t.field({
    type: EnvironmentRef,
    description: 'Its secrets stay in it (they belong to the environment, not to its name).',
    args: { projectId: t.arg.id(), name: t.arg.string({ validate: name }), newName: t.arg.string({ validate: name }) },
    resolve: (_root, args, ctx) =>
      renameEnvironment({
        db: ctx.db,
        actor: actorOf(ctx),
        signals: ctx.signals,
        projectId: String(args.projectId),
        name: args.name,
        newName: args.newName,
      }),
  }),
  deleteEnvironment: t.field({
    type: EnvironmentRef,
    description: 'CONFLICT while it holds secrets, unless force is true: then its secrets are destroyed with it.',
    args: {
      projectId: t.arg.id(),
      name: t.arg.string({ validate: name }),
      force: t.arg.boolean({ required: false, defaultValue: false }),
    },
    resolve: (_root, args, ctx) =>
      deleteEnvironment({
        db: ctx.db,
        actor: actorOf(ctx),
        signals: ctx.signals,
        projectId: String(args.projectId),
        name: args.name,
        force: args.force ?? false,
      }),
  }),
}));
