import { GraphQLObjectType, type GraphQLSchema } from 'graphql';
import type { IMiddlewareFieldMap, IMiddlewareTypeMap } from 'graphql-middleware';
import { allow, and, chain, deny, rule, shield, type IRules } from 'graphql-shield';
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

/** Rules that decide for machine identities themselves (their grant); see admitsMachines. */
const machineAwareRules = new WeakSet<object>();

/**
 * Marks a rule as deciding for machine identities too (checking their project, environments and
 * permissions, e.g. with `machineMay`). Every other root field refuses a machine identity before
 * its rule runs: a new operation is closed to machines until its feature says otherwise.
 */
export function admitsMachines<R extends ShieldRule>(ruleToMark: R): R {
  machineAwareRules.add(ruleToMark);
  return ruleToMark;
}

const refusesMachines = rule({ cache: 'contextual' })((_parent, _args, ctx: { viewer?: { kind: string } | null }) =>
  ctx.viewer?.kind === 'machine' ? forbidden('A machine identity may not do this.') : true,
);

/**
 * The rule shield runs for a root field: machine identities are refused first unless the rule
 * admits them. A public field (`allow`, anonymous callers included) stays open to everyone.
 */
const guardedForMachines = (fieldRule: ShieldRule): ShieldRule =>
  fieldRule === allow || machineAwareRules.has(fieldRule) ? fieldRule : chain(refusesMachines, fieldRule);

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
 *
 * Shield wraps every field of the schema, `allow` ones included: an async wrapper per field of
 * every row of a list. Only fields whose rule decides something are kept wrapped; a field without
 * a rule keeps shield's deny fallback, so it is still refused.
 */
export function buildPermissions(schema: GraphQLSchema, features: readonly FeaturePermissions[]): IMiddlewareTypeMap {
  const rules: IRules = {};
  for (const feature of features) {
    for (const [typeName, fields] of Object.entries(feature.types ?? {}))
      rules[typeName] = { '*': allow, ...(rules[typeName] as FieldRules | undefined), ...fields };
  }
  for (const root of ROOTS) {
    const fields = Object.assign({}, ...features.map((feature) => feature[root] ?? {})) as FieldRules;
    rules[root] = {
      ...Object.fromEntries(Object.entries(fields).map(([name, fieldRule]) => [name, guardedForMachines(fieldRule)])),
      '*': deny,
    };
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (!(type instanceof GraphQLObjectType) || type.name.startsWith('__') || type.name in rules) continue;
    rules[type.name] = allow;
  }
  const fallbackRule = deny;
  const generated = shield(rules, {
    allowExternalErrors: true,
    // Shield's defaults would turn denials into yoga's masked "Unexpected error.". A rule that could
    // not decide (the database is down) is an outage to retry, never a denial.
    fallbackError: (thrown) => asCofferError(thrown) ?? forbidden(),
    fallbackRule,
  }).generate(schema) as IMiddlewareTypeMap;

  const guarded: IMiddlewareTypeMap = {};
  for (const [typeName, fields] of Object.entries(generated)) {
    const kept: IMiddlewareFieldMap = {};
    for (const [fieldName, middleware] of Object.entries(fields as IMiddlewareFieldMap)) {
      if (effectiveRule((rules as Record<string, unknown>)[typeName], fieldName, fallbackRule) !== allow) kept[fieldName] = middleware;
    }
    if (Object.keys(kept).length > 0) guarded[typeName] = kept;
  }
  return guarded;
}

/** The rule shield applies to a field: the type's rule, else the field's, the type's '*', or the fallback. */
function effectiveRule(typeRules: unknown, fieldName: string, fallbackRule: ShieldRule): unknown {
  if (typeRules === undefined) return fallbackRule;
  if (Object.getPrototypeOf(typeRules) !== Object.prototype) return typeRules;
  const fields = typeRules as FieldRules;
  return fields[fieldName] ?? fields['*'] ?? fallbackRule;
}
