import { setMaxListeners } from 'node:events';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { SyncProgressEvent } from '../features/stripe-sync/progress.js';

export interface ProjectEvent {
  projectId: string;
  kind: 'UPDATED' | 'DELETED';
  at: Date;
}

/** Topics published inside one process, or across replicas through Redis when REDIS_URL is set. */
export type EventTopics = {
  'project-events': [projectId: string, event: ProjectEvent];
  /** Keyed by `<projectId>:<environment>`. */
  'stripe-sync': [projectEnvironment: string, event: SyncProgressEvent];
};

export type EventBus = ReturnType<typeof createPubSub<EventTopics>> & {
  /**
   * Resolves once events of `topic` (with `id`) published from now on reach this process. Call it
   * after starting a subscription's iterator: through Redis, SUBSCRIBE is confirmed asynchronously.
   */
  subscribed(topic: keyof EventTopics, id: string): Promise<void>;
  close(): Promise<void>;
};

export function createEventBus(redisUrl?: string): EventBus {
  if (!redisUrl) {
    // One listener per subscriber: Node's default warning at 11 listeners would be noise here.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return Object.assign(createPubSub<EventTopics>({ eventTarget }), { subscribed: async () => undefined, close: async () => undefined });
  }
  const publishClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const subscribeClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const pubsub = createPubSub<EventTopics>({
    eventTarget: createRedisEventTarget({
      publishClient,
      subscribeClient,
      // Dates must survive the JSON round trip through Redis.
      serializer: {
        stringify: (value) => JSON.stringify(value),
        parse: (text) => JSON.parse(text, (key, value) => (key === 'at' && typeof value === 'string' ? new Date(value) : value)),
      },
    }),
  });
  return Object.assign(pubsub, {
    async subscribed(topic: keyof EventTopics, id: string) {
      // Redis answers commands in order: when this SUBSCRIBE is confirmed, so is the listener's.
      await subscribeClient.subscribe(`${topic}:${id}`);
    },
    async close() {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  });
}
