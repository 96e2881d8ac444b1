import { CofferClientError } from '../client/index.js';
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

/** Exit codes: 0 success, 1 the command failed, 2 bad usage or could not start (no server, no credential). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Codes meaning the command never got going: nothing to retry with other arguments on the server side. */
const COULD_NOT_START = new Set(['NETWORK_ERROR', 'TIMEOUT', 'BAD_RESPONSE', 'UNAUTHENTICATED']);

export function exitCodeOf(error: unknown): number {
  if (error instanceof CommandFailure || error instanceof DataDirLockedError) return error.exitCode;
  if (error instanceof CofferClientError) return COULD_NOT_START.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
  if (error instanceof ConfigError) return EXIT_USAGE;
  return EXIT_FAILURE;
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
  if (error instanceof CofferClientError) {
    const fields = error.fields.map((field) => `${field.field}${field.message ? `: ${field.message}` : ''}`).join('; ');
    return oneLine(`${error.code}: ${error.reason}${fields ? ` (${fields})` : ''}`);
  }
  const coded = asCofferError(error);
  if (coded) return `${coded.code}: ${coded.message}`;
  if (process.env.LOG_LEVEL === 'debug' && error instanceof Error) process.stderr.write(`${error.stack ?? error.message}\n`);
  return 'The command failed with an unexpected error (run it again with LOG_LEVEL=debug to see it).';
}

/** Control characters (a newline in a server message) never split the one line. */
const oneLine = (text: string) => [...text].map((char) => (char < ' ' || char === '\u007f' ? ' ' : char)).join('');
