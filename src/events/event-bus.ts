import { setMaxListeners } from 'node:events';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from 'graphql-yoga';
import { connectRedis } from './redis-client.js';

/**
 * Events published inside one process, or across replicas through Redis when REDIS_URL is set:
 * what subscriptions stream to clients. The bus knows no feature; each feature declares its own
 * topics with `defineTopic`, typed by what it publishes.
 */
export interface EventBus {
  publish(topic: string, id: string, payload: unknown): void;
  subscribe(topic: string, id: string): AsyncIterable<unknown>;
  /**
   * Resolves once events of `topic` (with `id`) published from now on reach this process. Call it
   * after starting a subscription's iterator: through Redis, SUBSCRIBE is confirmed asynchronously.
   */
  subscribed(topic: string, id: string): Promise<void>;
  close(): Promise<void>;
}

type Topics = Record<string, [id: string, payload: unknown]>;

export function createEventBus(redisUrl?: string, keyPrefix = 'coffer:'): EventBus {
  if (!redisUrl) {
    // One listener per subscriber: Node's default warning at 11 listeners would be noise here.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    const pubsub = createPubSub<Topics>({ eventTarget });
    return {
      publish: (topic, id, payload) => pubsub.publish(topic, id, payload),
      subscribe: (topic, id) => pubsub.subscribe(topic, id),
      subscribed: async () => undefined,
      close: async () => undefined,
    };
  }
  const publishClient = connectRedis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const subscribeClient = connectRedis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const pubsub = createPubSub<Topics>({ eventTarget: createRedisEventTarget({ publishClient, subscribeClient }) });
  // Channels carry the deployment's prefix: another deployment on this Redis publishes elsewhere.
  const channel = (topic: string) => `${keyPrefix}events:${topic}`;
  return {
    publish: (topic, id, payload) => pubsub.publish(channel(topic), id, payload),
    subscribe: (topic, id) => pubsub.subscribe(channel(topic), id),
    async subscribed(topic, id) {
      // Redis answers commands in order: when this SUBSCRIBE is confirmed, so is the listener's.
      await subscribeClient.subscribe(`${channel(topic)}:${id}`);
    },
    async close() {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}

export interface Topic<Payload> {
  readonly name: string;
  publish(bus: EventBus, id: string, payload: Payload): void;
  subscribe(bus: EventBus, id: string): AsyncIterable<Payload>;
  subscribed(bus: EventBus, id: string): Promise<void>;
}

/**
 * A typed topic. `revive` turns what arrives back into the payload type: through Redis, payloads
 * are JSON, so their dates arrive as strings.
 */
export function defineTopic<Payload>(name: string, revive: (raw: unknown) => Payload = (raw) => raw as Payload): Topic<Payload> {
  return {
    name,
    publish: (bus, id, payload) => bus.publish(name, id, payload),
    // Not an async generator: its return() would wait for the next event; this one ends a waiting next() at once.
    subscribe: (bus, id) => ({
      [Symbol.asyncIterator]() {
        const inner = bus.subscribe(name, id)[Symbol.asyncIterator]();
        return {
          next: async () => {
            const result = await inner.next();
            return result.done ? { done: true, value: undefined } : { done: false, value: revive(result.value) };
          },
          return: async () => {
            await inner.return?.();
            return { done: true, value: undefined };
          },
        };
      },
    }),
    subscribed: (bus, id) => bus.subscribed(name, id),
  };
}

/** A reviver for payloads whose `at` is a Date. */
export const withDateAt = <Payload extends { at: Date }>(raw: unknown): Payload => {
  const payload = raw as Payload & { at: Date | string };
  return payload.at instanceof Date ? payload : { ...payload, at: new Date(payload.at) };
};
