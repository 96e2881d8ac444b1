import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ZodPlugin from '@pothos/plugin-zod';
import type { Context } from './context.js';
import { badInput } from '../errors.js';
import { toGraphQLError } from './errors.js';

/**
 * Every mutation result is nullable: graphql-js nulls the nearest nullable parent of a failed
 * field, so with non-null results one failed alias (`b: startStripeSync` answering CONFLICT) erased
 * its siblings' results (`data: null`). Applied here so a new mutation cannot forget it.
 */
class NullableMutationResultsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    if (fieldConfig.parentType !== 'Mutation' || fieldConfig.type.nullable) return fieldConfig;
    return { ...fieldConfig, type: { ...fieldConfig.type, nullable: true } };
  }
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  export namespace PothosSchemaTypes {
    export interface Plugins<Types extends SchemaTypes> {
      nullableMutationResults: NullableMutationResultsPlugin<Types>;
    }
  }
}

SchemaBuilder.registerPlugin('nullableMutationResults', NullableMutationResultsPlugin);

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  // Every connection resolver returns toConnection(...) from src/db/pagination.ts, which carries this.
  Connection: { totalCount: () => Promise<number> };
}>({
  plugins: [ZodPlugin, RelayPlugin, 'nullableMutationResults'],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  zod: {
    // Field-level details for the client; zod messages never echo the rejected value.
    validationError: (zodError) =>
      badInput(
        zodError.issues.map((issue) => ({
          field: issue.path.map(String).join('.'),
          message: issue.message,
        })),
      ),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // node(id:)/nodes(ids:) and the Node interface are Coffer's own (src/graphql/node.ts): ids stay UUIDs.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    // `nodes` next to `edges` on every connection.
    nodesOnConnection: true,
  },
});

// `totalCount` on every connection, counted only when selected (toConnection's lazy `count`).
builder.globalConnectionField('totalCount', (t) =>
  t.int({
    description: 'How many items the filter matches in all, not only on this page.',
    resolve: (connection) => connection.totalCount(),
  }),
);

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date and time with an offset, e.g. 2026-11-23T10:00:00Z.',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) ? new Date(value) : null;
    if (!date || Number.isNaN(date.getTime())) {
      // A GraphQLError: graphql-js would otherwise quote the rejected literal in its own message.
      throw toGraphQLError(
        badInput([{ field: '', message: 'must be an ISO-8601 date-time such as 2026-11-23T10:00:00Z' }], 'Invalid DateTime.'),
      );
    }
    return date;
  },
});

builder.scalarType('JSON', { description: 'Arbitrary JSON.', serialize: (value) => value, parseValue: (value) => value });

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
