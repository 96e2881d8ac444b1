import { Prisma } from '../generated/prisma/client.js';

/** Prisma's codes for the database answers services turn into domain errors. */
export const isUniqueViolation = (error: unknown): boolean =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';

/** An update or delete whose row does not exist (any more). */
export const isMissingRecord = (error: unknown): boolean => error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025';
