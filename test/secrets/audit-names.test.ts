import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { expectError } from '../support/assertions.js';
import { findTrace } from '../support/leaks.js';

/**
 * Every denial is audited, whatever was typed as the secret's name; and what was typed is stored
 * only when it is a valid name. A value pasted into the name field, or 900 KB of it, leaves a
 * record that says so, without the text itself.
 */

const REVEAL = 'query($name: String!) { secret(name: $name) { value } }';

describe('audit records of denied secret operations', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const deniedRecords = () =>
    app.db.prisma.auditEvent.findMany({ where: { outcome: 'DENIED', actorId: app.owner.user.id }, orderBy: { at: 'asc' } });

  it('a valid name is recorded as sent (the control case)', async () => {
    expectError(await app.request({ query: REVEAL, variables: { name: 'DB_URL' } }, { credential: app.owner.key }), 'FORBIDDEN');
    expect((await deniedRecords()).at(-1)).toMatchObject({ targetName: 'DB_URL', action: 'secret.secret' });
  });

  it('a value pasted as the name: the denial is audited, the text is not', async () => {
    const pasted = 'sk_live_51Hpasted-value-not-a-name-Zq9';
    const before = (await deniedRecords()).length;
    expectError(await app.request({ query: REVEAL, variables: { name: pasted } }, { credential: app.owner.key }), 'FORBIDDEN');
    const records = await deniedRecords();
    expect(records).toHaveLength(before + 1);
    expect(records.at(-1)).toMatchObject({ targetName: null });
    expect(records.at(-1)?.reason).toMatch(/not a valid secret name \(\d+ characters, not recorded\)/);
    expect(findTrace(JSON.stringify(records), pasted)).toBeNull();
  });

  it('a 900 KB name: still one audited denial, nothing of the text stored', async () => {
    const huge = `HUGE${'A'.repeat(900 * 1024)}`;
    const before = (await deniedRecords()).length;
    const response = await app.request({ query: REVEAL, variables: { name: huge } }, { credential: app.owner.key });
    expect(response.status).toBeLessThan(500);
    expectError(response, 'FORBIDDEN');
    const records = await deniedRecords();
    expect(records).toHaveLength(before + 1);
    expect(records.at(-1)).toMatchObject({ targetName: null });
    expect(JSON.stringify(records).length).toBeLessThan(100_000);
  });
});
