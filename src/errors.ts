/**
 * Failures a caller can act on, raised by services, rules and infrastructure alike. They know
 * nothing of GraphQL: the API turns them into coded GraphQL errors in one place
 * (graphql/errors.ts), the CLI into a line and an exit code.
 *
 * Messages and details are written for the caller and must never hold a secret value or a full
 * credential: pass names and reasons, never inputs.
 */

/** The stable codes clients rely on (GraphQL `extensions.code`). */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'STRIPE_ERROR'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  /** A secret's value references another secret that cannot be served (missing, a cycle, too deep...). */
  | 'UNRESOLVED_REFERENCE';

export interface FieldProblem {
  /** Path of the offending input field, e.g. `input.name`. */
  field: string;
  message: string;
}

export class CofferError extends Error {
  override name = 'CofferError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra facts for the caller (`fields`, `reason`, `activeRunId`...), shown as GraphQL extensions. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const isCofferError = (error: unknown): error is CofferError => error instanceof CofferError;

export const unauthenticated = (message = 'Sign in with an API key or a token to do this.') => new CofferError('UNAUTHENTICATED', message);

export const forbidden = (message = 'You are not allowed to do this.') => new CofferError('FORBIDDEN', message);

export const notFound = (what: string) => new CofferError('NOT_FOUND', `${what} was not found.`);

export const conflict = (message: string, details: Record<string, unknown> = {}) => new CofferError('CONFLICT', message, details);

export const badInput = (fields: FieldProblem[], message = 'The input is not valid.') =>
  new CofferError('BAD_USER_INPUT', message, { fields });

/** Retryable: the service cannot do this right now (database outage, unreadable keyring). */
export const serviceUnavailable = (message: string, details: Record<string, unknown> = {}) =>
  new CofferError('SERVICE_UNAVAILABLE', message, { retryable: true, ...details });
