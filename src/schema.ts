import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { auditPermissions } from './features/audit/index.js';
import { credentialsPermissions } from './features/credentials/index.js';
import { environmentsPermissions } from './features/environments/index.js';
import { machineIdentitiesPermissions } from './features/machine-identities/index.js';
import { masterKeysPermissions } from './features/master-keys/index.js';
import { projectsPermissions } from './features/projects/index.js';
import { secretsPermissions } from './features/secrets/index.js';
import { secretChangesPermissions } from './features/secret-changes/index.js';
import { stripePermissions } from './features/stripe/index.js';
import { usersPermissions } from './features/users/index.js';
import { builder } from './graphql/builder.js';
import { nodePermissions } from './graphql/node.js';
import { buildPermissions } from './graphql/permissions.js';
import { rootFieldTracing } from './graphql/tracing.js';

/** Every feature's part of the API; importing a feature's index registers its types on the builder. */
const PERMISSIONS = [
  usersPermissions,
  credentialsPermissions,
  projectsPermissions,
  secretsPermissions,
  environmentsPermissions,
  auditPermissions,
  masterKeysPermissions,
  stripePermissions,
  nodePermissions,
  secretChangesPermissions,
  machineIdentitiesPermissions,
];

let cached: GraphQLSchema | null = null;

/** The schema as Pothos declares it, without authorization (printing, codegen). */
export function buildSchema(): GraphQLSchema {
  cached ??= builder.toSchema({ sortSchema: true });
  return cached;
}

/** The schema served to clients: every field behind graphql-shield (with `traced`, root fields in spans). */
export function buildGuardedSchema({ traced = false }: { traced?: boolean } = {}): GraphQLSchema {
  const schema = buildSchema();
  if (!traced) return applyMiddleware(schema, buildPermissions(schema, PERMISSIONS));
  const tracing = rootFieldTracing(schema);
  return applyMiddleware(schema, tracing.outer, buildPermissions(schema, PERMISSIONS), tracing.inner);
}

export function printSchemaSDL(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}
