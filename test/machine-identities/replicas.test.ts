import { afterAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../support/database.js';
import { cleanUpProcesses, graphqlAt, operatorChosenKey, startReplicas } from '../support/processes.js';

/**
 * A machine identity's keys are answered from memory like every key (AUTH_CACHE_SECONDS), so
 * disabling it or narrowing its grant through one replica must reach the other by notification:
 * both refuse within a second, long before their cached entries would have expired.
 */

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
const TIMEOUT_MS = 240_000;
const BOUND_MS = 1_000;

afterAll(cleanUpProcesses);

describe.skipIf(!TEST_DATABASE_URL)('two replicas on one PostgreSQL: a machine identity changed through one', () => {
  it(
    `is refused by both within ${BOUND_MS} ms when disabled, and FORBIDDEN when its permission is removed`,
    { timeout: TIMEOUT_MS },
    async () => {
      const scratch = await createScratchDatabase(TEST_DATABASE_URL!);
      try {
        const admin = operatorChosenKey();
        const { replicas, urls } = await startReplicas(scratch.url, admin, {
          AUTH_CACHE_SECONDS: '60',
          AUTH_FAILURES_PER_ADDRESS: '100000',
          AUTH_FAILURES_PER_KEY: '100000',
        });
        const asAdmin = (query: string) => graphqlAt(urls[0]!, query, { key: admin });

        const project = await asAdmin('mutation { createProject(input: { name: "replicas" }) { id } }');
        const projectId = (project.data!.createProject as { id: string }).id;
        const identity = await asAdmin(
          `mutation { createMachineIdentity(projectId: "${projectId}", input: { name: "app", environments: ["production"], permissions: [SECRETS_READ] }) { id } }`,
        );
        expect(identity.errors).toBeUndefined();
        const identityId = (identity.data!.createMachineIdentity as { id: string }).id;
        const keyed = await asAdmin(
          `mutation { createMachineIdentityApiKey(machineIdentityId: "${identityId}", input: { name: "load" }) { key } }`,
        );
        const { key } = keyed.data!.createMachineIdentityApiKey as { key: string };
        const list = `{ secrets(scope: { type: PROJECT, projectId: "${projectId}", environment: "production" }, first: 1) { totalCount } }`;

        /** Loads both replicas with the machine's key while `change` runs through replica 0; the answers after it. */
        async function answersAround(change: string) {
          const answers: Array<{ via: number; startedAt: number; code: string }> = [];
          let loading = true;
          const loop = async (via: number) => {
            while (loading) {
              const startedAt = Date.now();
              const answer = await graphqlAt(urls[via]!, list, { key });
              answers.push({ via, startedAt, code: String(answer.errors?.[0]?.extensions?.code ?? 'OK') });
            }
          };
          const loops = [loop(0), loop(1)];
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          for (const via of [0, 1]) expect(answers.filter((a) => a.via === via && a.code === 'OK').length).toBeGreaterThan(5);
          const changed = await asAdmin(change);
          expect(changed.errors).toBeUndefined();
          const changedAt = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          loading = false;
          await Promise.all(loops);
          return [0, 1].map((via) => ({
            late: new Set(answers.filter((a) => a.via === via && a.startedAt > changedAt + BOUND_MS).map((a) => a.code)),
            lastOk: Math.max(...answers.filter((a) => a.via === via && a.code === 'OK').map((a) => a.startedAt)) - changedAt,
          }));
        }

        for (const replica of await answersAround(
          `mutation { updateMachineIdentity(id: "${identityId}", input: { disabled: true }) { id } }`,
        )) {
          expect(replica.late).toEqual(new Set(['UNAUTHENTICATED']));
          expect(replica.lastOk).toBeLessThan(BOUND_MS);
        }
        await asAdmin(`mutation { updateMachineIdentity(id: "${identityId}", input: { disabled: false }) { id } }`);
        const narrowed = await answersAround(
          `mutation { updateMachineIdentity(id: "${identityId}", input: { permissions: [SECRETS_WRITE] }) { id } }`,
        );
        for (const replica of narrowed) {
          expect(replica.late).toEqual(new Set(['FORBIDDEN']));
          expect(replica.lastOk).toBeLessThan(BOUND_MS);
        }
        await Promise.all(replicas.map((replica) => replica.stop()));
      } finally {
        await scratch.drop();
      }
    },
  );
});
