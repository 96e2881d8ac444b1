import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { putSecret, uniqueName } from './support.js';

/**
 * The secrets rule resolves a field's scope and hands it to that field's resolver (see
 * resolvedScope). Several secret fields in one document, even with the same arguments, must each
 * get the scope their own rule let through.
 */
describe('secret scopes: from each field’s rule to its resolver', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp();
  });

  afterAll(async () => {
    await app?.close();
  });

  /** `$name` in the owner's USER scope, and in the caller's own. */
  const ownersScope = 'name: $name, scope: { type: USER, userId: $userId }';
  const ownScope = 'name: $name, scope: { type: USER }';

  /** Puts a secret named `name` in the caller's own USER scope, then runs `fields` as that caller. */
  async function askAfterWriting(credential: string, fields: string) {
    const name = uniqueName('HANDOVER');
    await putSecret(app, { name, value: 'own value', scope: { type: 'USER' } }, { credential });
    const query = `query ($name: String!, $userId: ID) { ${fields} }`;
    return app.request({ query, variables: { name, userId: app.owner.user.id } }, { credential });
  }

  it('aliases with the same arguments, and other fields beside them, each read the secret', async () => {
    const response = await askAfterWriting(
      app.owner.key,
      `a: secret(${ownScope}) { value } b: secret(${ownersScope}) { value } c: secret(${ownersScope}) { value }
       versions: secretVersions(${ownersScope}) { version }`,
    );
    expect(response.json.errors).toBeUndefined();
    const read = { value: 'own value' };
    expect(response.json.data).toEqual({ a: read, b: read, c: read, versions: [{ version: 1 }] });
  });

  it('a field denied beside allowed ones with the same name: only it is refused', async () => {
    const response = await askAfterWriting(
      app.stranger.key,
      `mine: secret(${ownScope}) { value } theirs: secret(${ownersScope}) { value } again: secret(${ownScope}) { id }`,
    );
    // Root fields are non-null, so the refusal nulls `data`: the errors say which field was refused.
    const refusals = (response.json.errors ?? []).map((error) => `${String(error.path)}: ${String(error.extensions?.code)}`);
    expect(refusals).toEqual(['theirs: NOT_FOUND']);
  });
});
