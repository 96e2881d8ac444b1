import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { userWithApiKey } from '../../src/features/credentials/credentials.factory.js';
import { openServices, type Services } from '../../src/services.js';
import { findTrace } from '../support/leaks.js';
import { createCapturingLogger } from '../support/logs.js';

/** Plain documents: these suites need only three operations, and only their raw responses. */
export const UPSERT = `mutation CryptoUpsert($input: UpsertSecretInput!) { upsertSecret(input: $input) { id currentVersion } }`;
export const REVEAL = `query CryptoReveal($name: String!, $version: Int) { secret(name: $name, version: $version) { value } }`;
export const ROTATE = `mutation CryptoRotate($generateNewKey: Boolean) { rotateMasterKey(generateNewKey: $generateNewKey) { activeKeyId rewrapped remaining retiredKeyIds } }`;

export const uniqueName = (prefix: string) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`;

/** A distinctive value: long and random enough that finding it anywhere is never a coincidence. */
export const canary = (label: string) => `${label}-canary-${randomUUID()}-Zq7!`;

export interface RawResponse {
  status: number;
  text: string;
  json: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

export type Send = (
  body: { query: string; variables?: Record<string, unknown> },
  options?: { credential?: string | null },
) => Promise<RawResponse>;

export async function put(send: Send, credential: string, name: string, value: string, extra: Record<string, unknown> = {}) {
  const response = await send({ query: UPSERT, variables: { input: { name, value, ...extra } } }, { credential });
  expect(response.json.errors, response.text).toBeUndefined();
  return (response.json.data as { upsertSecret: { id: string; currentVersion: number } }).upsertSecret;
}

export async function reveal(send: Send, credential: string, name: string, version?: number) {
  const response = await send({ query: REVEAL, variables: { name, version } }, { credential });
  expect(response.json.errors, response.text).toBeUndefined();
  return (response.json.data as { secret: { value: string } }).secret.value;
}

export const TOKEN_SECRET = 'crypto-suite-token-secret-long-enough-0123456789';

/**
 * The server as configuration alone opens it (no `db` option): PGlite in files under DATA_DIR,
 * or the PostgreSQL server of DATABASE_URL; the real app over it; admins made on demand.
 */
export async function openEmbedded(env: Record<string, string>) {
  const { logger, lines: logs } = createCapturingLogger();
  const services: Services = await openServices(loadConfig({ COFFER_TOKEN_SECRET: TOKEN_SECRET, ...env }), logger);
  const yoga = createApp(services);
  const send: Send = async (body, options = {}) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    };
    if (options.credential) headers['x-api-key'] = options.credential;
    const response = await yoga.fetch('http://coffer.test/graphql', { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, text, json: JSON.parse(text) as RawResponse['json'] };
  };
  return {
    services,
    logs,
    send,
    /** A request to /graphql as sent, answered as it comes (status and headers included). */
    raw: (init: RequestInit) => yoga.fetch('http://coffer.test/graphql', init),
    /** `/readyz`: its status and JSON body (null when it has none). */
    async ready() {
      const response = await yoga.fetch('http://coffer.test/readyz');
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
    },
    /** A new admin with a working API key (users live in the database, so one per opening is fine). */
    admin: () => userWithApiKey({ db: services.db, keys: services.auth.keys, role: 'ADMIN' }),
    async close() {
      await yoga.dispose();
      await services.close();
    },
  };
}

/**
 * Reading `name` fails, masked: an error and no data, not a server crash (status < 500), no
 * stack or error class, and nothing of the values in `absent` anywhere in the response.
 */
export async function expectMaskedRead(send: Send, credential: string, name: string, version: number | undefined, ...absent: string[]) {
  const response = await send({ query: REVEAL, variables: { name, version } }, { credential });
  expect(response.json.errors?.length, response.text).toBeGreaterThan(0);
  expect(response.status).toBeLessThan(500);
  expect((response.json.data as { secret?: unknown } | null | undefined)?.secret ?? null).toBeNull();
  for (const value of absent) expect(findTrace(response.text, value), response.text).toBeNull();
  expect(response.json.errors?.[0]?.message).toBe('Unexpected error.');
  expect(response.text).not.toMatch(/DecryptionError|UnknownKeyError|KeyringError|\bat .*\.(ts|js):\d+/);
  return response;
}
