import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ZodPlugin from '@pothos/plugin-zod';
import type { Context } from './context.js';
import { badInput } from '../errors.js';
import { toGraphQLError } from './errors.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [ZodPlugin, RelayPlugin],
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
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});

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
