import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { Authenticator, Viewer } from '../auth/index.js';
import type { KeyringStore } from '../keyring/index.js';
import type { EventBus } from '../events/event-bus.js';
import type { ClusterSignals } from '../events/signals.js';

/** Everything a resolver may touch. Built once per request (or per WebSocket subscription). */
export interface Context {
  config: Config;
  db: Database;
  logger: Logger;
  auth: Authenticator;
  events: EventBus;
  keyring: KeyringStore;
  signals: ClusterSignals;
  viewer: Viewer | null;
  requestId: string;
  clientAddress: string | null;
  /** Injectable clock: tests move time instead of sleeping. */
  now: () => Date;
}
