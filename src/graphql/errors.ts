import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type MaskError } from 'graphql-yoga';
import { isDatabaseOutage } from '../db/prisma-errors.js';
import { isCofferError, serviceUnavailable, type CofferError, type ErrorCode } from '../errors.js';

/** Codes that are about the request as a whole carry an HTTP status (and when to come back). */
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { RATE_LIMITED: 429, SERVICE_UNAVAILABLE: 503 };

/** What a client is told when the database cannot answer: retryable, and nothing of the driver's own words. */
export const databaseUnavailable = () =>
  serviceUnavailable('The database is unavailable right now; try again shortly.', { reason: 'DATABASE_UNAVAILABLE', retryAfterSeconds: 5 });

/** A Coffer error for anything the API can explain (its own errors, database outages), or null. */
export function asCofferError(error: unknown): CofferError | null {
  if (isCofferError(error)) return error;
  return isDatabaseOutage(error) ? databaseUnavailable() : null;
}

/** What was thrown first: graphql-js wraps errors (a scalar's in a coercion error, and that in a variable's). */
export function rootCause(error: unknown): unknown {
  let cause = error;
  while (cause instanceof GraphQLError && cause.originalError) cause = cause.originalError;
  return cause;
}

/** A Coffer error as clients see it: its message, and its code and details as extensions. */
export function toGraphQLError(error: CofferError, at?: GraphQLError): GraphQLError {
  const status = HTTP_STATUS[error.code];
  const retryAfter = error.details.retryAfterSeconds;
  // Yoga sets the status and headers from `http` and leaves it out of the body.
  const headers: Record<string, string> = typeof retryAfter === 'number' ? { 'Retry-After': String(retryAfter) } : {};
  const http = status ? { http: { status, headers } } : {};
  return new GraphQLError(error.message, {
    ...(at ? { nodes: at.nodes, source: at.source, positions: at.positions, path: at.path } : {}),
    extensions: { code: error.code, ...error.details, ...http },
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
  const coded = asCofferError(original);
  if (coded) return toGraphQLError(coded, error instanceof GraphQLError ? error : undefined);
  return yogaMaskError(error, message, isDev);
};
