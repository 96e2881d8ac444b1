import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/graphql/index.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';

const Me = graphql(`query JwksMe { me { id email role isExternal } }`);
const Users = graphql(`query JwksUsers { users(first: 1) { edges { node { id } } } }`);
const IssueToken = graphql(`mutation JwksIssueToken($input: IssueTokenInput!) { issueToken(input: $input) { token } }`);

const ISSUER = 'https://id.platform.test/';
const AUDIENCE = 'coffer';

/** The platform's identity provider: a local JWKS endpoint and a signing key of its own. */
describe('JWTs from an external identity provider (JWKS)', () => {
  let jwksServer: Server;
  let signingKey: CryptoKey;
  let jwksRequests = 0;
  let app: TestApp;

  const sign = (
    claims: Record<string, unknown>,
    { issuer = ISSUER, audience = AUDIENCE, kid = 'key-1', key = signingKey, expiresIn = '10m' } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(Math.floor(app.clock.current.getTime() / 1000))
      .setExpirationTime(expiresIn)
      .sign(key);

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    signingKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    jwksServer = createServer((_req, res) => {
      jwksRequests += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    app = await createTestApp({
      env: {
        JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
        JWT_ROLE_CLAIM: 'app_metadata.roles',
        JWT_ADMIN_ROLE: 'coffer-admin',
      },
    });
    // jose checks exp against the real clock in the JWKS fetch path only; keep the test clock near now.
    app.clock.current = new Date();
  });
  afterAll(async () => {
    await app.close();
    jwksServer.close();
  });

  it('provisions a developer on first sight, and finds them again after', async () => {
    const token = await sign({ sub: 'user-42', email: 'dev42@platform.test' });
    const first = await app.execute(Me, {}, { credential: token, as: 'bearer' });
    expect(first.errors).toEqual([]);
    expect(first.data?.me).toMatchObject({ email: 'dev42@platform.test', role: 'DEVELOPER', isExternal: true });
    const again = await app.execute(Me, {}, { credential: await sign({ sub: 'user-42' }), as: 'bearer' });
    expect(again.data?.me.id).toBe(first.data?.me.id);
  });

  it('takes the role from the configured (nested) claim', async () => {
    const token = await sign({ sub: 'ops-1', app_metadata: { roles: ['viewer', 'coffer-admin'] } });
    expect((await app.execute(Me, {}, { credential: token, as: 'bearer' })).data?.me.role).toBe('ADMIN');
    expect((await app.execute(Users, {}, { credential: token, as: 'bearer' })).errors).toEqual([]);
    // Losing the role in the provider takes effect with the next token.
    const demoted = await sign({ sub: 'ops-1', app_metadata: { roles: ['viewer'] } });
    expect(errorCodes(await app.execute(Users, {}, { credential: demoted, as: 'bearer' }))).toEqual(['FORBIDDEN']);
  });

  it('refuses tokens for another audience or issuer, expired ones, and unknown keys', async () => {
    const other = (await generateKeyPair('RS256')).privateKey;
    const cases: Array<[string, Promise<string>, string]> = [
      ['wrong audience', sign({ sub: 'x' }, { audience: 'someone-else' }), "The token's aud claim is not accepted."],
      ['wrong issuer', sign({ sub: 'x' }, { issuer: 'https://evil.test/' }), "The token's iss claim is not accepted."],
      ['expired', sign({ sub: 'x' }, { expiresIn: '-1m' }), 'The token has expired.'],
      ['unknown key id', sign({ sub: 'x' }, { kid: 'key-2', key: other }), 'The token was signed by an unknown key.'],
      ['right kid, wrong key', sign({ sub: 'x' }, { key: other }), 'The token is not valid.'],
    ];
    for (const [name, token, message] of cases) {
      const response = await app.execute(Me, {}, { credential: await token, as: 'bearer' });
      expect(errorCodes(response), name).toEqual(['UNAUTHENTICATED']);
      expect(response.errors[0]?.message, name).toBe(message);
    }
  });

  it('caches the key set instead of fetching it per request', async () => {
    const before = jwksRequests;
    const token = await sign({ sub: 'cache-test' });
    for (let i = 0; i < 5; i += 1) await app.execute(Me, {}, { credential: token, as: 'bearer' });
    expect(jwksRequests - before).toBeLessThanOrEqual(1);
  });

  it("still accepts Coffer's own tokens and API keys", async () => {
    const issued = await app.execute(IssueToken, { input: { userId: app.owner.user.id } }, { credential: app.admin.key });
    const own = await app.execute(Me, {}, { credential: issued.data!.issueToken!.token, as: 'bearer' });
    expect(own.data?.me.id).toBe(app.owner.user.id);
    expect((await app.execute(Me, {}, { credential: app.owner.key, as: 'bearer' })).data?.me.id).toBe(app.owner.user.id);
  });

  it('refuses, UNAUTHENTICATED and never a 500: a token without exp, one living longer than JWT_MAX_LIFETIME_SECONDS, a subject that is no string', async () => {
    const unsigned = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .sign(signingKey);
    const cases: Array<[string, string, RegExp]> = [
      ['no exp', await unsigned({ sub: 'no-expiry' }), /no expiry/],
      ['two days', await sign({ sub: 'long-lived' }, { expiresIn: '2d' }), /lives longer/],
      ['numeric sub', await sign({ sub: 12345 }), /subject|not valid/],
    ];
    for (const [label, token, message] of cases) {
      const response = await app.execute(Me, {}, { credential: token, as: 'bearer' });
      expect(response.status, label).toBeLessThan(500);
      expect(errorCodes(response), label).toEqual(['UNAUTHENTICATED']);
      expect(response.errors[0]?.message, label).toMatch(message);
    }
  });

  it("an identity whose email is a local account's is refused (UNAUTHENTICATED), never linked to it and never a 500", async () => {
    const token = await sign({ sub: 'takeover-attempt', email: app.owner.user.email });
    const response = await app.execute(Me, {}, { credential: token, as: 'bearer' });
    expect(response.status).toBeLessThan(500);
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.text).not.toContain(app.owner.user.id);
    expect((await app.execute(Me, {}, { credential: app.owner.key })).data?.me).toMatchObject({ id: app.owner.user.id, isExternal: false });
  });
});
