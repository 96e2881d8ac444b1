import { connectRedis, type Redis } from '../events/redis-client.js';
import { CofferError } from '../errors.js';

/**
 * Failed authentications, counted per client address and per API-key id over a sliding window:
 * a brute force is refused (RATE_LIMITED with Retry-After) instead of answered, and a valid key
 * keeps working whatever others try against it. Shared across replicas through Redis when
 * REDIS_URL is set, in-process otherwise.
 */

export interface ThrottleSettings {
  perAddress: number;
  perKey: number;
  windowMs: number;
}

/** Timestamps of failures per subject, inside the window. */
interface FailureLog {
  /** Failures of `subject` within the window ending `now`, and when the oldest of them leaves it. */
  count(subject: string, now: number): Promise<{ count: number; oldest: number | null }>;
  add(subject: string, now: number): Promise<{ count: number; oldest: number | null }>;
  close(): Promise<void>;
}

export const rateLimited = (retryAfterSeconds: number) =>
  new CofferError('RATE_LIMITED', `Too many failed sign-ins. Try again in ${retryAfterSeconds} s.`, { retryAfterSeconds, retryable: true });

export class CredentialThrottle {
  private readonly log: FailureLog;

  constructor(
    private readonly settings: ThrottleSettings,
    redis?: { url: string; keyPrefix: string },
  ) {
    this.log = redis ? new RedisFailureLog(redis.url, redis.keyPrefix, settings.windowMs) : new MemoryFailureLog(settings.windowMs);
  }

  /** RATE_LIMITED when `address` already failed too often: refused before any lookup. */
  async checkAddress(address: string | null, now: number): Promise<void> {
    if (!address) return;
    const { count, oldest } = await this.log.count(`address:${address}`, now);
    if (count >= this.settings.perAddress) throw rateLimited(this.retryAfter(oldest, now));
  }

  /**
   * Records a failure; the error to answer instead of UNAUTHENTICATED once the address or the key
   * id is over its limit, else null. (Only wrong keys are counted against a key id, so its owner,
   * presenting the right key, is never refused.)
   */
  async failed(address: string | null, keyId: string | null, now: number): Promise<CofferError | null> {
    const results = await Promise.all([
      address ? this.log.add(`address:${address}`, now).then((result) => ({ ...result, limit: this.settings.perAddress })) : null,
      keyId ? this.log.add(`key:${keyId}`, now).then((result) => ({ ...result, limit: this.settings.perKey })) : null,
    ]);
    const over = results.filter((result) => result !== null && result.count > result.limit);
    if (over.length === 0) return null;
    return rateLimited(Math.max(...over.map((result) => this.retryAfter(result!.oldest, now))));
  }

  close(): Promise<void> {
    return this.log.close();
  }

  private retryAfter(oldest: number | null, now: number): number {
    return Math.max(1, Math.ceil(((oldest ?? now) + this.settings.windowMs - now) / 1000));
  }
}

/** Bounded: an attacker cycling addresses or key ids cannot grow it without limit. */
const MAX_SUBJECTS = 100_000;

class MemoryFailureLog implements FailureLog {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly windowMs: number) {}

  async count(subject: string, now: number) {
    const recent = this.recent(subject, now);
    return { count: recent.length, oldest: recent[0] ?? null };
  }

  async add(subject: string, now: number) {
    const recent = this.recent(subject, now);
    recent.push(now);
    this.failures.delete(subject);
    this.failures.set(subject, recent);
    // Map order is insertion order: the first entries are the least recently failed.
    for (const key of this.failures.keys()) {
      if (this.failures.size <= MAX_SUBJECTS) break;
      this.failures.delete(key);
    }
    return { count: recent.length, oldest: recent[0] ?? null };
  }

  async close() {}

  private recent(subject: string, now: number): number[] {
    const recent = (this.failures.get(subject) ?? []).filter((at) => at > now - this.windowMs);
    if (recent.length === 0) this.failures.delete(subject);
    return recent;
  }
}

class RedisFailureLog implements FailureLog {
  private readonly redis: Redis;

  constructor(
    url: string,
    keyPrefix: string,
    private readonly windowMs: number,
  ) {
    this.redis = connectRedis(url, { maxRetriesPerRequest: 2, keyPrefix: `${keyPrefix}auth-failures:` });
  }

  async count(subject: string, now: number) {
    const key = subject;
    const [, [, count], [, oldest]] = (await this.redis
      .multi()
      .zremrangebyscore(key, 0, now - this.windowMs)
      .zcard(key)
      .zrange(key, 0, 0, 'WITHSCORES')
      .exec()) as [unknown, [unknown, number], [unknown, string[]]];
    return { count, oldest: oldest[1] ? Number(oldest[1]) : null };
  }

  async add(subject: string, now: number) {
    const key = subject;
    const [, , [, count], [, oldest]] = (await this.redis
      .multi()
      .zremrangebyscore(key, 0, now - this.windowMs)
      // A random member: two failures in the same millisecond are two failures.
      .zadd(key, now, `${now}:${Math.random()}`)
      .zcard(key)
      .zrange(key, 0, 0, 'WITHSCORES')
      .pexpire(key, this.windowMs)
      .exec()) as [unknown, unknown, [unknown, number], [unknown, string[]]];
    return { count, oldest: oldest[1] ? Number(oldest[1]) : null };
  }

  async close() {
    await this.redis.quit().catch(() => undefined);
  }
}
