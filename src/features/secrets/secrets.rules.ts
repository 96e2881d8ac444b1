import type { GraphQLResolveInfo } from 'graphql';
import { actorOf, isAdmin, type Viewer } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { badInput, forbidden, isCofferError, notFound, unauthenticated, type CofferError } from '../../errors.js';
import type { Context } from '../../graphql/context.js';
import { lookupRule, type FeaturePermissions } from '../../graphql/permissions.js';
import * as secretsRepository from './secrets.repository.js';
import { resolveScope, type ScopeInputShape, type ScopeRef } from './secrets.scope.js';
import { recordDenial } from './secrets.service.js';

interface NamedInScope {
  scope?: ScopeInputShape | null;
  name?: string;
}

type SecretArgs = NamedInScope & { input?: NamedInScope & { isReserved?: boolean | null } };

/**
 * The scope each rule let through, for its resolver. Keyed by the field's `info`: graphql-js builds
 * one per field execution and shield and Pothos hand that same object to the rule and the resolver
 * (the args are not: plugin-zod passes the resolver a parsed copy).
 */
const allowedScopes = new WeakMap<GraphQLResolveInfo, ScopeRef>();

/** The scope the field's rule resolved and allowed; resolvers never resolve it again. */
export function resolvedScope(info: GraphQLResolveInfo): ScopeRef {
  const ref = allowedScopes.get(info);
  if (!ref) throw new Error(`${info.parentType.name}.${info.fieldName} ran without its secret scope rule.`);
  return ref;
}

type Refusal = { error: CofferError; reason: string } | null;

const refuse = (error: CofferError, reason: string): Refusal => ({ error, reason });

interface Asked {
  adminOnly: boolean;
  setsReserved: boolean;
  /** Where the scope was given (`scope` or `input.scope`), for a BAD_USER_INPUT naming the environment. */
  field: string;
  /** The environment's own field where it is not `<field>.environment` (copySecrets' `from`). */
  environmentField?: string;
}

/**
 * ACCOUNT secrets: admins. PROJECT: the project's owner or an admin. USER: that user or an admin.
 * Setting or clearing isReserved is for admins.
 *
 * A scope naming someone else's project or user is refused exactly like one naming nothing
 * (NOT_FOUND, same message): a refusal must not confirm that an id exists. Only the audit record's
 * reason tells the two apart, so the lookup runs for every caller.
 */
async function refusalOf(db: Database, viewer: Viewer, ref: ScopeRef, asked: Asked): Promise<Refusal> {
  const { adminOnly, setsReserved, field } = asked;
  const admin = isAdmin(viewer);
  if (!admin && adminOnly) return refuse(forbidden('Only admins can do this.'), 'needs an admin');
  if (!admin && ref.scope === 'ACCOUNT') return refuse(forbidden('Only admins can use ACCOUNT secrets.'), 'account scope needs an admin');
  if (ref.scope === 'USER' && ref.ownerId !== viewer.userId) {
    if (!(await secretsRepository.userExists(db.prisma, ref.ownerId))) return refuse(notFound('User'), 'no such user');
    if (!admin) return refuse(notFound('User'), 'another user');
  }
  if (ref.scope === 'PROJECT') {
    const project = await secretsRepository.projectAccess(db, ref.ownerId, ref.environment!);
    if (project === null) return refuse(notFound('Project'), 'no such project');
    if (!admin && project.ownerId !== viewer.userId) return refuse(notFound('Project'), 'not the project owner');
    // Only someone allowed in the project learns which environments it has.
    if (project.environmentId === null) {
      const problem = {
        field: asked.environmentField ?? `${field}.environment`,
        message: `the project has no environment ${ref.environment}`,
      };
      return refuse(badInput([problem], 'Unknown environment.'), 'no such environment');
    }
    ref.environmentId = project.environmentId;
  }
  if (!admin && setsReserved) return refuse(forbidden('Only admins can set or clear isReserved.'), 'isReserved needs an admin');
  return null;
}

/**
 * Why `viewer` may not read secrets of `ref` (references check every scope they reach), or null.
 * Like the field rules, it resolves a PROJECT scope's environment id into `ref`.
 */
export const readRefusal = (db: Database, viewer: Viewer, ref: ScopeRef) =>
  refusalOf(db, viewer, ref, { adminOnly: false, setsReserved: false, field: 'scope' });

/**
 * Resolves the secret scope once and decides who may use it. Every denial is audited, so probing
 * other people's secrets leaves a trace. Not cached: each field execution must hand its own
 * resolver the scope (see resolvedScope).
 */
const secretScopeRule = (options: { adminOnly: boolean }) =>
  lookupRule({ cache: 'no_cache' })(async (_parent, args: SecretArgs, ctx: Context, info: GraphQLResolveInfo) => {
    if (!ctx.viewer) return unauthenticated();
    const field = args.input ? 'input.scope' : 'scope';
    let ref: ScopeRef;
    try {
      ref = resolveScope(args.scope ?? args.input?.scope, ctx.viewer, field);
    } catch (error) {
      if (isCofferError(error)) return error;
      throw error;
    }
    const refusal = await refusalOf(ctx.db, ctx.viewer, ref, { ...options, setsReserved: args.input?.isReserved != null, field });
    if (refusal) {
      const name = args.name ?? args.input?.name ?? null;
      await recordDenial({ db: ctx.db, actor: actorOf(ctx), ref, name, action: `secret.${info.fieldName}`, reason: refusal.reason });
      return refusal.error;
    }
    allowedScopes.set(info, ref);
    return true;
  });

/**
 * For node(id:): the secrets `secrets(scope:)` would list to the viewer (ACCOUNT: admins; PROJECT:
 * its owner or an admin; USER: that user or an admin), soft-deleted ones included as with
 * `includeDeleted`, expired unreserved ones left out.
 */
export async function visibleSecrets(ctx: Context, ids: string[]) {
  const viewer = ctx.viewer;
  if (!viewer) return [];
  const found = await secretsRepository.secretsByIds(ctx.db.prisma, ids, ctx.now());
  if (isAdmin(viewer)) return found;
  const projectIds = [...new Set(found.filter((secret) => secret.scope === 'PROJECT').map((secret) => secret.ownerId))];
  const owned = new Set(projectIds.length > 0 ? await secretsRepository.projectsOwnedBy(ctx.db.prisma, projectIds, viewer.userId) : []);
  return found.filter(
    (secret) => (secret.scope === 'USER' && secret.ownerId === viewer.userId) || (secret.scope === 'PROJECT' && owned.has(secret.ownerId)),
  );
}

export const canUseSecretScope = secretScopeRule({ adminOnly: false });

/** The two environments each rule of `environmentPairRule` let through, for its resolver (as allowedScopes). */
const allowedPairs = new WeakMap<GraphQLResolveInfo, [ScopeRef, ScopeRef]>();

export function resolvedEnvironments(info: GraphQLResolveInfo): [ScopeRef, ScopeRef] {
  const pair = allowedPairs.get(info);
  if (!pair) throw new Error(`${info.parentType.name}.${info.fieldName} ran without its environments rule.`);
  return pair;
}

/**
 * Fields naming a project and two of its environments (`from`/`to`, `a`/`b`): the viewer must be
 * allowed to use both, as for secrets of each (owner or admin; someone else's project is NOT_FOUND
 * like an unknown one). Denials are audited.
 */
const environmentPairRule = (fields: readonly [string, string]) =>
  lookupRule({ cache: 'no_cache' })(async (_parent, args: Record<string, unknown>, ctx: Context, info: GraphQLResolveInfo) => {
    if (!ctx.viewer) return unauthenticated();
    const refs: ScopeRef[] = [];
    for (const field of fields) {
      let ref: ScopeRef;
      try {
        ref = resolveScope({ type: 'PROJECT', projectId: args.projectId as string, environment: args[field] as string }, ctx.viewer, field);
      } catch (error) {
        if (!isCofferError(error)) throw error;
        const problem = (error.details.fields as Array<{ field: string; message: string }>)[0]!;
        return badInput([{ field: problem.field === `${field}.projectId` ? 'projectId' : field, message: problem.message }], error.message);
      }
      const refusal = await refusalOf(ctx.db, ctx.viewer, ref, { adminOnly: false, setsReserved: false, field, environmentField: field });
      if (refusal) {
        await recordDenial({
          db: ctx.db,
          actor: actorOf(ctx),
          ref,
          name: null,
          action: `secret.${info.fieldName}`,
          reason: refusal.reason,
        });
        return refusal.error;
      }
      refs.push(ref);
    }
    allowedPairs.set(info, [refs[0]!, refs[1]!]);
    return true;
  });

/** destroySecret: admins only, and a developer's attempt is audited like any other denial. */
export const canDestroySecret = secretScopeRule({ adminOnly: true });

export const secretsPermissions: FeaturePermissions = {
  Query: {
    secrets: canUseSecretScope,
    secret: canUseSecretScope,
    secretVersions: canUseSecretScope,
    secretValues: canUseSecretScope,
    compareEnvironments: environmentPairRule(['a', 'b']),
  },
  Mutation: {
    upsertSecret: canUseSecretScope,
    updateSecret: canUseSecretScope,
    deleteSecret: canUseSecretScope,
    restoreSecret: canUseSecretScope,
    rollbackSecret: canUseSecretScope,
    destroySecret: canDestroySecret,
    copySecrets: environmentPairRule(['from', 'to']),
  },
};
