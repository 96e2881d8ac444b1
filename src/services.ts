import type { Config } from './config.js';
import { openDatabase, type Database } from './db/database.js';
import { applyMigrations } from './db/migrate.js';
import { Authenticator, loadServerKeys } from './auth/index.js';
import { loadRootKeys } from './crypto/index.js';
import type { DataDirRole } from './db/data-dir-lock.js';
import { createSignals, type ClusterSignals } from './events/signals.js';
import { secretVersionRows, startExpirySweeper } from './features/secrets/index.js';
import { notificationEndpointRows, NotificationWorker } from './features/secret-changes/index.js';
import { stripeCredentialRows, StripeSyncWorker } from './features/stripe/index.js';
import { KeyringStore, readLegacyKeys, setUpKeyring } from './keyring/index.js';
import { createEventBus, type EventBus } from './events/event-bus.js';
import type { Logger } from './logger.js';

/** The long-lived parts of a Coffer process, shared by the server and the CLI. */
export interface Services {
  config: Config;
  logger: Logger;
  db: Database;
  auth: Authenticator;
  events: EventBus;
  keyring: KeyringStore;
  signals: ClusterSignals;
  /** Executes Stripe syncs; polls for work only in servers (startBackgroundWork), the CLI drives it itself. */
  syncWorker: StripeSyncWorker;
  /** Sends queued change notifications; polls only in servers (startBackgroundWork). */
  notificationWorker: NotificationWorker;
  /**
   * Servers only, once they listen: the expiry sweeper and the notification and Stripe sync
   * workers' polling. Started after listening so that their first rounds do not delay readiness.
   */
  startBackgroundWork(): void;
  close(): Promise<void>;
}

export async function openServices(config: Config, logger: Logger, options: { db?: Database; role?: DataDirRole } = {}): Promise<Services> {
  const db =
    options.db ??
    (await openDatabase(
      config.databaseUrl
        ? { kind: 'postgres', url: config.databaseUrl, poolSize: config.databasePoolSize }
        : { kind: 'pglite', dataDir: config.dataDir, role: options.role ?? 'server', sharedBuffersMb: config.pgliteSharedBuffersMb },
    ));
  const signals = createSignals({
    redisUrl: config.redisUrl,
    redisKeyPrefix: config.redisKeyPrefix,
    // Only processes sharing a PostgreSQL server need to tell each other anything.
    databaseUrl: db.kind === 'postgres' ? config.databaseUrl : undefined,
    onError: (error) => logger.warn({ err: { type: error.name, message: error.message } }, 'cluster signals: connection problem'),
  });
  try {
    const { applied } = await applyMigrations(db, { logger });
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
    const { keys, generated } = await loadServerKeys(config.tokenSecret, config.dataDir);
    if (generated) {
      logger.warn(
        { dataDir: config.dataDir },
        'COFFER_TOKEN_SECRET is not set: generated one into DATA_DIR. Set it (32+ bytes) when running several replicas.',
      );
    }
    const { rootKeys, source } = await loadRootKeys(config);
    if (source.kind === 'file' && source.generated) {
      logger.warn(
        { path: source.path },
        'No root key configured: generated one into DATA_DIR (mode 0600). It seals the keyring: without it no secret can be read. ' +
          'Back it up apart from the database; set COFFER_ROOT_KEY (or COFFER_ROOT_KEY_FILE) in production and for several replicas.',
      );
    }
    await setUpKeyring({ db, rootKeys, legacy: await readLegacyKeys(config), logger });
    const keyring = new KeyringStore({
      db,
      rootKeys,
      rootKeySource: source,
      sealedRows: [secretVersionRows, stripeCredentialRows, notificationEndpointRows],
      signals,
      logger,
      refreshMs: config.keyringRefreshMs,
    });
    // A problem (wrong root key, missing term) keeps the process up but not ready; the log says which.
    await keyring.verify();
    keyring.startRefreshing();
    const auth = new Authenticator(db.prisma, keys, config, logger, signals);
    auth.usage.start();
    const events = createEventBus(config.redisUrl, config.redisKeyPrefix);
    const notificationWorker = new NotificationWorker({ db, keyring, logger, settings: config.notifications });
    const syncWorker = new StripeSyncWorker({ db, keyring, config, logger, events });
    let sweeper: ReturnType<typeof startExpirySweeper> | null = null;
    return {
      config,
      logger,
      db,
      auth,
      events,
      keyring,
      signals,
      syncWorker,
      notificationWorker,
      startBackgroundWork() {
        if (sweeper) return;
        const { secretExpiryWarningMs: warningMs, secretSweepIntervalMs: intervalMs } = config;
        sweeper = startExpirySweeper({ db, logger, events, warningMs, intervalMs });
        notificationWorker.start();
        syncWorker.start();
      },
      async close() {
        await syncWorker.stop();
        await notificationWorker.stop();
        await sweeper?.stop();
        await auth.usage.stop();
        await auth.close();
        keyring.stop();
        await events.close();
        await signals.close();
        await db.close();
      },
    };
  } catch (error) {
    await signals.close();
    await db.close();
    throw error;
  }
}
