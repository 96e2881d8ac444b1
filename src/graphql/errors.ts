import { GraphQLError } from 'graphql';

/** The stable `extensions.code` values clients can rely on (DESIGN.md section 4). */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'STRIPE_ERROR'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE';

export interface FieldProblem {
  /** Path of the offending input field, e.g. `input.name`. */
  field: string;
  message: string;
}

/**
 * Errors a client can cause. Messages are written for the client and must never hold a
 * secret value or a full credential: callers pass names and reasons, never inputs.
 */
export class CofferError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
  }
}

export const unauthenticated = (message = 'Sign in with an API key or a token to do this.') =>
  new CofferError('UNAUTHENTICATED', message);

export const forbidden = (message = 'You are not allowed to do this.') => new CofferError('FORBIDDEN', message);

export const notFound = (what: string) => new CofferError('NOT_FOUND', `${what} was not found.`);

export const conflict = (message: string) => new CofferError('CONFLICT', message);

export const badInput = (fields: FieldProblem[], message = 'The input is not valid.') =>
  new CofferError('BAD_USER_INPUT', message, { fields });

/** Retryable: the service cannot do this right now (database outage, unreadable keyring). */
export const serviceUnavailable = (message: string, extra: Record<string, unknown> = {}) =>
  new CofferError('SERVICE_UNAVAILABLE', message, { retryable: true, ...extra });

export function isCofferError(error: unknown): error is CofferError {
  return error instanceof CofferError;
}
