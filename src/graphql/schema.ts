import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { builder } from './builder.js';
import { buildPermissions } from './permissions.js';
// Each import registers its domain's types and fields on the builder.
import '../features/users/users.schema.js';
import '../auth/auth.schema.js';
import '../features/projects/projects.schema.js';
import '../features/secrets/secrets.schema.js';
import '../features/master-keys/master-keys.schema.js';
import '../features/audit/audit.schema.js';
import '../features/stripe/stripe.schema.js';
import '../features/stripe-sync/sync.schema.js';
import '../features/stripe-sync/mirror.schema.js';

let cached: GraphQLSchema | null = null;

/** The schema as Pothos declares it, without authorization (printing, codegen). */
export function buildSchema(): GraphQLSchema {
  cached ??= builder.toSchema({ sortSchema: true });
  return cached;
}

/** The schema served to clients: every field behind graphql-shield. */
export function buildGuardedSchema(): GraphQLSchema {
  const schema = buildSchema();
  return applyMiddleware(schema, buildPermissions(schema));
}

export function printSchemaSDL(): string {
  return `${printSchema(lexicographicSortSchema(buildSchema()))}\n`;
}
