import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { AuthService, Viewer } from '../auth/index.js';
import type { KeyringStore } from '../keyring/index.js';
import type { StripeSyncWorker } from '../features/stripe-sync/sync-worker.js';
import type { EventBus } from './events.js';

/** Everything a resolver may touch. Built once per request (or per WebSocket subscription). */
export interface Context {
  config: Config;
  db: Database;
  logger: Logger;
  auth: AuthService;
  events: EventBus;
  keyring: KeyringStore;
  syncWorker: StripeSyncWorker;
  viewer: Viewer | null;
  requestId: string;
  clientAddress: string | null;
  /** Injectable clock: tests move time instead of sleeping. */
  now: () => Date;
}

/** A context whose viewer is guaranteed by the shield rules guarding the field. */
export interface AuthenticatedContext extends Context {
  viewer: Viewer;
}
