import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/auth/index.js';
import { rotateMasterKey } from '../../src/features/master-keys/master-keys.service.js';
import { canary, put, REVEAL, reveal, uniqueName, UPSERT } from '../crypto/support.js';
import { findTrace } from '../support/leaks.js';
import { newRootKey, persistentDeployment, readyWithin } from './support.js';

/**
 * Coffer never answers "ready" while stored values are unreadable: a wrong root key, a term the
 * keyring lacks, or an altered keyring row keep readiness at 503 with a coded reason in the log,
 * reads answer SERVICE_UNAVAILABLE (never a value, never key material), and the right key, or the
 * row put back, makes it ready again.
 */

type Deployment = Awaited<ReturnType<typeof persistentDeployment>>;
type Opened = Awaited<ReturnType<Deployment['open']>>;

let deployment: Deployment;
beforeEach(async () => {
  deployment = await persistentDeployment();
});
afterEach(() => deployment.destroy());

/** Writes `count` secrets as a new admin and closes; returns the key and what was written. */
async function seed(env: Record<string, string>, count = 3) {
  const coffer = await deployment.open(env);
  try {
    const { key } = await coffer.admin();
    const written = Array.from({ length: count }, () => ({ name: uniqueName('INTEGRITY'), value: canary('integrity') }));
    for (const { name, value } of written) await put(coffer.send, key, name, value);
    return { key, written, coffer };
  } catch (error) {
    await coffer.close();
    throw error;
  }
}

/** Not ready with `code`, every read and write refused SERVICE_UNAVAILABLE, nothing secret anywhere. */
async function expectUnavailable(coffer: Opened, key: string, code: string, names: string[], ...secrets: Array<string | Buffer>) {
  const readiness = await coffer.ready();
  expect(readiness).toEqual({ status: 503, body: { ready: false, reason: code } });
  expect(coffer.logs.some((line) => line.includes(`"code":"${code}"`))).toBe(true);
  for (const name of names) {
    const read = await coffer.send({ query: REVEAL, variables: { name } }, { credential: key });
    expect(read.json.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: code });
    // Retryable, and said so at the HTTP level too: 503, never a 500.
    expect(read.status).toBe(503);
  }
  const write = await coffer.send(
    { query: UPSERT, variables: { input: { name: uniqueName('REFUSED'), value: canary('refused') } } },
    { credential: key },
  );
  expect(write.json.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  for (const secret of secrets) {
    for (const line of coffer.logs) expect(findTrace(line, secret), line).toBeNull();
  }
}

describe('start-up integrity of the keyring', () => {
  it(
    'a wrong root key: not ready (ROOT_KEY_MISMATCH), no value or key anywhere; the right key again: ready and every value reads',
    { timeout: 120_000 },
    async () => {
      const rightKey = newRootKey();
      const { key, written, coffer: first } = await seed({ COFFER_ROOT_KEY: rightKey });
      await first.close();

      const wrongKey = newRootKey();
      const wrong = await deployment.open({ COFFER_ROOT_KEY: wrongKey });
      try {
        await expectUnavailable(
          wrong,
          key,
          'ROOT_KEY_MISMATCH',
          written.map((entry) => entry.name),
          ...written.map((entry) => entry.value),
          Buffer.from(rightKey, 'base64'),
          Buffer.from(wrongKey, 'base64'),
        );
      } finally {
        await wrong.close();
      }

      const right = await deployment.open({ COFFER_ROOT_KEY: rightKey });
      try {
        expect((await right.ready()).status).toBe(200);
        for (const { name, value } of written) expect(await reveal(right.send, key, name)).toBe(value);
      } finally {
        await right.close();
      }
    },
  );

  it(
    'a term the keyring lacks: not ready (KEYRING_TERM_MISSING) naming the term; values under other terms still read; the row put back: ready',
    { timeout: 120_000 },
    async () => {
      const { key, written, coffer } = await seed({}, 3);
      try {
        const [oldTerm] = (await coffer.services.db.prisma.keyringTerm.findMany()).map((row) => row.id);
        // Half a rotation: one data key moves to the new term, two stay under the old one.
        const { db, keyring } = coffer.services;
        expect(
          await rotateMasterKey({ db, keyring, actor: SYSTEM_ACTOR, generateNewKey: true, batchSize: 1, maxBatches: 1 }),
        ).toMatchObject({
          rewrapped: 1,
          remaining: 2,
        });
        const saved = await coffer.services.db.prisma.keyringTerm.findUniqueOrThrow({ where: { id: oldTerm! } });
        await coffer.services.db.prisma.keyringTerm.delete({ where: { id: oldTerm! } });
        await coffer.close();

        const reopened = await deployment.open();
        try {
          const readiness = await reopened.ready();
          expect(readiness).toEqual({ status: 503, body: { ready: false, reason: 'KEYRING_TERM_MISSING' } });
          expect(reopened.logs.some((line) => line.includes('"code":"KEYRING_TERM_MISSING"') && line.includes(oldTerm!))).toBe(true);
          const outcomes = await Promise.all(
            written.map(({ name }) => reopened.send({ query: REVEAL, variables: { name } }, { credential: key })),
          );
          const refused = outcomes.filter((outcome) => outcome.json.errors);
          expect(refused.map((outcome) => outcome.json.errors?.[0]?.extensions)).toEqual(
            Array.from({ length: 2 }, () => expect.objectContaining({ code: 'SERVICE_UNAVAILABLE', reason: 'KEYRING_TERM_MISSING' })),
          );
          for (const outcome of outcomes)
            for (const { value } of written) if (outcome.json.errors) expect(findTrace(outcome.text, value)).toBeNull();

          await reopened.services.db.prisma.keyringTerm.create({ data: saved });
          await readyWithin(reopened.ready, 200);
          for (const { name, value } of written) expect(await reveal(reopened.send, key, name)).toBe(value);
        } finally {
          await reopened.close();
        }
      } finally {
        await coffer.close().catch(() => undefined);
      }
    },
  );

  it(
    'an altered keyring row (a flipped byte, or another term’s seal moved in): not ready (KEYRING_TAMPERED); the row restored: ready',
    { timeout: 120_000 },
    async () => {
      const { key, written, coffer } = await seed({}, 2);
      const prisma = coffer.services.db.prisma;
      const [row] = await prisma.keyringTerm.findMany();
      const original = Buffer.from(row!.sealedKey);
      const flipped = Buffer.from(original);
      flipped[20] = (flipped[20] as number) ^ 0x80;
      await prisma.keyringTerm.update({ where: { id: row!.id }, data: { sealedKey: new Uint8Array(flipped) } });
      await coffer.close();

      let reopened = await deployment.open();
      try {
        await expectUnavailable(
          reopened,
          key,
          'KEYRING_TAMPERED',
          written.map((entry) => entry.name),
          ...written.map((entry) => entry.value),
        );
        // A term's seal copied into another term's row fails too: the seal is bound to the row's id.
        const rotation = await reopened.send(
          { query: 'mutation { rotateMasterKey(generateNewKey: true) { activeKeyId } }' },
          { credential: key },
        );
        expect(rotation.json.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
        await reopened.services.db.prisma.keyringTerm.update({ where: { id: row!.id }, data: { sealedKey: new Uint8Array(original) } });
        await readyWithin(reopened.ready, 200);
        for (const { name, value } of written) expect(await reveal(reopened.send, key, name)).toBe(value);

        const rotated = await reopened.send(
          { query: 'mutation { rotateMasterKey(generateNewKey: true) { activeKeyId } }' },
          { credential: key },
        );
        const activeKeyId = (rotated.json.data as { rotateMasterKey: { activeKeyId: string } }).rotateMasterKey.activeKeyId;
        const fresh = await reopened.services.db.prisma.keyringTerm.findUniqueOrThrow({ where: { id: activeKeyId } });
        await reopened.services.db.prisma.keyringTerm.update({
          where: { id: row!.id },
          data: { sealedKey: fresh.sealedKey, rootKeyId: fresh.rootKeyId },
        });
        await reopened.close();
        reopened = await deployment.open();
        expect(await reopened.ready()).toEqual({ status: 503, body: { ready: false, reason: 'KEYRING_TAMPERED' } });
      } finally {
        await reopened.close();
      }
    },
  );
});
