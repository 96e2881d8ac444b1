import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveServerKeys } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';

/**
 * Coffer's own JWTs must carry an expiry no further than JWT_MAX_LIFETIME_SECONDS from their
 * issue, and a subject that is a user id: anything else is UNAUTHENTICATED, never a 500, even
 * when it is correctly signed (e.g. by a tool holding COFFER_TOKEN_SECRET).
 */

const TOKEN_SECRET = 'tokens-suite-secret-long-enough-0123456789';
const ME = '{ me { id } }';

describe("Coffer's JWTs", () => {
  let app: TestApp;
  const key = deriveServerKeys(TOKEN_SECRET).tokenSigningKey;
  const token = (claims: Record<string, unknown>, build: (jwt: SignJWT) => SignJWT = (jwt) => jwt) =>
    build(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('coffer').setAudience('coffer-api')).sign(key);
  const now = () => Math.floor(app.clock.current.getTime() / 1000);

  beforeAll(async () => {
    app = await createTestApp({ env: { COFFER_TOKEN_SECRET: TOKEN_SECRET, JWT_MAX_LIFETIME_SECONDS: '7200' } });
  });
  afterAll(() => app.close());

  const expectRefused = async (jwt: string, message: RegExp) => {
    const response = await app.request({ query: ME }, { credential: jwt, as: 'bearer' });
    expect(response.status).toBeLessThan(500);
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.json.errors?.[0]?.message).toMatch(message);
  };

  it('a well-formed token of a user works (the control case)', async () => {
    const jwt = await token({ sub: app.owner.user.id }, (jwt) => jwt.setIssuedAt(now()).setExpirationTime(now() + 600));
    expect((await app.request({ query: ME }, { credential: jwt, as: 'bearer' })).json.data).toEqual({ me: { id: app.owner.user.id } });
  });

  it('without exp it is refused', async () => {
    await expectRefused(await token({ sub: app.owner.user.id }, (jwt) => jwt.setIssuedAt(now())), /no expiry/);
  });

  it('living longer than JWT_MAX_LIFETIME_SECONDS it is refused, with or without iat', async () => {
    await expectRefused(
      await token({ sub: app.owner.user.id }, (jwt) => jwt.setIssuedAt(now()).setExpirationTime(now() + 7201)),
      /lives longer/,
    );
    await expectRefused(await token({ sub: app.owner.user.id }, (jwt) => jwt.setExpirationTime(now() + 86_400)), /lives longer/);
  });

  it('a subject that is no user id (a number, an object, free text) is refused', async () => {
    for (const sub of [42, { id: app.owner.user.id }, 'not-a-uuid', '']) {
      await expectRefused(await token({ sub }, (jwt) => jwt.setIssuedAt(now()).setExpirationTime(now() + 600)), /subject/);
    }
  });

  it('TOKEN_TTL_SECONDS beyond JWT_MAX_LIFETIME_SECONDS is a configuration error: Coffer would issue tokens it refuses', () => {
    expect(() => loadConfig({ TOKEN_TTL_SECONDS: '7200', JWT_MAX_LIFETIME_SECONDS: '3600' })).toThrow(/TOKEN_TTL_SECONDS/);
  });
});
