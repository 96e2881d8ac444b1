import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { applyMigrations } from './db/migrate.js';
import { AuthService, loadServerKeys } from './auth/index.js';
import { createEventBus, type EventBus } from './graphql/events.js';
import type { Logger } from './logger.js';

/** The long-lived parts of a Coffer process, shared by the server and the CLI. */
export interface Services {
  config: Config;
  logger: Logger;
  db: Database;
  auth: AuthService;
  events: EventBus;
  close(): Promise<void>;
}

export async function openServices(config: Config, logger: Logger, options: { db?: Database } = {}): Promise<Services> {
  const db =
    options.db ??
    (await openDatabase(
      config.databaseUrl
        ? { kind: 'postgres', url: config.databaseUrl, poolSize: config.databasePoolSize }
        : { kind: 'pglite', dataDir: config.dataDir },
    ));
  try {
    const { applied } = await applyMigrations(db, { logger });
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
    const { keys, generated } = await loadServerKeys(config.tokenSecret, config.dataDir);
    if (generated) {
      logger.warn({ dataDir: config.dataDir }, 'COFFER_TOKEN_SECRET is not set: generated one into DATA_DIR. Set it (32+ bytes) when running several replicas.');
    }
    const auth = new AuthService(db.prisma, keys, config);
    auth.usage.start();
    const events = createEventBus(config.redisUrl);
    return {
      config,
      logger,
      db,
      auth,
      events,
      async close() {
        await auth.usage.stop();
        await events.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
