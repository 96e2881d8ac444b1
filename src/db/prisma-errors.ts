import { Prisma } from '../generated/prisma/client.js';

/** Prisma's codes for the database answers services turn into domain errors. */
export const isUniqueViolation = (error: unknown): boolean =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';

/** A row still referenced by another (e.g. deleting a user who owns projects). */
export const isForeignKeyViolation = (error: unknown): boolean =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2003';

/** An update or delete whose row does not exist (any more). */
export const isMissingRecord = (error: unknown): boolean => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025';

/** Prisma's codes for "the database cannot be reached or dropped us": not the caller's fault, worth retrying. */
const OUTAGE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2037']);
/** SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, starting up). */
const OUTAGE_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
const OUTAGE_SYSCALL = /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN)$/;
const OUTAGE_MESSAGE = new RegExp(
  [
    'Connection terminated',
    'not queryable',
    'connection (is|was) closed',
    "Can't reach database server",
    'Server has closed the connection',
    'the database system is (shutting down|starting up)',
  ].join('|'),
  'i',
);

/**
 * A database outage, as Prisma, its pg adapter, or pg itself report one: answered SERVICE_UNAVAILABLE
 * (retryable), never as an internal error, and never mistaken by a rule for a denial.
 */
export function isDatabaseOutage(error: unknown): boolean {
  let cause: unknown = error;
  for (let depth = 0; depth < 6 && cause; depth++) {
    if (cause instanceof Prisma.PrismaClientInitializationError) return true;
    const { code, message } = cause as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (OUTAGE_CODES.has(code) || OUTAGE_SQLSTATE.test(code) || OUTAGE_SYSCALL.test(code))) return true;
    if (typeof message === 'string' && OUTAGE_MESSAGE.test(message)) return true;
    const next =
      (cause as { cause?: unknown; meta?: { driverAdapterError?: unknown } }).meta?.driverAdapterError ??
      (cause as { cause?: unknown }).cause;
    cause = next === cause ? null : next;
  }
  return false;
}
