import { loadConfig } from '../config.js';
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
