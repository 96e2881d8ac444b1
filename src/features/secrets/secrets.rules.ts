import type { GraphQLResolveInfo } from 'graphql';
import { actorOf, isAdmin, machineMay, type MachineViewer, type Viewer } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { badInput, forbidden, isCofferError, notFound, unauthenticated, type CofferError } from '../../errors.js';
import type { Context } from '../../graphql/context.js';
import type { MachineIdentityPermission } from '../../generated/prisma/enums.js';
import { admitsMachines, lookupRule, type FeaturePermissions } from '../../graphql/permissions.js';
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
  /** What a machine identity needs for this (admins and owners need nothing more). */
  permission: MachineIdentityPermission;
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
  if (viewer.kind === 'machine') return machineRefusalOf(db, viewer, ref, asked);
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
 * A machine identity: PROJECT secrets of its own project, in its environments, with the permission
 * the field needs; FORBIDDEN for anything else (decided from its grant, so probing teaches nothing).
 */
async function machineRefusalOf(db: Database, viewer: MachineViewer, ref: ScopeRef, asked: Asked) {
  const { adminOnly, permission, setsReserved, field } = asked;
  if (adminOnly) return refuse(forbidden('Only admins can do this.'), 'machine identity: needs an admin');
  if (ref.scope !== 'PROJECT')
    return refuse(forbidden(`A machine identity may not use ${ref.scope} secrets.`), `machine identity: ${ref.scope} scope`);
  const granted = machineMay(viewer, permission, ref.ownerId, ref.environment);
  if (granted !== true) return refuse(granted, `machine identity: ${granted.message}`);
  if (setsReserved) return refuse(forbidden('Only admins can set or clear isReserved.'), 'machine identity: isReserved needs an admin');
  const project = await secretsRepository.projectAccess(db, ref.ownerId, ref.environment!);
  if (project === null) return refuse(notFound('Project'), 'no such project');
  if (project.environmentId === null) {
    const problem = {
      field: asked.environmentField ?? `${field}.environment`,
      message: `the project has no environment ${ref.environment}`,
    };
    return refuse(badInput([problem], 'Unknown environment.'), 'no such environment');
  }
  ref.environmentId = project.environmentId;
  return null;
}

/**
 * Why `viewer` may not read secrets of `ref` (references check every scope they reach), or null.
 * Like the field rules, it resolves a PROJECT scope's environment id into `ref`.
 */
export const readRefusal = (db: Database, viewer: Viewer, ref: ScopeRef) =>
  refusalOf(db, viewer, ref, { adminOnly: false, permission: 'SECRETS_READ', setsReserved: false, field: 'scope' });

/**
 * Resolves the secret scope once and decides who may use it. Every denial is audited, so probing
 * other people's secrets leaves a trace. Not cached: each field execution must hand its own
 * resolver the scope (see resolvedScope).
 */
const secretScopeRule = (options: { adminOnly: boolean; permission: MachineIdentityPermission }) =>
  admitsMachines(secretScopeLookup(options));

const secretScopeLookup = (options: { adminOnly: boolean; permission: MachineIdentityPermission }) =>
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
  if (viewer.kind === 'machine') {
    const candidates = found.filter((secret) => secret.scope === 'PROJECT' && secret.ownerId === viewer.projectId);
    if (candidates.length === 0) return [];
    const names = await secretsRepository.environmentNames(ctx.db.prisma, [...new Set(candidates.map((secret) => secret.environmentId))]);
    return candidates.filter(
      (secret) => machineMay(viewer, 'SECRETS_READ', secret.ownerId, names.get(secret.environmentId) ?? null) === true,
    );
  }
  if (isAdmin(viewer)) return found;
  const projectIds = [...new Set(found.filter((secret) => secret.scope === 'PROJECT').map((secret) => secret.ownerId))];
  const owned = new Set(projectIds.length > 0 ? await secretsRepository.projectsOwnedBy(ctx.db.prisma, projectIds, viewer.userId) : []);
  return found.filter(
    (secret) => (secret.scope === 'USER' && secret.ownerId === viewer.userId) || (secret.scope === 'PROJECT' && owned.has(secret.ownerId)),
  );
}

/** Reading a scope's secrets: its owner, an admin, or a machine identity with SECRETS_READ in that project and environment. */
export const canReadSecretScope = secretScopeRule({ adminOnly: false, permission: 'SECRETS_READ' });

/** Writing them: the same people, or a machine identity with SECRETS_WRITE there. */
export const canWriteSecretScope = secretScopeRule({ adminOnly: false, permission: 'SECRETS_WRITE' });

/** The read rule under its former name (fields that only read); writes use canWriteSecretScope. */
export const canUseSecretScope = canReadSecretScope;

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
 * like an unknown one; a machine identity needs the permission given for each environment, e.g.
 * SECRETS_READ on `from` and SECRETS_WRITE on `to`). Denials are audited.
 */
const environmentPairRule = (fields: readonly [[string, MachineIdentityPermission], [string, MachineIdentityPermission]]) =>
  admitsMachines(
    lookupRule({ cache: 'no_cache' })(async (_parent, args: Record<string, unknown>, ctx: Context, info: GraphQLResolveInfo) => {
      if (!ctx.viewer) return unauthenticated();
      const refs: ScopeRef[] = [];
      for (const [field, permission] of fields) {
        let ref: ScopeRef;
        try {
          ref = resolveScope(
            { type: 'PROJECT', projectId: args.projectId as string, environment: args[field] as string },
            ctx.viewer,
            field,
          );
        } catch (error) {
          if (!isCofferError(error)) throw error;
          const problem = (error.details.fields as Array<{ field: string; message: string }>)[0]!;
          return badInput(
            [{ field: problem.field === `${field}.projectId` ? 'projectId' : field, message: problem.message }],
            error.message,
          );
        }
        const asked = { adminOnly: false, permission, setsReserved: false, field, environmentField: field };
        const refusal = await refusalOf(ctx.db, ctx.viewer, ref, asked);
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
    }),
  );

/** destroySecret: admins only, and a developer's or machine's attempt is audited like any other denial. */
export const canDestroySecret = secretScopeRule({ adminOnly: true, permission: 'SECRETS_WRITE' });

export const secretsPermissions: FeaturePermissions = {
  Query: {
    secrets: canReadSecretScope,
    secret: canReadSecretScope,
    secretVersions: canReadSecretScope,
    secretValues: canReadSecretScope,
    compareEnvironments: environmentPairRule([
      ['a', 'SECRETS_READ'],
      ['b', 'SECRETS_READ'],
    ]),
  },
  Mutation: {
    upsertSecret: canWriteSecretScope,
    upsertSecrets: canWriteSecretScope,
    updateSecret: canWriteSecretScope,
    deleteSecret: canWriteSecretScope,
    restoreSecret: canWriteSecretScope,
    rollbackSecret: canWriteSecretScope,
    destroySecret: canDestroySecret,
    copySecrets: environmentPairRule([
      ['from', 'SECRETS_READ'],
      ['to', 'SECRETS_WRITE'],
    ]),
  },
};
