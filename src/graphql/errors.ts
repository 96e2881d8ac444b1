import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type MaskError } from 'graphql-yoga';
import { isCofferError, type CofferError } from '../errors.js';

/** What was thrown first: graphql-js wraps errors (a scalar's in a coercion error, and that in a variable's). */
export function rootCause(error: unknown): unknown {
  let cause = error;
  while (cause instanceof GraphQLError && cause.originalError) cause = cause.originalError;
  return cause;
}

/** A Coffer error as clients see it: its message, and its code and details as extensions. */
export function toGraphQLError(error: CofferError, at?: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    ...(at ? { nodes: at.nodes, source: at.source, positions: at.positions, path: at.path } : {}),
    extensions: { code: error.code, ...error.details },
  });
}

/**
 * The one place where errors become what clients see: Coffer's own errors keep their code and
 * details; anything else unexpected is masked by Yoga ("Unexpected error.", INTERNAL_SERVER_ERROR).
 */
export const maskError: MaskError = (error, message, isDev) => {
  const original = rootCause(error);
  // Variable coercion (no path): the error-codes plugin rebuilds it, naming the field and never the value.
  if (isCofferError(original) && error instanceof GraphQLError && !error.path) return error;
  if (isCofferError(original)) return toGraphQLError(original, error instanceof GraphQLError ? error : undefined);
  return yogaMaskError(error, message, isDev);
};
