import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { projectOwnedBy } from '../../src/features/projects/projects.factory.js';
import { userWithApiKey } from '../../src/features/credentials/credentials.factory.js';
import { openServices } from '../../src/services.js';
import { createTestDatabase } from './database.js';
import { createCapturingLogger } from './logs.js';

/** A clock tests move by hand instead of sleeping. */
export class TestClock {
  constructor(public current = new Date('2026-11-23T10:00:00.000Z')) {}
  now = () => new Date(this.current);
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export interface CallOptions {
  /** Sent as `x-api-key` (an API key) unless `as` is 'bearer'. */
  credential?: string | null;
  as?: 'x-api-key' | 'bearer';
  headers?: Record<string, string>;
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/**
 * The real application over a fresh database, with the four people of the auth matrix:
 * an admin, a project owner, another developer, and anonymous.
 */
export async function createTestApp({ env = {} }: { env?: Record<string, string> } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-test-'));
  const { db, destroy } = await createTestDatabase();
  const config = loadConfig({
    DATA_DIR: dataDir,
    COFFER_TOKEN_SECRET: 'test-secret-that-is-long-enough-0123456789',
    LOG_LEVEL: 'debug',
    ...env,
  });
  const { logger, lines: logs } = createCapturingLogger();
  const services = await openServices(config, logger, { db });
  const clock = new TestClock();
  const yoga = createApp({ ...services, now: clock.now });

  const admin = await userWithApiKey({ db, keys: services.auth.keys, role: 'ADMIN' });
  const owner = await userWithApiKey({ db, keys: services.auth.keys });
  const stranger = await userWithApiKey({ db, keys: services.auth.keys });
  const project = await projectOwnedBy({ db, ownerId: owner.user.id });

  async function request(body: string | object, options: CallOptions & { method?: string; contentType?: string } = {}) {
    const headers: Record<string, string> = {
      'content-type': options.contentType ?? 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...options.headers,
    };
    if (options.credential) {
      if (options.as === 'bearer') headers.authorization = `Bearer ${options.credential}`;
      else headers['x-api-key'] = options.credential;
    }
    const response = await yoga.fetch('http://coffer.test/graphql', {
      method: options.method ?? 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: ExecutionResult<Record<string, unknown>> & {
      errors?: Array<{ message: string; extensions?: Record<string, unknown>; path?: unknown }>;
    };
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`Non-JSON response ${response.status}: ${text.slice(0, 200)}`);
    }
    return { status: response.status, json, text, headers: response.headers };
  }

  /** Runs a typed document; the result's data is typed by codegen. */
  async function execute<Result, Variables>(
    document: TypedDocumentNode<Result, Variables>,
    variables: Variables,
    options: CallOptions = {},
  ) {
    const response = await request({ query: print(document), variables }, options);
    return { ...response, data: response.json.data as Result | null | undefined, errors: response.json.errors ?? [] };
  }

  return {
    yoga,
    services,
    config,
    db,
    clock,
    logs,
    admin,
    owner,
    stranger,
    project,
    request,
    execute,
    async close() {
      await yoga.dispose();
      await services.close();
      await destroy();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export { errorCodes } from './assertions.js';
