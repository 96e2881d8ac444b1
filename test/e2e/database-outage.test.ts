import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectOwnedBy } from '../../src/features/projects/projects.factory.js';
import { canary, openEmbedded, put } from '../crypto/support.js';
import { errorCodes, type Answer } from '../support/assertions.js';
import { clusterToolsMissing, startCluster } from '../support/pg-cluster.js';

/**
 * PostgreSQL stops for a few seconds while Coffer is under load. Every answer meanwhile is a coded,
 * retryable SERVICE_UNAVAILABLE (HTTP 503 with Retry-After): never a 500, never "Unexpected
 * error.", and never a FORBIDDEN to the owner of a project (a rule that cannot reach the database
 * did not decide anything). Readiness says so, and the first request after recovery succeeds.
 */

const ME = 'query { me { id } }';
const PROJECT = 'query Project($id: ID!) { project(id: $id) { id name } }';
const REVEAL =
  'query Reveal($name: String!, $projectId: ID!) { secret(name: $name, scope: { type: PROJECT, projectId: $projectId }) { value } }';

interface Outcome {
  phase: 'up' | 'down' | 'recovering';
  status: number;
  codes: unknown[];
  retryAfter: string | null;
  text: string;
}

describe.skipIf(clusterToolsMissing)('a database outage under load', () => {
  it(
    'answers SERVICE_UNAVAILABLE (503, Retry-After) while PostgreSQL is down, never a 500 or a denial; the first request after it is back succeeds',
    { timeout: 180_000 },
    async () => {
      const cluster = await startCluster();
      const dataDir = await mkdtemp(join(tmpdir(), 'coffer-outage-'));
      const coffer = await openEmbedded({ DATA_DIR: dataDir, DATABASE_URL: cluster.url });
      try {
        const owner = await coffer.admin();
        const project = await projectOwnedBy({ db: coffer.services.db, ownerId: owner.user.id });
        const secret = { name: 'OUTAGE_SECRET', value: canary('outage') };
        await put(coffer.send, owner.key, secret.name, secret.value, { scope: { type: 'PROJECT', projectId: project.id } });

        const calls = [
          { query: ME },
          { query: PROJECT, variables: { id: project.id } },
          { query: REVEAL, variables: { name: secret.name, projectId: project.id } },
        ];
        let phase: Outcome['phase'] = 'up';
        let running = true;
        const outcomes: Outcome[] = [];
        const worker = async (offset: number) => {
          for (let index = offset; running; index++) {
            const body = calls[index % calls.length]!;
            const response = await fetchAnswer(coffer, body, owner.key);
            outcomes.push({ phase, ...response });
          }
        };
        const workers = [0, 1, 2, 3].map(worker);
        await new Promise((resolve) => setTimeout(resolve, 1_000));

        await cluster.stop();
        phase = 'down';
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        const readiness = await coffer.ready();
        expect(readiness).toEqual({ status: 503, body: { ready: false, reason: 'DATABASE_UNAVAILABLE' } });
        await new Promise((resolve) => setTimeout(resolve, 2_500));

        phase = 'recovering';
        await cluster.start();
        running = false;
        await Promise.all(workers);

        // The very first request once the server is back.
        const first = await fetchAnswer(coffer, { query: REVEAL, variables: { name: secret.name, projectId: project.id } }, owner.key);
        expect(first.codes, first.text).toEqual([]);
        expect(JSON.parse(first.text).data.secret.value).toBe(secret.value);
        expect((await coffer.ready()).status).toBe(200);

        const down = outcomes.filter((outcome) => outcome.phase === 'down');
        expect(down.length).toBeGreaterThan(10);
        const unexpected = coffer.logs.filter((line) => line.includes('"level":50')).slice(0, 3);
        for (const outcome of outcomes) {
          expect(outcome.status, outcome.text).not.toBe(500);
          expect(outcome.text, unexpected.join('\n').slice(0, 3000)).not.toContain('Unexpected error');
          expect(outcome.text).not.toContain('Unexpected error');
          expect(outcome.codes, outcome.text).not.toContain('FORBIDDEN');
          expect(
            outcome.codes.every((code) => code === 'SERVICE_UNAVAILABLE'),
            outcome.text,
          ).toBe(true);
          if (outcome.codes.length > 0) {
            expect(outcome.status).toBe(503);
            expect(outcome.retryAfter).toBe('5');
            expect(outcome.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres|terminat/i);
          }
        }
        expect(down.filter((outcome) => outcome.codes.includes('SERVICE_UNAVAILABLE')).length).toBeGreaterThan(5);
      } finally {
        await coffer.close();
        await cluster.destroy();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  );
});

async function fetchAnswer(coffer: Awaited<ReturnType<typeof openEmbedded>>, body: object, key: string): Promise<Omit<Outcome, 'phase'>> {
  const response = await coffer.raw({
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let codes: unknown[] = [];
  try {
    codes = errorCodes({ json: JSON.parse(text) as Answer['json'] });
  } catch {
    codes = ['NOT_JSON'];
  }
  return { status: response.status, codes, retryAfter: response.headers.get('retry-after'), text };
}
