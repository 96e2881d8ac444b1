import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { auditPermissions } from './features/audit/index.js';
import { credentialsPermissions } from './features/credentials/index.js';
import { masterKeysPermissions } from './features/master-keys/index.js';
import { projectsPermissions } from './features/projects/index.js';
import { secretsPermissions } from './features/secrets/index.js';
import { secretChangesPermissions } from './features/secret-changes/index.js';
import { stripePermissions } from './features/stripe/index.js';
import { usersPermissions } from './features/users/index.js';
import { builder } from './graphql/builder.js';
import { buildPermissions } from './graphql/permissions.js';

/** Every feature's part of the API; importing a feature's index registers its types on the builder. */
const PERMISSIONS = [
  usersPermissions,
  credentialsPermissions,
  projectsPermissions,
  secretsPermissions,
  auditPermissions,
  masterKeysPermissions,
  stripePermissions,
  secretChangesPermissions,
];

let cached: GraphQLSchema | null = null;

/** The schema as Pothos declares it, without authorization (printing, codegen). */
export function buildSchema(): GraphQLSchema {
  cached ??= builder.toSchema({ sortSchema: true });
  return cached;
}

/** The schema served to clients: every field behind graphql-shield. */
export function buildGuardedSchema(): GraphQLSchema {
  const schema = buildSchema();
  return applyMiddleware(schema, buildPermissions(schema, PERMISSIONS));
}

export function printSchemaSDL(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}
