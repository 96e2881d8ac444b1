import type { Viewer } from './viewer.js';

/**
 * Verified credentials → their principal, for a bounded time: most requests then cost no
 * database read to authenticate. Keys are the API key's lookup id (with its stored HMAC kept
 * beside, to compare against the presented key's) or a JWT subject, never a key itself. Only
 * successes are kept: failures go through the throttle every time.
 *
 * Dropped at once by `forget` (this process changed a principal, or another one signalled it);
 * a lookup that raced such a change is not stored (the generation moved meanwhile).
 */

export interface CachedPrincipal {
  viewer: Viewer;
  /** API keys: the stored HMAC, compared with the presented key's on every hit. */
  secretHash?: Uint8Array;
  /** API keys: when the key itself expires (a hit never outlives it). */
  keyExpiresAt?: Date | null;
}

interface Entry extends CachedPrincipal {
  until: number;
}

/** What a change affects: one API key, every credential of one user or machine identity, or everything. */
export type PrincipalChange = { apiKeyId: string } | { userId: string } | { machineIdentityId: string } | 'all';

/** The message on the `credentials` signal topic for a change; `parsePrincipalChange` reads it back. */
export const principalChangeMessage = (change: PrincipalChange): string =>
  change === 'all'
    ? 'all'
    : 'apiKeyId' in change
      ? `api-key:${change.apiKeyId}`
      : 'userId' in change
        ? `user:${change.userId}`
        : `machine:${change.machineIdentityId}`;

export function parsePrincipalChange(message: string): PrincipalChange {
  if (message.startsWith('api-key:')) return { apiKeyId: message.slice('api-key:'.length) };
  if (message.startsWith('user:')) return { userId: message.slice('user:'.length) };
  if (message.startsWith('machine:')) return { machineIdentityId: message.slice('machine:'.length) };
  // RESYNC, or anything unknown: forgetting everything is always safe.
  return 'all';
}

export class PrincipalCache {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** Taken before reading the database; `set` refuses to store what a change made stale meanwhile. */
  snapshot(): number {
    return this.generation;
  }

  get(key: string, now: number): CachedPrincipal | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.until <= now) {
      this.entries.delete(key);
      return null;
    }
    return entry;
  }

  set(key: string, principal: CachedPrincipal, now: number, snapshot: number): void {
    if (!this.enabled || snapshot !== this.generation) return;
    this.entries.delete(key);
    // Bounded: the oldest insertion goes first (Map keeps insertion order).
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { ...principal, until: now + this.ttlMs });
  }

  forget(change: PrincipalChange): void {
    this.generation += 1;
    if (change === 'all') {
      this.entries.clear();
      return;
    }
    for (const [key, entry] of this.entries) {
      if (principalChangeConcerns(change, entry.viewer)) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Whether a change touches this viewer's credential or principal (caches and open streams drop or recheck it). */
export function principalChangeConcerns(change: PrincipalChange, viewer: Viewer): boolean {
  if (change === 'all') return true;
  if ('apiKeyId' in change) return viewer.credential.kind === 'api-key' && viewer.credential.apiKeyId === change.apiKeyId;
  if ('userId' in change) return viewer.kind === 'user' && viewer.userId === change.userId;
  return viewer.kind === 'machine' && viewer.identityId === change.machineIdentityId;
}
