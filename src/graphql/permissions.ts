import { GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { allow, and, deny, rule, shield, type IRules } from 'graphql-shield';
import { forbidden } from '../errors.js';
import { asCofferError } from './errors.js';

/** A rule or a combination of rules (and, or, chain...). */
export type ShieldRule = Parameters<typeof and>[number];
export type FieldRules = Record<string, ShieldRule>;

/**
 * Who may do what, declared by each feature next to its schema (`<domain>.rules.ts`). Root fields
 * without a rule are denied: a new operation is closed until its feature decides who may call it
 * (and the auth-matrix test makes it prove that).
 */
export interface FeaturePermissions {
  Query?: FieldRules;
  Mutation?: FieldRules;
  Subscription?: FieldRules;
  /** Fields of non-root types whose answer depends on the object (e.g. a user's API keys). */
  types?: Record<string, FieldRules>;
}

const ROOTS = ['Query', 'Mutation', 'Subscription'] as const;

type RuleOptions = Parameters<typeof rule>[0];
type RuleFunction = Parameters<ReturnType<typeof rule>>[0];

/**
 * graphql-shield's `rule`, for rules that read the database: shield turns a rule's exception into
 * a plain denial, so a database outage would answer FORBIDDEN. Here it answers what it is
 * (SERVICE_UNAVAILABLE, retryable).
 */
export function lookupRule(options: RuleOptions) {
  return (check: RuleFunction) =>
    rule(options)(async (parent, args, ctx, info) => {
      try {
        return await check(parent, args, ctx, info);
      } catch (error) {
        const coded = asCofferError(error);
        if (coded) return coded;
        throw error;
      }
    });
}

/**
 * One shield for the whole API. Non-root types are reachable only through guarded root fields,
 * so they default to allow (shield's fallback would otherwise deny every PageInfo and edge).
 */
export function buildPermissions(schema: GraphQLSchema, features: readonly FeaturePermissions[]) {
  const rules: IRules = {};
  for (const feature of features) {
    for (const [typeName, fields] of Object.entries(feature.types ?? {}))
      rules[typeName] = { '*': allow, ...(rules[typeName] as FieldRules | undefined), ...fields };
  }
  for (const root of ROOTS) {
    const fields = Object.assign({}, ...features.map((feature) => feature[root] ?? {})) as FieldRules;
    rules[root] = { ...fields, '*': deny };
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__') || type.name in rules) continue;
    rules[type.name] = allow;
  }
  return shield(rules, {
    allowExternalErrors: true,
    // Shield's defaults would turn denials into yoga's masked "Unexpected error.". A rule that could
    // not decide (the database is down) is an outage to retry, never a denial.
    fallbackError: (thrown) => asCofferError(thrown) ?? forbidden(),
    fallbackRule: deny,
  });
}
