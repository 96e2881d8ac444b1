import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';

export type { Redis };

let ioredis: typeof import('ioredis') | undefined;

/**
 * A Redis connection. ioredis is loaded on the first one, so a process without REDIS_URL never
 * pays for it at start-up (about 45 ms of module evaluation on a 2-core VM). Loaded through
 * `createRequire`, not bundled: it resolves from node_modules like the other runtime packages.
 */
export function connectRedis(url: string, options: RedisOptions): Redis {
  ioredis ??= createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  return new ioredis.Redis(url, options);
}
