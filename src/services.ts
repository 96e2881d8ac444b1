import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { applyMigrations } from './db/migrate.js';
import { AuthService, loadServerKeys } from './auth/index.js';
import { KeyringStore } from './crypto/keyring-store.js';
import { startExpirySweeper } from './features/secrets/expiry-sweeper.js';
import { StripeSyncWorker } from './features/stripe-sync/sync-worker.js';
import { createEventBus, type EventBus } from './graphql/events.js';
import type { Logger } from './logger.js';

/** The long-lived parts of a Coffer process, shared by the server and the CLI. */
export interface Services {
  config: Config;
  logger: Logger;
  db: Database;
  auth: AuthService;
  events: EventBus;
  keyring: KeyringStore;
  /** Executes Stripe syncs; polls for work only in servers (background), the CLI drives it itself. */
  syncWorker: StripeSyncWorker;
  close(): Promise<void>;
}

export async function openServices(config: Config, logger: Logger, options: { db?: Database; background?: boolean } = {}): Promise<Services> {
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
    const { store: keyring, created } = await KeyringStore.load(config);
    if (created && keyring.source.kind === 'file') {
      logger.warn({ path: keyring.source.path }, 'No master key configured: generated one into DATA_DIR (mode 0600). Back it up: secrets cannot be read without it. Set COFFER_MASTER_KEYS in production.');
    }
    const auth = new AuthService(db.prisma, keys, config);
    auth.usage.start();
    const events = createEventBus(config.redisUrl);
    // Background work belongs to servers; the CLI and tests open services without it.
    const sweeper = options.background ? startExpirySweeper({ db, logger, intervalMs: config.secretSweepIntervalMs }) : null;
    const syncWorker = new StripeSyncWorker({ db, keyring, config, logger, events });
    if (options.background) syncWorker.start();
    return {
      config,
      logger,
      db,
      auth,
      events,
      keyring,
      syncWorker,
      async close() {
        await syncWorker.stop();
        await sweeper?.stop();
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
