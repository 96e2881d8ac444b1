import { afterAll, describe, expect, it } from 'vitest';
import { canary, uniqueName } from '../crypto/support.js';
import { createScratchDatabase } from '../support/database.js';
import { cleanUpProcesses, graphqlAt, operatorChosenKey, startCoffer, startReplicas, tempDir } from '../support/processes.js';

/**
 * Key rotations with real server processes running, the way operators do them: through the API
 * of the running server (embedded), or on one replica while the others keep writing (PostgreSQL,
 * with Redis when it answers). No write fails, every value stays readable everywhere, and every
 * replica moves its new writes to the new term within a second.
 */

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
const TEST_REDIS_URL = process.env.TEST_REDIS_URL;
const TIMEOUT_MS = 240_000;
/** How soon after a rotation every replica writes under the new term (a notification away). */
const REFRESH_BOUND_MS = 1_000;

const UPSERT = 'mutation Put($input: UpsertSecretInput!) { upsertSecret(input: $input) { currentVersion } }';
const REVEAL = 'query Get($name: String!) { secret(name: $name) { value } }';
const VERSIONS = 'query Versions($name: String!) { secretVersions(name: $name) { version masterKeyId } }';
const ROTATE =
  'mutation Rotate($generate: Boolean) { rotateMasterKey(generateNewKey: $generate) { activeKeyId rewrapped remaining retiredKeyIds } }';
const TERMS = '{ masterKeys { id state } }';

afterAll(cleanUpProcesses);

async function ok(url: string, query: string, key: string, variables?: Record<string, unknown>) {
  const answer = await graphqlAt(url, query, { key, ...(variables ? { variables } : {}) });
  expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
  return answer.data as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('embedded: rotations through the running server', () => {
  it(
    'rotate the master key and the root key through the API, restart: every value reads; purge, restart: every value reads',
    { timeout: TIMEOUT_MS },
    async () => {
      const key = operatorChosenKey();
      const env = { DATA_DIR: await tempDir(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', COFFER_ADMIN_API_KEY: key };
      const written: Array<{ name: string; value: string }> = [];
      const write = async (url: string, count: number) => {
        for (let i = 0; i < count; i++) {
          const entry = { name: uniqueName('EMBEDDED'), value: canary('embedded') };
          await ok(url, UPSERT, key, { input: entry });
          written.push(entry);
        }
      };
      const expectAllRead = async (url: string) => {
        for (const { name, value } of written) expect((await ok(url, REVEAL, key, { name })).secret.value).toBe(value);
      };

      let server = startCoffer(env);
      let url = await server.ready(30_000);
      await write(url, 5);
      const firstTerm = (await ok(url, TERMS, key)).masterKeys[0].id as string;
      const rotated = (await ok(url, ROTATE, key, { generate: true })).rotateMasterKey;
      expect(rotated).toMatchObject({ remaining: 0, retiredKeyIds: [firstTerm] });
      const root = (await ok(url, 'mutation { rotateRootKey(generate: true) { rootKeyId resealedTerms previousRootKeyIds } }', key))
        .rotateRootKey;
      expect(root.resealedTerms).toBe(2);
      expect(root.previousRootKeyIds).toHaveLength(1);
      await write(url, 3);
      expect(await server.stop()).toEqual({ code: 0, signal: null });

      server = startCoffer(env);
      url = await server.ready(30_000);
      await expectAllRead(url);
      expect((await ok(url, TERMS, key)).masterKeys).toEqual([
        { id: firstTerm, state: 'RETIRED' },
        { id: rotated.activeKeyId, state: 'ACTIVE' },
      ]);
      expect((await ok(url, 'mutation { purgeRetiredMasterKeys { purgedKeyIds } }', key)).purgeRetiredMasterKeys.purgedKeyIds).toEqual([
        firstTerm,
      ]);
      expect(await server.stop()).toEqual({ code: 0, signal: null });

      server = startCoffer(env);
      url = await server.ready(30_000);
      await expectAllRead(url);
      expect(await server.stop()).toEqual({ code: 0, signal: null });
    },
  );
});

const transports = [{ name: 'PostgreSQL LISTEN/NOTIFY', redis: false }, ...(TEST_REDIS_URL ? [{ name: 'Redis', redis: true }] : [])];

describe.skipIf(!TEST_DATABASE_URL)('two replicas on one PostgreSQL: rotate on one while both write', () => {
  for (const transport of transports) {
    it(
      `no write fails, every value reads on both, new writes on both use the new term within ${REFRESH_BOUND_MS} ms (${transport.name})`,
      { timeout: TIMEOUT_MS },
      async () => {
        const scratch = await createScratchDatabase(TEST_DATABASE_URL!);
        try {
          const key = operatorChosenKey();
          const { replicas, urls } = await startReplicas(scratch.url, key, {
            // Only notifications can move the replicas this fast: the periodic refresh is an hour away.
            KEYRING_REFRESH_SECONDS: '3600',
            ...(transport.redis ? { REDIS_URL: TEST_REDIS_URL! } : {}),
          });

          const writes: Array<{ name: string; value: string; via: number; startedAt: number }> = [];
          const failures: unknown[] = [];
          let writing = true;
          const writer = async (via: number) => {
            while (writing) {
              const entry = { name: uniqueName(`REPLICA${via}`), value: canary(`replica-${via}`), via, startedAt: Date.now() };
              const answer = await graphqlAt(urls[via]!, UPSERT, { key, variables: { input: { name: entry.name, value: entry.value } } });
              if (answer.errors) failures.push(answer.errors);
              else writes.push(entry);
            }
          };
          const writers = [writer(0), writer(1)];
          await new Promise((resolve) => setTimeout(resolve, 1_500));
          const oldTerm = (await ok(urls[0]!, TERMS, key)).masterKeys[0].id as string;
          const rotation = (await ok(urls[1]!, ROTATE, key, { generate: true })).rotateMasterKey;
          const rotatedAt = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 2_500));
          writing = false;
          await Promise.all(writers);

          expect(failures).toEqual([]);
          for (const via of [0, 1])
            expect(writes.filter((entry) => entry.via === via && entry.startedAt > rotatedAt + REFRESH_BOUND_MS).length).toBeGreaterThan(3);
          for (const entry of writes) {
            for (const url of urls) expect((await ok(url, REVEAL, key, { name: entry.name })).secret.value).toBe(entry.value);
            if (entry.startedAt > rotatedAt + REFRESH_BOUND_MS) {
              const [version] = (await ok(urls[0]!, VERSIONS, key, { name: entry.name })).secretVersions;
              expect(version.masterKeyId, `${entry.name} written through replica ${entry.via}`).toBe(rotation.activeKeyId);
            }
          }
          // Writes that raced the rotation under the old term are moved by the next run, which then retires it.
          const finish = (await ok(urls[0]!, ROTATE, key, { generate: false })).rotateMasterKey;
          expect(finish.remaining).toBe(0);
          expect((await ok(urls[1]!, TERMS, key)).masterKeys).toEqual(
            expect.arrayContaining([
              { id: oldTerm, state: 'RETIRED' },
              { id: rotation.activeKeyId, state: 'ACTIVE' },
            ]),
          );
          await Promise.all(replicas.map((replica) => replica.stop()));
        } finally {
          await scratch.drop();
        }
      },
    );
  }
});
