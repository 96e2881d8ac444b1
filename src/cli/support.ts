import { ConfigError, loadConfig } from '../config.js';
import { DataDirLockedError } from '../db/data-dir-lock.js';
import { asCofferError } from '../graphql/errors.js';
import { createLogger } from '../logger.js';
import { openServices, type Services } from '../services.js';

/** Helpers shared by the command modules. */

/** A failure the command explains itself, with its own exit code (no stack trace). */
export class CommandFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export async function withServices<T>(
  work: (services: Services) => Promise<T>,
  { logLevel = 'warn' }: { logLevel?: string } = {},
): Promise<T> {
  const config = loadConfig();
  // Logs go to stderr so that stdout carries only the command's answer.
  const services = await openServices(config, createLogger(process.env.LOG_LEVEL ?? logLevel, process.stderr), { role: 'cli' });
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

export const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

/**
 * One line for the operator: a Coffer error's code and message, a configuration problem as it is,
 * and for anything else no stack trace and no database message (they can hold SQL and data).
 */
export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError || error instanceof CommandFailure || error instanceof DataDirLockedError) return error.message;
  const coded = asCofferError(error);
  if (coded) return `${coded.code}: ${coded.message}`;
  if (process.env.LOG_LEVEL === 'debug' && error instanceof Error) process.stderr.write(`${error.stack ?? error.message}\n`);
  return 'The command failed with an unexpected error (run it again with LOG_LEVEL=debug to see it).';
}
