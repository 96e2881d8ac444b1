import type { Config } from '../config.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { forbidden, notFound, unauthenticated } from '../graphql/errors.js';
import { generateApiKey, apiKeyMatches, hashApiKey, looksLikeApiKey, parseApiKey } from './api-keys.js';
import type { ServerKeys } from './server-secret.js';
import { createExternalVerifier, signToken, verifyCofferToken, type ExternalIdentity } from './tokens.js';
import { ApiKeyUsageTracker } from './usage-tracker.js';
import type { Viewer } from './viewer.js';

export interface CredentialHeaders {
  authorization?: string | null;
  apiKey?: string | null;
}

/** Verifies credentials and manages API keys and tokens. One per process. */
export class AuthService {
  readonly usage: ApiKeyUsageTracker;
  private readonly verifyExternal: ((token: string, now: Date) => Promise<ExternalIdentity>) | null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly keys: ServerKeys,
    private readonly config: Pick<Config, 'tokenTtlSeconds' | 'externalJwt'>,
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
    const row = parsed
      ? await this.prisma.apiKey.findUnique({ where: { lookupId: parsed.lookupId }, include: { user: true } })
      : null;
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
    const user = await this.prisma.user.findUnique({ where: { id: userId } });
    if (!user || user.disabledAt) throw unauthenticated('The user of this token no longer exists or is disabled.');
    return { userId: user.id, role: user.role, user, credential: { kind: 'token' } };
  }

  /** Just-in-time account for a user of the platform's identity provider; the role follows the claim. */
  private async provisionExternalUser(identity: ExternalIdentity) {
    const externalId = `${identity.issuer}|${identity.subject}`;
    const role = identity.isAdmin ? 'ADMIN' : 'DEVELOPER';
    const existing = await this.prisma.user.findUnique({ where: { externalId } });
    if (existing) {
      if (existing.disabledAt) throw unauthenticated('This user is disabled in Coffer.');
      return existing.role === role ? existing : this.prisma.user.update({ where: { id: existing.id }, data: { role } });
    }
    const email = identity.email ?? `${identity.subject}@${new URL(identity.issuer.includes('://') ? identity.issuer : `https://${identity.issuer}`).hostname}`;
    return this.prisma.user.upsert({
      where: { externalId },
      create: { externalId, email, name: identity.name, role },
      update: {},
    });
  }

  async createApiKey({ userId, name, expiresAt }: { userId: string; name: string; expiresAt?: Date | null }) {
    const { key, lookupId } = generateApiKey();
    const apiKey = await this.prisma.apiKey.create({
      data: { name, userId, lookupId, secretHash: hashApiKey(this.keys.apiKeyHmacKey, key), expiresAt: expiresAt ?? null },
    });
    return { apiKey, key };
  }

  /**
   * Registers a key chosen by the operator (COFFER_ADMIN_API_KEY), e.g. one kept in their own
   * vault. A changed key replaces (revokes) the one registered before it.
   */
  async registerApiKey({ userId, name, key }: { userId: string; name: string; key: string }): Promise<{ registered: boolean }> {
    const parsed = parseApiKey(key);
    if (!parsed) throw new Error('Not a Coffer API key.');
    const existing = await this.prisma.apiKey.findUnique({ where: { lookupId: parsed.lookupId } });
    if (existing && apiKeyMatches(this.keys.apiKeyHmacKey, key, existing.secretHash) && !existing.revokedAt) return { registered: false };
    await this.prisma.$transaction([
      this.prisma.apiKey.updateMany({ where: { userId, name, revokedAt: null }, data: { revokedAt: new Date() } }),
      ...(existing ? [this.prisma.apiKey.delete({ where: { id: existing.id } })] : []),
      this.prisma.apiKey.create({ data: { name, userId, lookupId: parsed.lookupId, secretHash: hashApiKey(this.keys.apiKeyHmacKey, key) } }),
    ]);
    return { registered: true };
  }

  async revokeApiKey({ viewer, id, now }: { viewer: Viewer; id: string; now: Date }) {
    const apiKey = await this.prisma.apiKey.findUnique({ where: { id } });
    if (!apiKey) throw notFound('API key');
    if (apiKey.userId !== viewer.userId && viewer.role !== 'ADMIN') {
      // Do not confirm that someone else's key exists.
      throw notFound('API key');
    }
    if (apiKey.revokedAt) return apiKey;
    return this.prisma.apiKey.update({ where: { id }, data: { revokedAt: now } });
  }

  async issueToken({ userId, now }: { userId: string; now: Date }) {
    const user = await this.prisma.user.findUnique({ where: { id: userId } });
    if (!user) throw notFound('User');
    if (user.disabledAt) throw forbidden('This user is disabled.');
    return signToken(this.keys.tokenSigningKey, user.id, this.config.tokenTtlSeconds, now);
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
