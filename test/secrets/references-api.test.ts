import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCofferError } from '../../src/errors.js';
import { MAX_REFERENCE_DEPTH } from '../../src/features/secrets/references.js';
import { expandRevealed } from '../../src/features/secrets/references.service.js';
import { graphql } from '../../src/generated/graphql/index.js';
import { createTestApp, type CallOptions, type TestApp } from '../support/app.js';
import { expectError, expectOk } from '../support/assertions.js';
import { auditOf, putSecret, uniqueName, VaultDelete, VaultRollback, VaultUpsert, VaultVersions, type Scope } from './support.js';

/**
 * References through the API: `${NAME}` and `${environment.NAME}` are expanded when a value is
 * read, with the reader's permissions on every secret reached, and every one audited; the stored
 * text stays what was written.
 */

/** How chains name a project secret: with its environment (omitted scopes mean production). */
const prod = (name: string) => `production.${name}`;

const RevealExpanded = graphql(`
  query RefReveal($name: String!, $scope: SecretScopeInput, $version: Int) {
    secret(name: $name, scope: $scope, version: $version) { name version value }
  }
`);

const RevealBoth = graphql(`
  query RefRevealBoth($name: String!, $scope: SecretScopeInput) {
    secret(name: $name, scope: $scope) { expanded: value stored: value(raw: true) }
  }
`);

describe('secret references', () => {
  let app: TestApp;
  let project: Scope;
  let owner: CallOptions;

  beforeAll(async () => {
    app = await createTestApp();
    project = { type: 'PROJECT', projectId: app.project.id };
    owner = { credential: app.owner.key };
  });
  afterAll(() => app.close());

  const put = (name: string, value: string, scope: Scope = project, options: CallOptions = owner) =>
    putSecret(app, { name, value, scope }, options);
  const reveal = (name: string, scope: Scope = project, options: CallOptions = owner) =>
    app.execute(RevealExpanded, { name, scope }, options);
  const valueOf = async (name: string, scope: Scope = project, options: CallOptions = owner) =>
    expectOk(await reveal(name, scope, options)).secret.value;

  it('expands nested references when read, and keeps the stored text as written', async () => {
    const [user, password, host, url] = ['USER', 'PASSWORD', 'HOST', 'URL'].map(uniqueName);
    await put(user!, 'app');
    await put(password!, 's3cr3t');
    await put(host!, 'db.internal');
    await put(url!, `postgres://\${${user}}:\${${password}}@\${${host}}/main`);
    expect(await valueOf(url!)).toBe('postgres://app:s3cr3t@db.internal/main');

    const both = expectOk(await app.execute(RevealBoth, { name: url!, scope: project }, owner)).secret;
    expect(both).toEqual({
      expanded: 'postgres://app:s3cr3t@db.internal/main',
      stored: `postgres://\${${user}}:\${${password}}@\${${host}}/main`,
    });

    // A value read through a reference is always the referenced secret's current one.
    await put(password!, 'rotated');
    expect(await valueOf(url!)).toBe('postgres://app:rotated@db.internal/main');
  });

  it('`${environment.NAME}` reads another environment of the project, and its own references stay there', async () => {
    const staging: Scope = { ...project, environment: 'staging' };
    const development: Scope = { ...project, environment: 'development' };
    const [url, host, port] = ['CROSS_URL', 'CROSS_HOST', 'CROSS_PORT'].map(uniqueName) as [string, string, string];
    await put(port, '5432', staging);
    await put(port, '9999');
    await put(host, `db.staging:\${${port}}`, staging);
    await put(url, `postgres://\${staging.${host}}/x`, development);
    expect(await valueOf(url, development)).toBe('postgres://db.staging:5432/x');

    const [referenced] = (await auditOf(app, host)).filter((event) => event.action === 'secret.reveal');
    expect(referenced).toMatchObject({ environment: 'staging', reason: `version 1, through a reference from development.${url}` });

    await put(url, `\${qa.${host}}`, development);
    expect(expectError(await reveal(url, development), 'UNRESOLVED_REFERENCE').extensions).toMatchObject({
      reason: 'UNKNOWN_ENVIRONMENT',
      chain: [`development.${url}`, `qa.${host}`],
    });
  });

  // Users may read every environment of a project they may read at all, so only machine identities
  // can be allowed on a referencing secret and not on its target. Until they exist, this drives the
  // expansion below the API with a reader the project refuses: the check, its refusal and its audit record.
  it('checks the reader’s permission on every other environment a reference reaches, and audits the refusal', async () => {
    const staging: Scope = { ...project, environment: 'staging' };
    const [holder, target] = [uniqueName('PERM_HOLDER'), uniqueName('PERM_TARGET')];
    await put(target, 'staging only', staging);
    await put(holder, `<\${staging.${target}}>`);
    const row = await app.db.prisma.secret.findFirstOrThrow({ where: { name: holder } });
    const secret = { ...row, environment: 'production' };
    const text = `<\${staging.${target}}>`;
    const readerOf = (person: TestApp['stranger']) => ({
      db: app.db,
      keyring: app.services.keyring,
      now: app.clock.now(),
      actor: {
        viewer: {
          kind: 'user' as const,
          userId: person.user.id,
          role: person.user.role,
          user: person.user,
          credential: { kind: 'token' as const },
        },
        requestId: null,
        clientAddress: null,
      },
    });

    const refused = await expandRevealed(readerOf(app.stranger), [{ secret, text }]).catch((error: unknown) => error);
    expect(isCofferError(refused) && { code: refused.code, ...refused.details }).toEqual({
      code: 'FORBIDDEN',
      reason: 'REFERENCE_NOT_ALLOWED',
      chain: [`production.${holder}`, `staging.${target}`],
    });
    expect(await auditOf(app, target)).toMatchObject([
      { action: 'secret.reveal', outcome: 'DENIED', actorId: app.stranger.user.id, environment: 'staging' },
      { action: 'secret.create' },
    ]);
    expect(await expandRevealed(readerOf(app.owner), [{ secret, text }])).toEqual(['<staging only>']);
  });

  it('`$${` is a literal `${`, also in values with no reference at all', async () => {
    const [name, target] = [uniqueName('ESCAPED'), uniqueName('TARGET')];
    await put(target, 'T');
    await put(name, `$\${HOME} and \${${target}} and $$5`);
    expect(await valueOf(name)).toBe('${HOME} and T and $$5');
    const stored = expectOk(await app.execute(RevealBoth, { name, scope: project }, owner)).secret.stored;
    expect(stored).toBe(`$\${HOME} and \${${target}} and $$5`);
  });

  it('refuses to store a `${` that forms no reference, or an environment outside project secrets', async () => {
    const attempts: Array<[Scope, string]> = [
      [project, 'pa${ss'],
      [project, '${lower_case}'],
      [{ type: 'USER' }, '${staging.NAME}'],
      [{ type: 'ACCOUNT' }, '${production.NAME}'],
    ];
    for (const [scope, value] of attempts) {
      const options = scope.type === 'ACCOUNT' ? { credential: app.admin.key } : owner;
      const answer = await app.execute(VaultUpsert, { input: { name: uniqueName('BAD_REF'), value, scope } }, options);
      const error = expectError(answer, 'BAD_USER_INPUT');
      expect(error.extensions?.fields).toEqual([{ field: 'input.value', message: expect.any(String) }]);
      expect(JSON.stringify(error)).not.toContain(value);
    }
  });

  it('refuses a missing target with UNRESOLVED_REFERENCE naming the chain, and audits the failure', async () => {
    const [name, middle, missing] = ['OUTER', 'MIDDLE', 'MISSING'].map(uniqueName) as [string, string, string];
    await put(middle, `x\${${missing}}`);
    await put(name, `\${${middle}}`);
    const error = expectError(await reveal(name), 'UNRESOLVED_REFERENCE');
    expect(error.extensions).toMatchObject({ reason: 'MISSING', chain: [name, middle, missing].map(prod) });
    expect(error.message).toContain(`production.${middle} references production.${missing}, which does not exist`);
    const [failed] = await auditOf(app, name);
    expect(failed).toMatchObject({ action: 'secret.reveal', outcome: 'FAILED', reason: error.message });
  });

  it('a deleted or expired target is missing; an inactive one is not served, though its owner still reads it directly', async () => {
    const [name, off, gone] = ['USES_OFF', 'OFF', 'GONE'].map(uniqueName) as [string, string, string];
    await put(off, 'disabled value');
    await put(gone, 'deleted value');
    expectOk(await app.execute(VaultUpsert, { input: { name: off, value: 'disabled value', scope: project, isActive: false } }, owner));
    expectOk(await app.execute(VaultDelete, { name: gone, scope: project }, owner));
    await put(name, `\${${off}}`);
    expect(expectError(await reveal(name), 'UNRESOLVED_REFERENCE').extensions).toMatchObject({
      reason: 'INACTIVE',
      chain: [name, off].map(prod),
    });
    expect(await valueOf(off)).toBe('disabled value');

    await put(name, `\${${gone}}`);
    expect(expectError(await reveal(name), 'UNRESOLVED_REFERENCE').extensions).toMatchObject({
      reason: 'MISSING',
      chain: [name, gone].map(prod),
    });

    const expiring = uniqueName('EXPIRING');
    const expiresAt = new Date(app.clock.current.getTime() + 60_000).toISOString();
    expectOk(await app.execute(VaultUpsert, { input: { name: expiring, value: 'short-lived', scope: project, expiresAt } }, owner));
    await put(name, `\${${expiring}}`);
    expect(await valueOf(name)).toBe('short-lived');
    app.clock.advance(120_000);
    expect(expectError(await reveal(name), 'UNRESOLVED_REFERENCE').extensions).toMatchObject({
      reason: 'MISSING',
      chain: [name, expiring].map(prod),
    });
  });

  it('refuses a cycle, naming it', async () => {
    const [a, b, c] = ['CYCLE_A', 'CYCLE_B', 'CYCLE_C'].map(uniqueName) as [string, string, string];
    await put(a, `\${${b}}`);
    await put(b, `1\${${c}}`);
    await put(c, `2\${${a}}`);
    const error = expectError(await reveal(a), 'UNRESOLVED_REFERENCE');
    expect(error.extensions).toMatchObject({ reason: 'CYCLE', chain: [a, b, c, a].map(prod) });
    const self = uniqueName('SELF');
    await put(self, `me: \${${self}}`);
    expect(expectError(await reveal(self), 'UNRESOLVED_REFERENCE').extensions).toMatchObject({
      reason: 'CYCLE',
      chain: [self, self].map(prod),
    });
  });

  it(`follows references ${MAX_REFERENCE_DEPTH} deep and refuses one more`, async () => {
    const prefix = uniqueName('DEPTH');
    const name = (i: number) => `${prefix}_${i}`;
    const hops = MAX_REFERENCE_DEPTH + 1;
    await put(name(hops), 'bottom');
    for (let i = hops - 1; i >= 0; i--) await put(name(i), `\${${name(i + 1)}}`);
    expect(await valueOf(name(1))).toBe('bottom');
    const error = expectError(await reveal(name(0)), 'UNRESOLVED_REFERENCE');
    expect(error.extensions).toMatchObject({ reason: 'TOO_DEEP', chain: Array.from({ length: hops + 1 }, (_, i) => prod(name(i))) });
  });

  it('references stay within their scope: a user secret reads that user’s secrets, an account secret account ones', async () => {
    const name = uniqueName('SCOPED');
    await put(name, 'project value');
    await put(name, 'user value', { type: 'USER' });
    await put(name, 'account value', { type: 'ACCOUNT' }, { credential: app.admin.key });
    const holder = uniqueName('HOLDER');
    await put(holder, `<\${${name}}>`, { type: 'USER' });
    await put(holder, `<\${${name}}>`, { type: 'ACCOUNT' }, { credential: app.admin.key });
    await put(holder, `<\${${name}}>`);
    expect(await valueOf(holder, { type: 'USER' })).toBe('<user value>');
    expect(await valueOf(holder, { type: 'ACCOUNT' }, { credential: app.admin.key })).toBe('<account value>');
    expect(await valueOf(holder)).toBe('<project value>');
  });

  it('records every referenced secret as revealed, once per request, naming the reference it came through', async () => {
    const [name, first, second] = ['AUDITED', 'FIRST', 'SECOND'].map(uniqueName) as [string, string, string];
    await put(second, 'two');
    await put(first, `\${${second}}\${${second}}`);
    await put(name, `\${${first}}-\${${second}}`);
    expect(await valueOf(name)).toBe('twotwo-two');
    const revealsOf = async (target: string) => (await auditOf(app, target)).filter((event) => event.action === 'secret.reveal');
    expect(await revealsOf(name)).toMatchObject([{ outcome: 'SUCCESS', reason: 'version 1', actorId: app.owner.user.id }]);
    expect(await revealsOf(first)).toMatchObject([
      { outcome: 'SUCCESS', reason: `version 1, through a reference from production.${name}` },
    ]);
    expect(await revealsOf(second)).toHaveLength(1);
    expect((await revealsOf(second))[0]!.reason).toMatch(/^version 1, through a reference from /);

    // Reading the stored text reveals only the secret read.
    const rawOnly = await app.request(
      {
        query: 'query($name: String!, $scope: SecretScopeInput) { secret(name: $name, scope: $scope) { value(raw: true) } }',
        variables: { name, scope: project },
      },
      owner,
    );
    expect(rawOnly.json.data).toEqual({ secret: { value: `\${${first}}-\${${second}}` } });
    expect(await revealsOf(name)).toHaveLength(2);
    expect(await revealsOf(first)).toHaveLength(1);
    expect(await revealsOf(second)).toHaveLength(1);

    const referenced = await app.db.prisma.secret.findFirstOrThrow({ where: { name: second } });
    expect(referenced.lastUsedAt).not.toBeNull();
  });

  it('versions and rollback work on the stored text', async () => {
    const [name, a, b] = ['VERSIONED', 'VA', 'VB'].map(uniqueName) as [string, string, string];
    await put(a, 'alpha');
    await put(b, 'beta');
    await put(name, `\${${a}}`);
    await put(name, `\${${b}}`);
    expect(expectOk(await app.execute(VaultVersions, { name, scope: project }, owner)).secretVersions).toHaveLength(2);
    expect(expectOk(await app.execute(RevealExpanded, { name, scope: project, version: 1 }, owner)).secret).toEqual({
      name,
      version: 1,
      value: 'alpha',
    });
    expectOk(await app.execute(VaultRollback, { name, scope: project, version: 1 }, owner));
    const both = expectOk(await app.execute(RevealBoth, { name, scope: project }, owner)).secret;
    expect(both).toEqual({ expanded: 'alpha', stored: `\${${a}}` });
  });

  it('never puts a referenced value into an error, a log line or an audit record', async () => {
    const canary = `canary-${randomUUID()}`;
    const [holder, source, broken] = ['LEAK_HOLDER', 'LEAK_SOURCE', 'LEAK_BROKEN'].map(uniqueName) as [string, string, string];
    await put(source, canary);
    await put(holder, `\${${source}}`);
    await put(broken, `${canary}\${${source}}\${${uniqueName('NOWHERE')}}`);
    expect(await valueOf(holder)).toBe(canary);
    const failed = await reveal(broken);
    expectError(failed, 'UNRESOLVED_REFERENCE');
    expect(failed.text).not.toContain(canary);
    await put(source, `\${${holder}}`);
    const cycle = await reveal(holder);
    expectError(cycle, 'UNRESOLVED_REFERENCE');
    expect(cycle.text).not.toContain(canary);
    expect(app.logs.join('\n')).not.toContain(canary);
    const audit = await app.db.prisma.auditEvent.findMany();
    expect(JSON.stringify(audit)).not.toContain(canary);
  });
});
