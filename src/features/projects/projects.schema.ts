import { z } from 'zod';
import { requireViewer } from '../../auth/index.js';
import type { Project } from '../../generated/prisma/client.js';
import { visibleProjects } from './projects.rules.js';
import { builder } from '../../graphql/builder.js';
import { NodeRef, registerNode } from '../../graphql/node.js';
import { connectionOf } from '../../graphql/connections.js';
import { UserRef } from '../users/index.js';
import { assertProjectAccess } from './projects.rules.js';
import {
  createProject,
  getProject,
  listProjects,
  ownerOfProject,
  projectEventsTopic,
  renameProject,
  type ProjectEvent,
} from './projects.service.js';

export const ProjectRef = builder.objectRef<Project>('Project').implement({
  interfaces: [NodeRef],
  description: 'A customer project of the platform. Its owner (and admins) manage its secrets and Stripe setup.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    ownerId: t.exposeID('ownerId'),
    owner: t.field({
      type: UserRef,
      resolve: (project, _args, ctx) => ownerOfProject({ db: ctx.db, ownerId: project.ownerId }),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

registerNode(ProjectRef, visibleProjects);

const ProjectEventKind = builder.enumType('ProjectEventKind', { values: ['UPDATED', 'DELETED'] as const });

const ProjectEventRef = builder.objectRef<ProjectEvent>('ProjectEvent').implement({
  fields: (t) => ({
    projectId: t.exposeID('projectId'),
    kind: t.expose('kind', { type: ProjectEventKind }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const projectName = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

builder.queryFields((t) => ({
  projects: t.connection(
    {
      type: ProjectRef,
      description: "Your projects, newest first. Admins see every project, or one owner's with `ownerId`.",
      args: { ownerId: t.arg.id({ required: false }) },
      resolve: (_root, args, ctx) =>
        listProjects({ db: ctx.db, viewer: requireViewer(ctx), page: args, ownerId: args.ownerId ? String(args.ownerId) : null }),
    },
    connectionOf(ProjectRef),
  ),
  project: t.field({
    type: ProjectRef,
    args: { id: t.arg.id() },
    resolve: (_root, { id }, ctx) => getProject({ db: ctx.db, id: String(id) }),
  }),
}));

const CreateProjectInput = builder.inputType('CreateProjectInput', {
  fields: (t) => ({ name: t.string({ validate: { schema: projectName } }) }),
});
const UpdateProjectInput = builder.inputType('UpdateProjectInput', {
  fields: (t) => ({ name: t.string({ validate: { schema: projectName } }) }),
});

builder.mutationFields((t) => ({
  createProject: t.field({
    type: ProjectRef,
    description: 'Creates a project owned by you.',
    args: { input: t.arg({ type: CreateProjectInput }) },
    resolve: (_root, { input }, ctx) => createProject({ db: ctx.db, viewer: requireViewer(ctx), name: input.name }),
  }),
  updateProject: t.field({
    type: ProjectRef,
    args: { id: t.arg.id(), input: t.arg({ type: UpdateProjectInput }) },
    resolve: (_root, { id, input }, ctx) => renameProject({ db: ctx.db, events: ctx.events, id: String(id), name: input.name }),
  }),
}));

builder.subscriptionFields((t) => ({
  projectEvents: t.field({
    type: ProjectEventRef,
    description: 'Changes to one project, as they happen (owner or admin).',
    args: { projectId: t.arg.id() },
    subscribe: async (_root, { projectId }, ctx) => {
      await assertProjectAccess(ctx, String(projectId));
      return projectEventsTopic.subscribe(ctx.events, String(projectId));
    },
    resolve: (event) => event,
  }),
}));
