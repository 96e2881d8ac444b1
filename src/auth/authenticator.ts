import type { Config } from '../config.js';
import { unauthenticated } from '../errors.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { apiKeyMatches, looksLikeApiKey, parseApiKey } from './api-keys.js';
import * as authRepository from './auth.repository.js';
import type { ServerKeys } from './server-secret.js';
import { createExternalVerifier, verifyCofferToken, type ExternalIdentity } from './tokens.js';
import { ApiKeyUsageTracker } from './usage-tracker.js';
import type { Viewer } from './viewer.js';

export interface CredentialHeaders {
  authorization?: string | null;
  apiKey?: string | null;
}

/** Verifies the credential of a request: an API key, a Coffer JWT, or a JWT of the platform's identity provider. One per process. */
export class Authenticator {
  readonly usage: ApiKeyUsageTracker;
  private readonly verifyExternal: ((token: string, now: Date) => Promise<ExternalIdentity>) | null;

  constructor(
    private readonly prisma: PrismaClient,
    /** Also what issuing credentials needs (features/credentials). */
    readonly keys: ServerKeys,
    readonly config: Pick<Config, 'tokenTtlSeconds' | 'externalJwt'>,
  ) {
    this.usage = new ApiKeyUsageTracker(prisma);
    this.verifyExternal = config.externalJwt ? createExternalVerifier(config.externalJwt) : null;
  }

  /** null when no credential was presented; UNAUTHENTICATED when one was presented and is not good. */
  async authenticate(headers: CredentialHeaders, now: Date): Promise<Viewer | null> {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '')?.[1];
    if (headers.authorization && !bearer) throw unauthenticated('The Authorization header must be "Bearer <token or API key>".');
    const credential = headers.apiKey?.trim() || bearer;
    if (!credential) return null;
    if (looksLikeApiKey(credential)) return this.authenticateApiKey(credential, now);
    return this.authenticateToken(credential, now);
  }

  private async authenticateApiKey(key: string, now: Date): Promise<Viewer> {
    const parsed = parseApiKey(key);
    const row = parsed ? await authRepository.findApiKeyWithUser(this.prisma, parsed.lookupId) : null;
    // Same answer for "no such key" and "wrong secret": nothing to learn by probing lookup ids.
    if (!row || !apiKeyMatches(this.keys.apiKeyHmacKey, key, row.secretHash)) throw unauthenticated('The API key is not valid.');
    if (row.revokedAt) throw unauthenticated('The API key has been revoked.');
    if (row.expiresAt && row.expiresAt <= now) throw unauthenticated('The API key has expired.');
    if (row.user.disabledAt) throw unauthenticated('The user of this API key is disabled.');
    this.usage.record(row.id, now);
    return { userId: row.userId, role: row.user.role, user: row.user, credential: { kind: 'api-key', apiKeyId: row.id } };
  }

  private async authenticateToken(token: string, now: Date): Promise<Viewer> {
    if (this.verifyExternal && !isCofferToken(token)) {
      const identity = await this.verifyExternal(token, now);
      const user = await this.provisionExternalUser(identity);
      return { userId: user.id, role: user.role, user, credential: { kind: 'external-token', issuer: identity.issuer } };
    }
    const userId = await verifyCofferToken(this.keys.tokenSigningKey, token, now);
    const user = await authRepository.findUser(this.prisma, userId);
    if (!user || user.disabledAt) throw unauthenticated('The user of this token no longer exists or is disabled.');
    return { userId: user.id, role: user.role, user, credential: { kind: 'token' } };
  }

  /** Just-in-time account for a user of the platform's identity provider; the role follows the claim. */
  private async provisionExternalUser(identity: ExternalIdentity) {
    const externalId = `${identity.issuer}|${identity.subject}`;
    const role = identity.isAdmin ? 'ADMIN' : 'DEVELOPER';
    const existing = await authRepository.findUserByExternalId(this.prisma, externalId);
    if (existing) {
      if (existing.disabledAt) throw unauthenticated('This user is disabled in Coffer.');
      return existing.role === role ? existing : authRepository.setUserRole(this.prisma, existing.id, role);
    }
    const email =
      identity.email ??
      `${identity.subject}@${new URL(identity.issuer.includes('://') ? identity.issuer : `https://${identity.issuer}`).hostname}`;
    return authRepository.provisionUser(this.prisma, { externalId, email, name: identity.name, role });
  }
}

function isCofferToken(token: string): boolean {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iss?: unknown };
    return payload.iss === 'coffer';
  } catch {
    return false;
  }
}
