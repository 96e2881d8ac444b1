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

  const query = (fields: string) => `query ($name: String!, $userId: ID) { ${fields} }`;
  const inScope = 'name: $name, scope: { type: USER, userId: $userId }';
  const ownScope = 'name: $name, scope: { type: USER }';

  it('aliases with the same arguments, and other fields beside them, each read the secret', async () => {
    const name = uniqueName('ALIASED');
    await putSecret(app, { name, value: 'first', scope: { type: 'USER' } }, { credential: app.owner.key });
    const fields = `a: secret(${inScope}) { value } b: secret(${inScope}) { value } c: secretVersions(${inScope}) { version }`;
    const variables = { name, userId: app.owner.user.id };
    const response = await app.request({ query: query(fields), variables }, { credential: app.owner.key });
    expect(response.json.errors).toBeUndefined();
    expect(response.json.data).toEqual({ a: { value: 'first' }, b: { value: 'first' }, c: [{ version: 1 }] });
  });

  it('a field denied beside allowed ones with the same name: only it is refused', async () => {
    const name = uniqueName('NEIGHBOURS');
    await putSecret(app, { name, value: 'mine', scope: { type: 'USER' } }, { credential: app.stranger.key });
    const fields = `mine: secret(${ownScope}) { value } theirs: secret(${inScope}) { value } again: secret(${ownScope}) { id }`;
    const variables = { name, userId: app.owner.user.id };
    const response = await app.request({ query: query(fields), variables }, { credential: app.stranger.key });
    // Root fields are non-null, so the refusal nulls `data`: the errors say which field was refused.
    const refusals = (response.json.errors ?? []).map((error) => `${String(error.path)}: ${String(error.extensions?.code)}`);
    expect(refusals).toEqual(['theirs: FORBIDDEN']);
  });
});
