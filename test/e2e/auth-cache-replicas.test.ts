import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../support/database.js';
import { TEST_REDIS_KEY_PREFIX, cleanUpProcesses, graphqlAt, operatorChosenKey, startReplicas } from '../support/processes.js';

/**
 * Verified credentials are answered from memory (AUTH_CACHE_SECONDS), so a revocation must reach
 * every replica by notification: with both replicas under load, a key revoked through one is
 * refused by both within a second, long before their cache entries would have expired.
 */

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
const TEST_REDIS_URL = process.env.TEST_REDIS_URL;
const TIMEOUT_MS = 240_000;
const REVOCATION_BOUND_MS = 1_000;

afterAll(cleanUpProcesses);
/** The revoked key's refusals are failures of 127.0.0.1 in this file's own namespace of Redis: tidy it. */
afterAll(async () => {
  if (!TEST_REDIS_URL) return;
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const keys = await redis.keys(`${TEST_REDIS_KEY_PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
});

const transports = [{ name: 'PostgreSQL LISTEN/NOTIFY', redis: false }, ...(TEST_REDIS_URL ? [{ name: 'Redis', redis: true }] : [])];

describe.skipIf(!TEST_DATABASE_URL)('two replicas on one PostgreSQL: a revoked key under load', () => {
  for (const transport of transports) {
    it(
      `is refused by every replica within ${REVOCATION_BOUND_MS} ms of its revocation (${transport.name})`,
      { timeout: TIMEOUT_MS },
      async () => {
        const scratch = await createScratchDatabase(TEST_DATABASE_URL!);
        try {
          const admin = operatorChosenKey();
          const { replicas, urls } = await startReplicas(scratch.url, admin, {
            // Only a notification can refuse the key this fast: cached entries live for a minute.
            AUTH_CACHE_SECONDS: '60',
            // The refusals of the load loops are failures too: keep the throttle out of this test.
            AUTH_FAILURES_PER_ADDRESS: '100000',
            AUTH_FAILURES_PER_KEY: '100000',
            ...(transport.redis ? { REDIS_URL: TEST_REDIS_URL! } : {}),
          });

          const created = await graphqlAt(urls[0]!, 'mutation { createApiKey(input: { name: "load" }) { key apiKey { id } } }', {
            key: admin,
          });
          expect(created.errors).toBeUndefined();
          const { key, apiKey } = created.data!.createApiKey as { key: string; apiKey: { id: string } };

          const answers: Array<{ via: number; startedAt: number; code: string }> = [];
          let loading = true;
          const loop = async (via: number) => {
            while (loading) {
              const startedAt = Date.now();
              const answer = await graphqlAt(urls[via]!, '{ me { id } }', { key });
              answers.push({ via, startedAt, code: String(answer.errors?.[0]?.extensions?.code ?? 'OK') });
            }
          };
          // Two concurrent clients per replica.
          const loops = [loop(0), loop(0), loop(1), loop(1)];
          await new Promise((resolve) => setTimeout(resolve, 1_500));
          for (const via of [0, 1]) expect(answers.filter((a) => a.via === via && a.code === 'OK').length).toBeGreaterThan(10);

          const revoked = await graphqlAt(urls[0]!, `mutation { revokeApiKey(id: "${apiKey.id}") { revokedAt } }`, { key: admin });
          expect(revoked.errors).toBeUndefined();
          const revokedAt = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 2_500));
          loading = false;
          await Promise.all(loops);

          for (const via of [0, 1]) {
            const late = answers.filter((a) => a.via === via && a.startedAt > revokedAt + REVOCATION_BOUND_MS);
            expect(late.length, `requests on replica ${via} after the bound`).toBeGreaterThan(10);
            expect(new Set(late.map((a) => a.code)), `replica ${via}`).toEqual(new Set(['UNAUTHENTICATED']));
            const lastOk = Math.max(...answers.filter((a) => a.via === via && a.code === 'OK').map((a) => a.startedAt));
            expect(lastOk - revokedAt, `replica ${via}: last success started after the revocation`).toBeLessThan(REVOCATION_BOUND_MS);
          }
          // The admin's own key, cached on both, still works: only the revoked key was dropped.
          for (const url of urls) expect((await graphqlAt(url, '{ me { id } }', { key: admin })).errors).toBeUndefined();
          await Promise.all(replicas.map((replica) => replica.stop()));
        } finally {
          await scratch.drop();
        }
      },
    );
  }
});

describe.skipIf(!TEST_DATABASE_URL)('two replicas on one PostgreSQL: a disabled user', () => {
  it(
    `is refused by the other replica within ${REVOCATION_BOUND_MS} ms, and let in again once enabled`,
    { timeout: TIMEOUT_MS },
    async () => {
      const scratch = await createScratchDatabase(TEST_DATABASE_URL!);
      try {
        const admin = operatorChosenKey();
        const { replicas, urls } = await startReplicas(scratch.url, admin, {
          AUTH_CACHE_SECONDS: '60',
        });
        const user = await graphqlAt(urls[0]!, 'mutation { createUser(input: { email: "leaver@example.com" }) { id } }', { key: admin });
        const userId = (user.data!.createUser as { id: string }).id;
        const created = await graphqlAt(urls[0]!, `mutation { createApiKey(input: { name: "ci", userId: "${userId}" }) { key } }`, {
          key: admin,
        });
        const { key } = created.data!.createApiKey as { key: string };
        const codeOn = async (url: string) =>
          String((await graphqlAt(url, '{ me { id } }', { key })).errors?.[0]?.extensions?.code ?? 'OK');
        /** The first answer within the bound that is `code`, or the last one seen. */
        const within = async (url: string, code: string) => {
          const deadline = Date.now() + REVOCATION_BOUND_MS;
          let seen = await codeOn(url);
          while (seen !== code && Date.now() < deadline) seen = await codeOn(url);
          return seen;
        };
        // Verified once on each replica: cached for a minute.
        for (const url of urls) expect(await codeOn(url)).toBe('OK');

        const disabled = await graphqlAt(urls[0]!, `mutation { disableUser(id: "${userId}") { disabledAt } }`, { key: admin });
        expect(disabled.errors).toBeUndefined();
        expect(await codeOn(urls[0]!)).toBe('UNAUTHENTICATED');
        expect(await within(urls[1]!, 'UNAUTHENTICATED')).toBe('UNAUTHENTICATED');

        const enabled = await graphqlAt(urls[1]!, `mutation { enableUser(id: "${userId}") { disabledAt } }`, { key: admin });
        expect(enabled.errors).toBeUndefined();
        for (const url of urls) expect(await within(url, 'OK')).toBe('OK');
        await Promise.all(replicas.map((replica) => replica.stop()));
      } finally {
        await scratch.drop();
      }
    },
  );
});
