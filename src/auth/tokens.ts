import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { isUuid } from '../db/ids.js';
import { unauthenticated } from '../errors.js';

const COFFER_ISSUER = 'coffer';
const COFFER_AUDIENCE = 'coffer-api';

export async function signToken(
  key: Uint8Array,
  userId: string,
  ttlSeconds: number,
  now: Date,
): Promise<{ token: string; expiresAt: Date }> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresAt = new Date((issuedAt + ttlSeconds) * 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(COFFER_ISSUER)
    .setAudience(COFFER_AUDIENCE)
    .setSubject(userId)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .sign(key);
  return { token, expiresAt };
}

/** Coffer's own token: returns the user id, or throws UNAUTHENTICATED with the reason. */
export async function verifyCofferToken(key: Uint8Array, token: string, now: Date, maxLifetimeSeconds: number): Promise<string> {
  const payload = await verifyOrExplain(
    () => jwtVerify(token, key, { algorithms: ['HS256'], issuer: COFFER_ISSUER, audience: COFFER_AUDIENCE, currentDate: now }),
    now,
    maxLifetimeSeconds,
  );
  if (typeof payload.sub !== 'string' || !isUuid(payload.sub)) throw unauthenticated('The token has no valid subject.');
  return payload.sub;
}

export interface ExternalJwtSettings {
  jwksUrl: string;
  issuer: string;
  audience: string;
  roleClaim: string;
  adminRole: string;
}

export interface ExternalIdentity {
  issuer: string;
  subject: string;
  email: string | null;
  name: string | null;
  isAdmin: boolean;
}

/** Verifies JWTs of the platform's own identity provider against its JWKS (cached and refreshed by jose). */
export function createExternalVerifier(settings: ExternalJwtSettings, maxLifetimeSeconds: number) {
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  return async (token: string, now: Date): Promise<ExternalIdentity> => {
    const payload = await verifyOrExplain(
      () =>
        jwtVerify(token, jwks, {
          issuer: settings.issuer,
          audience: settings.audience,
          currentDate: now,
          algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'],
        }),
      now,
      maxLifetimeSeconds,
    );
    if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 255)
      throw unauthenticated('The token has no valid subject.');
    return {
      issuer: settings.issuer,
      subject: payload.sub,
      email: typeof payload.email === 'string' ? payload.email : null,
      name: typeof payload.name === 'string' ? payload.name : null,
      isAdmin: claimIncludes(readClaim(payload, settings.roleClaim), settings.adminRole),
    };
  };
}

/** Role claims may be nested (`realm_access.roles`) and hold a string or a list. */
function readClaim(payload: JWTPayload, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), payload);
}

function claimIncludes(claim: unknown, wanted: string): boolean {
  if (typeof claim === 'string') return claim === wanted || claim.split(' ').includes(wanted);
  return Array.isArray(claim) && claim.includes(wanted);
}

/**
 * The payload of a token whose signature and claims check out, or UNAUTHENTICATED with the reason.
 * A token must expire, and within the lifetime allowed: a leaked one must not work for ever.
 */
async function verifyOrExplain(verify: () => Promise<{ payload: JWTPayload }>, now: Date, maxLifetimeSeconds: number): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    payload = (await verify()).payload;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The token has expired.');
    if (error instanceof joseErrors.JWTClaimValidationFailed) throw unauthenticated(`The token's ${error.claim} claim is not accepted.`);
    if (error instanceof joseErrors.JWKSNoMatchingKey) throw unauthenticated('The token was signed by an unknown key.');
    if (error instanceof joseErrors.JWKSTimeout || (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC')) {
      throw unauthenticated('The identity provider could not be reached to verify the token.');
    }
    throw unauthenticated('The token is not valid.');
  }
  if (typeof payload.exp !== 'number') throw unauthenticated('The token has no expiry (exp claim).');
  const issuedAt = typeof payload.iat === 'number' ? payload.iat : Math.floor(now.getTime() / 1000);
  if (payload.exp - issuedAt > maxLifetimeSeconds) throw unauthenticated('The token lives longer than JWT_MAX_LIFETIME_SECONDS allows.');
  return payload;
}
