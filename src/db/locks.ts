import type { Database } from './database.js';

const localQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `work` while holding the lock `name`: queued in this process, and on PostgreSQL also held
 * as a session advisory lock so replicas line up too. (PGlite is one process and one session;
 * the in-process queue is the whole story there.)
 */
export async function withExclusiveLock<T>(db: Database, name: string, work: () => Promise<T>): Promise<T> {
  const previous = localQueues.get(name) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const queued = previous.then(() => mine);
  localQueues.set(name, queued);
  await previous.catch(() => undefined);
  try {
    if (db.kind !== 'postgres') return await work();
    return await db.withSession(async (session) => {
      await session.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [name]);
      try {
        return await work();
      } finally {
        await session.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]);
      }
    });
  } finally {
    release();
    if (localQueues.get(name) === queued) localQueues.delete(name);
  }
}

/** Several locks, always taken in the same (sorted) order so two callers cannot deadlock. */
export async function withExclusiveLocks<T>(db: Database, names: string[], work: () => Promise<T>): Promise<T> {
  const [first, ...rest] = [...new Set(names)].sort();
  if (first === undefined) return work();
  return withExclusiveLock(db, first, () => withExclusiveLocks(db, rest, work));
}
