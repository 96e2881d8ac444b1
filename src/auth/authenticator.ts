import type { Config } from '../config.js';
import { isUniqueViolation } from '../db/prisma-errors.js';
import { forbidden, isCofferError, unauthenticated } from '../errors.js';
import type { ClusterSignals } from '../events/signals.js';
import type { Logger } from '../logger.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { apiKeyMatches, looksLikeApiKey, parseApiKey } from './api-keys.js';
import * as authRepository from './auth.repository.js';
import { parsePrincipalChange, PrincipalCache, principalChangeMessage, type PrincipalChange } from './principal-cache.js';
import type { ServerKeys } from './server-secret.js';
import { CredentialThrottle } from './throttle.js';
import { createExternalVerifier, verifyCofferToken, type ExternalIdentity } from './tokens.js';
import { ApiKeyUsageTracker } from './usage-tracker.js';
import { addressAllowed } from './machine.js';
import type { MachineViewer, UserViewer, Viewer } from './viewer.js';

type KeyRow = NonNullable<Awaited<ReturnType<typeof authRepository.findApiKeyById>>>;

export interface CredentialHeaders {
  authorization?: string | null;
  apiKey?: string | null;
}

type AuthSettings = Pick<
  Config,
  'tokenTtlSeconds' | 'jwtMaxLifetimeSeconds' | 'externalJwt' | 'authThrottle' | 'redisUrl' | 'redisKeyPrefix' | 'authCacheSeconds'
>;

/**
 * Tells every process (this one included) that a principal changed: a key revoked, a user
 * disabled, deleted or given another role. Call after the change is committed.
 */
export const announcePrincipalChange = (signals: ClusterSignals, change: PrincipalChange): Promise<void> =>
  signals.publish('credentials', principalChangeMessage(change));

/** Verifies the credential of a request: an API key, a Coffer JWT, or a JWT of the platform's identity provider. One per process. */
export class Authenticator {
  readonly usage: ApiKeyUsageTracker;
  private readonly verifyExternal: ((token: string, now: Date) => Promise<ExternalIdentity>) | null;
  private readonly throttle: CredentialThrottle;
  readonly cache: PrincipalCache;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly prisma: PrismaClient,
    /** Also what issuing credentials needs (features/credentials). */
    readonly keys: ServerKeys,
    readonly config: AuthSettings,
    private readonly logger: Logger,
    private readonly signals: ClusterSignals,
  ) {
    this.usage = new ApiKeyUsageTracker(prisma);
    this.verifyExternal = config.externalJwt ? createExternalVerifier(config.externalJwt, config.jwtMaxLifetimeSeconds) : null;
    this.throttle = new CredentialThrottle(
      config.authThrottle,
      config.redisUrl ? { url: config.redisUrl, keyPrefix: config.redisKeyPrefix } : undefined,
    );
    this.cache = new PrincipalCache(config.authCacheSeconds * 1000);
    // RESYNC (messages may have been missed) parses as 'all'.
    this.unsubscribe = signals.subscribe('credentials', (message) => this.cache.forget(parsePrincipalChange(message)));
  }

  /**
   * null when no credential was presented; UNAUTHENTICATED when one was presented and is not good;
   * RATE_LIMITED when its address (or, for a wrong API key, its key id) failed too often lately.
   */
  async authenticate(headers: CredentialHeaders, now: Date, clientAddress: string | null = null): Promise<Viewer | null> {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
    const credential = headers.apiKey?.trim() || bearer;
    if (!credential && !headers.authorization) return null;
    await this.guarded(() => this.throttle.checkAddress(clientAddress, now.getTime()));
    try {
      if (!credential) throw unauthenticated('The Authorization header must be "Bearer <token or API key>".');
      if (looksLikeApiKey(credential)) return await this.authenticateApiKey(credential, now, clientAddress);
      return await this.authenticateToken(credential, now);
    } catch (error) {
      if (!isCofferError(error) || error.code !== 'UNAUTHENTICATED') throw error;
      const keyId = credential && looksLikeApiKey(credential) ? (parseApiKey(credential)?.lookupId ?? null) : null;
      throw (await this.guarded(() => this.throttle.failed(clientAddress, keyId, now.getTime()))) ?? error;
    }
  }

  /**
   * The viewer as the database has it now, for long-lived streams that must end when their
   * credential is revoked or expires, or its user is disabled or loses a role. UNAUTHENTICATED when
   * the credential no longer holds. Bypasses the cache.
   */
  async recheck(viewer: Viewer, now: Date): Promise<Viewer> {
    const credential = viewer.credential;
    if (credential.kind === 'api-key') {
      const row = await authRepository.findApiKeyById(this.prisma, credential.apiKeyId);
      if (!row || row.revokedAt) throw unauthenticated('The API key has been revoked.');
      return this.principalOf(row, now);
    }
    if (viewer.kind !== 'user') throw unauthenticated();
    const user = await authRepository.findUser(this.prisma, viewer.userId);
    if (!user || user.disabledAt) throw unauthenticated('The user of this token no longer exists or is disabled.');
    return { ...viewer, role: user.role, user };
  }

  close(): Promise<void> {
    this.unsubscribe();
    return this.throttle.close();
  }

  /** Throttling must not take authentication down with it: if its store fails, requests pass unthrottled. */
  private async guarded<T>(work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      if (isCofferError(error)) throw error;
      this.logger.warn(
        { err: { type: (error as Error).name, message: (error as Error).message } },
        'credential throttle unavailable; not throttling',
      );
      return null;
    }
  }

  private async authenticateApiKey(key: string, now: Date, clientAddress: string | null): Promise<Viewer> {
    const parsed = parseApiKey(key);
    // Same answer for "no such key" and "wrong secret": nothing to learn by probing lookup ids.
    if (!parsed) throw unauthenticated('The API key is not valid.');
    const cacheKey = `api-key:${parsed.lookupId}`;
    const cached = this.cache.get(cacheKey, now.getTime());
    if (cached?.secretHash && apiKeyMatches(this.keys.apiKeyHmacKey, key, cached.secretHash)) {
      if (!cached.keyExpiresAt || cached.keyExpiresAt > now) {
        if (cached.viewer.credential.kind === 'api-key') this.usage.record(cached.viewer.credential.apiKeyId, now);
        return checkAddress(cached.viewer, clientAddress);
      }
    }
    const snapshot = this.cache.snapshot();
    const row = await authRepository.findApiKeyWithUser(this.prisma, parsed.lookupId);
    if (!row || !apiKeyMatches(this.keys.apiKeyHmacKey, key, row.secretHash)) throw unauthenticated('The API key is not valid.');
    if (row.revokedAt) throw unauthenticated('The API key has been revoked.');
    const viewer = this.principalOf(row, now);
    this.usage.record(row.id, now);
    // A cached machine key expires with its identity too.
    const identityExpiresAt = row.machineIdentity?.expiresAt ?? null;
    const keyExpiresAt = [row.expiresAt, identityExpiresAt].filter((at): at is Date => at !== null).sort((a, b) => +a - +b)[0] ?? null;
    this.cache.set(cacheKey, { viewer, secretHash: row.secretHash, keyExpiresAt }, now.getTime(), snapshot);
    return checkAddress(viewer, clientAddress);
  }

  /** The principal an unrevoked key authenticates now: its user, or its machine identity. UNAUTHENTICATED when it no longer holds. */
  private principalOf(row: KeyRow, now: Date): Viewer {
    if (row.expiresAt && row.expiresAt <= now) throw unauthenticated('The API key has expired.');
    const credential = { kind: 'api-key' as const, apiKeyId: row.id };
    if (row.machineIdentity) {
      const identity = row.machineIdentity;
      if (identity.disabledAt) throw unauthenticated('The machine identity of this API key is disabled.');
      if (identity.expiresAt && identity.expiresAt <= now) throw unauthenticated('The machine identity of this API key has expired.');
      const machine: MachineViewer = {
        kind: 'machine',
        identityId: identity.id,
        name: identity.name,
        projectId: identity.projectId,
        environments: identity.environments,
        permissions: identity.permissions,
        allowedCidrs: identity.allowedCidrs,
        credential,
      };
      return machine;
    }
    if (!row.user) throw unauthenticated('The API key is not valid.');
    if (row.user.disabledAt) throw unauthenticated('The user of this API key is disabled.');
    const user: UserViewer = { kind: 'user', userId: row.user.id, role: row.user.role, user: row.user, credential };
    return user;
  }

  private async authenticateToken(token: string, now: Date): Promise<Viewer> {
    if (this.verifyExternal && !isCofferToken(token)) {
      const identity = await this.verifyExternal(token, now);
      const cacheKey = `external:${identity.issuer}|${identity.subject}`;
      const cached = this.cache.get(cacheKey, now.getTime());
      // The role follows the claim of each token: a token claiming another role goes to the database.
      if (cached?.viewer.kind === 'user' && cached.viewer.role === (identity.isAdmin ? 'ADMIN' : 'DEVELOPER')) return cached.viewer;
      const snapshot = this.cache.snapshot();
      const user = await this.provisionExternalUser(identity);
      const viewer: Viewer = {
        kind: 'user',
        userId: user.id,
        role: user.role,
        user,
        credential: { kind: 'external-token', issuer: identity.issuer },
      };
      this.cache.set(cacheKey, { viewer }, now.getTime(), snapshot);
      return viewer;
    }
    // The signature and expiry are checked on every request; only the user lookup is cached.
    const userId = await verifyCofferToken(this.keys.tokenSigningKey, token, now, this.config.jwtMaxLifetimeSeconds);
    const cacheKey = `token:${userId}`;
    const cached = this.cache.get(cacheKey, now.getTime());
    if (cached) return cached.viewer;
    const snapshot = this.cache.snapshot();
    const user = await authRepository.findUser(this.prisma, userId);
    if (!user || user.disabledAt) throw unauthenticated('The user of this token no longer exists or is disabled.');
    const viewer: Viewer = { kind: 'user', userId: user.id, role: user.role, user, credential: { kind: 'token' } };
    this.cache.set(cacheKey, { viewer }, now.getTime(), snapshot);
    return viewer;
  }

  /** Just-in-time account for a user of the platform's identity provider; the role follows the claim. */
  private async provisionExternalUser(identity: ExternalIdentity) {
    const externalId = `${identity.issuer}|${identity.subject}`;
    const role = identity.isAdmin ? 'ADMIN' : 'DEVELOPER';
    const existing = await authRepository.findUserByExternalId(this.prisma, externalId);
    if (existing) {
      if (existing.disabledAt) throw unauthenticated('This user is disabled in Coffer.');
      if (existing.role === role) return existing;
      const changed = await authRepository.setUserRole(this.prisma, existing.id, role);
      await announcePrincipalChange(this.signals, { userId: existing.id });
      return changed;
    }
    const host = new URL(identity.issuer.includes('://') ? identity.issuer : `https://${identity.issuer}`).hostname;
    const email = identity.email ?? `${identity.subject}@${host}`;
    try {
      return await authRepository.provisionUser(this.prisma, { externalId, email, name: identity.name, role });
    } catch (error) {
      // Linking on email would let an identity provider take over a local account: refused instead.
      if (isUniqueViolation(error))
        throw unauthenticated('The email of this identity is used by a Coffer account that is not linked to it.');
      throw error;
    }
  }
}

/**
 * A machine identity's key used from outside its allowed ranges: FORBIDDEN (the key is genuine, so
 * this is no failed sign-in for the throttle to count). Checked on cache hits as well.
 */
function checkAddress(viewer: Viewer, clientAddress: string | null): Viewer {
  if (viewer.kind === 'machine' && !addressAllowed(viewer.allowedCidrs, clientAddress))
    throw forbidden('This machine identity may not be used from this address.');
  return viewer;
}

function isCofferToken(token: string): boolean {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iss?: unknown };
    return payload.iss === 'coffer';
  } catch {
    return false;
  }
}
