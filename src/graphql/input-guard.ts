import {
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  isScalarType,
  Kind,
  TypeInfo,
  valueFromAST,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type ValueNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isUuid } from '../db/ids.js';
import { badInput, CofferError, type FieldProblem } from '../errors.js';
import { toGraphQLError } from './errors.js';

/**
 * Checks every argument before anything executes, so that input PostgreSQL or Prisma would choke
 * on never reaches them (and never becomes "Unexpected error."):
 * - text is well-formed Unicode and holds no control characters (NUL and the C0/DEL range, but
 *   tab, newline and carriage return), except where any text is the point: a secret's value;
 * - every ID is a UUID. A malformed id given as an argument is NOT_FOUND (nothing can have it); one
 *   inside an input or filter is BAD_USER_INPUT naming the field.
 */

/** Input fields that take any text at all (`Type.field`). */
const FREE_TEXT = new Set(['UpsertSecretInput.value', 'UpdateSecretInput.value']);
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/; // eslint-disable-line no-control-regex

interface Found {
  notFound: string | null;
  problems: FieldProblem[];
}

function inspectValue(value: unknown, type: GraphQLInputType, path: string, owner: string | null, found: Found, topLevel: boolean) {
  if (value === null || value === undefined) return;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    if (Array.isArray(value)) value.forEach((item, index) => inspectValue(item, nullable.ofType, `${path}.${index}`, owner, found, false));
    return;
  }
  if (isInputObjectType(nullable)) {
    if (typeof value !== 'object') return;
    for (const field of Object.values(nullable.getFields())) {
      const inner = (value as Record<string, unknown>)[field.name];
      inspectValue(inner, field.type, `${path}.${field.name}`, `${nullable.name}.${field.name}`, found, false);
    }
    return;
  }
  if (!isScalarType(nullable)) return;
  // An ID may be sent as a number; it reaches the database as text all the same.
  const text = nullable.name === 'ID' && typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string') return;
  if (nullable.name === 'ID' && !isUuid(text)) {
    if (topLevel) found.notFound ??= path;
    else found.problems.push({ field: path, message: 'is not a valid id' });
  } else if (!text.isWellFormed()) {
    // A lone surrogate would be stored as U+FFFD: not what was sent.
    found.problems.push({ field: path, message: 'must be valid Unicode text' });
  } else if (!(owner && FREE_TEXT.has(owner)) && CONTROL.test(text)) {
    found.problems.push({ field: path, message: 'must not contain control characters' });
  }
}

/** An argument of a document, as found once per document (Yoga caches parsed documents). */
interface ArgumentSite {
  name: string;
  type: GraphQLInputType;
  value: ValueNode;
  /** An ID argument of a field: a malformed one is NOT_FOUND, not BAD_USER_INPUT. */
  isId: boolean;
}

const sitesByDocument = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, ArgumentSite[]>>();

function argumentSites(schema: GraphQLSchema, document: DocumentNode): ArgumentSite[] {
  let bySchema = sitesByDocument.get(schema);
  if (!bySchema) sitesByDocument.set(schema, (bySchema = new WeakMap()));
  let sites = bySchema.get(document);
  if (sites) return sites;
  const found: ArgumentSite[] = [];
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      [Kind.ARGUMENT]: (node) => {
        const argument = typeInfo.getArgument();
        // Directive arguments (@include, @skip) are Booleans: nothing to check.
        if (!argument || typeInfo.getDirective()) return;
        found.push({ name: node.name.value, type: argument.type, value: node.value, isId: getNamedType(argument.type).name === 'ID' });
      },
    }),
  );
  bySchema.set(document, (sites = found));
  return sites;
}

/** Problems in the arguments of `document`, or null when they are clean. */
export function inspectArguments(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>): CofferError | null {
  const sites = argumentSites(schema, document);
  if (sites.length === 0) return null;
  const found: Found = { notFound: null, problems: [] };
  for (const site of sites) {
    inspectValue(valueFromAST(site.value, site.type, variables), site.type, site.name, null, found, site.isId);
  }
  if (found.problems.length > 0) return badInput(found.problems);
  if (found.notFound) return new CofferError('NOT_FOUND', `Nothing has the id given as "${found.notFound}".`, { field: found.notFound });
  return null;
}

export function useInputGuard(): Plugin {
  const guard = (args: { schema: GraphQLSchema; document: DocumentNode; variableValues?: unknown }) =>
    inspectArguments(args.schema, args.document, (args.variableValues ?? {}) as Record<string, unknown>);
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const problem = guard(args);
      if (problem) setResultAndStopExecution({ errors: [toGraphQLError(problem)] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const problem = guard(args);
      if (problem) setResultAndStopExecution({ errors: [toGraphQLError(problem)] });
    },
  };
}
