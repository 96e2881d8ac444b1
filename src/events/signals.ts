import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connectRedis } from './redis-client.js';
import type pg from 'pg';

/**
 * Small messages processes send each other so that what they keep in memory stays true: "the
 * keyring changed", "this credential was revoked". Through Redis when REDIS_URL is set, else
 * PostgreSQL's LISTEN/NOTIFY, else (one embedded process) in-process only.
 *
 * Delivery is best effort. A listener is told RESYNC when its connection was lost and regained,
 * since messages may have been missed meanwhile; each cache also refreshes on a timer.
 */
export type SignalTopic = 'keyring' | 'credentials';
export const RESYNC = '__resync__';

export interface ClusterSignals {
  readonly transport: 'local' | 'postgres' | 'redis';
  publish(topic: SignalTopic, message?: string): Promise<void>;
  subscribe(topic: SignalTopic, listener: (message: string) => void): () => void;
  /** Resolves once messages other processes publish from now on reach this one. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface Envelope {
  topic: SignalTopic;
  message: string;
  from: string;
}

const CHANNEL = 'coffer_signals';
const TOPICS: SignalTopic[] = ['keyring', 'credentials'];

export function createSignals(options: {
  redisUrl?: string | undefined;
  redisKeyPrefix?: string;
  databaseUrl?: string | undefined;
  onError?: (error: Error) => void;
}): ClusterSignals {
  if (options.redisUrl) return redisSignals(options.redisUrl, options.redisKeyPrefix ?? 'coffer:', options.onError);
  if (options.databaseUrl) return postgresSignals(options.databaseUrl, options.onError);
  return localSignals();
}

/** The in-process part every transport shares: listeners, and not hearing our own echo twice. */
function localHub() {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const id = randomUUID();
  return {
    id,
    emit: (topic: SignalTopic, message: string) => emitter.emit(topic, message),
    receive(text: string) {
      try {
        const envelope = JSON.parse(text) as Envelope;
        if (envelope.from !== id && TOPICS.includes(envelope.topic)) emitter.emit(envelope.topic, envelope.message);
      } catch {
        // Not ours (someone else on the channel); ignored.
      }
    },
    resync: () => TOPICS.forEach((topic) => emitter.emit(topic, RESYNC)),
    subscribe(topic: SignalTopic, listener: (message: string) => void) {
      emitter.on(topic, listener);
      return () => void emitter.off(topic, listener);
    },
    envelope: (topic: SignalTopic, message: string) => JSON.stringify({ topic, message, from: id } satisfies Envelope),
  };
}

function localSignals(): ClusterSignals {
  const hub = localHub();
  return {
    transport: 'local',
    async publish(topic, message = '') {
      hub.emit(topic, message);
    },
    subscribe: (topic, listener) => hub.subscribe(topic, listener),
    ready: async () => undefined,
    close: async () => undefined,
  };
}

function postgresSignals(url: string, onError?: (error: Error) => void): ClusterSignals {
  const hub = localHub();
  let client: pg.Client | null = null;
  let closed = false;
  let lostOnce = false;
  let retryMs = 500;
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));

  const connect = async () => {
    if (closed) return;
    const { Client } = (await import('pg')).default;
    const next = new Client({ connectionString: url });
    next.on('notification', (notification) => notification.payload && hub.receive(notification.payload));
    next.on('error', (error) => {
      onError?.(error);
      void reconnect(next);
    });
    next.on('end', () => void reconnect(next));
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
      client = next;
      retryMs = 500;
      resolveReady();
      if (lostOnce) hub.resync();
    } catch (error) {
      onError?.(error as Error);
      await next.end().catch(() => undefined);
      lostOnce = true;
      setTimeout(() => void connect(), retryMs).unref();
      retryMs = Math.min(retryMs * 2, 10_000);
    }
  };
  const reconnect = async (lost: pg.Client) => {
    if (client !== lost || closed) return;
    client = null;
    lostOnce = true;
    await lost.end().catch(() => undefined);
    setTimeout(() => void connect(), retryMs).unref();
  };
  void connect();

  return {
    transport: 'postgres',
    async publish(topic, message = '') {
      hub.emit(topic, message);
      // A short-lived process (the CLI) may publish before its first connection is up: wait a little for it.
      if (!client) await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      // Without a connection the others learn it from their periodic refresh.
      await client?.query('SELECT pg_notify($1, $2)', [CHANNEL, hub.envelope(topic, message)]).catch((error: Error) => onError?.(error));
    },
    subscribe: (topic, listener) => hub.subscribe(topic, listener),
    ready: () => ready,
    async close() {
      closed = true;
      const current = client;
      client = null;
      await current?.end().catch(() => undefined);
    },
  };
}

function redisSignals(url: string, keyPrefix: string, onError?: (error: Error) => void): ClusterSignals {
  const hub = localHub();
  const channel = `${keyPrefix}${CHANNEL}`;
  const publisher = connectRedis(url, { maxRetriesPerRequest: 3 });
  const subscriber = connectRedis(url, { maxRetriesPerRequest: null });
  let lostOnce = false;
  publisher.on('error', (error) => onError?.(error));
  subscriber.on('error', (error) => onError?.(error));
  subscriber.on('end', () => (lostOnce = true));
  subscriber.on('reconnecting', () => (lostOnce = true));
  // ioredis re-subscribes on its own after a reconnect; what was published meanwhile is lost.
  subscriber.on('ready', () => lostOnce && hub.resync());
  subscriber.on('message', (_channel: string, text: string) => hub.receive(text));
  const subscribed = subscriber.subscribe(channel).then(() => undefined);
  subscribed.catch((error: Error) => onError?.(error));
  return {
    transport: 'redis',
    async publish(topic, message = '') {
      hub.emit(topic, message);
      await publisher.publish(channel, hub.envelope(topic, message)).catch((error: Error) => onError?.(error));
    },
    subscribe: (topic, listener) => hub.subscribe(topic, listener),
    ready: () => subscribed,
    async close() {
      await Promise.allSettled([publisher.quit(), subscriber.quit()]);
    },
  };
}
