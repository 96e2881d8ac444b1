import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/events/event-bus.js';
import { projectEventsTopic } from '../../src/features/projects/projects.service.js';

const TEST_REDIS_URL = process.env.TEST_REDIS_URL;

/** With REDIS_URL, an event published by one replica reaches subscribers on another. */
describe.skipIf(!TEST_REDIS_URL)('events through Redis (TEST_REDIS_URL)', () => {
  it('delivers an event published on one bus to a subscriber on another, dates intact', async () => {
    const replicaA = createEventBus(TEST_REDIS_URL);
    const replicaB = createEventBus(TEST_REDIS_URL);
    try {
      const projectId = randomUUID();
      const stream = projectEventsTopic.subscribe(replicaA, projectId)[Symbol.asyncIterator]();
      const received = stream.next();
      // Redis SUBSCRIBE is asynchronous: publish until the subscriber is attached.
      const at = new Date('2026-11-23T10:00:00.000Z');
      let delivered = false;
      void received.then(() => (delivered = true));
      for (let attempt = 0; attempt < 50 && !delivered; attempt += 1) {
        projectEventsTopic.publish(replicaB, projectId, { projectId, kind: 'UPDATED', at });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const { value } = await received;
      expect(value).toEqual({ projectId, kind: 'UPDATED', at });
      expect(value.at).toBeInstanceOf(Date);
      await stream.return?.();
    } finally {
      await replicaA.close();
      await replicaB.close();
    }
  });

  it("never delivers another deployment's events (REDIS_KEY_PREFIX)", async () => {
    const subscriberSide = createEventBus(TEST_REDIS_URL, 'coffer-test-mine:');
    const sameDeployment = createEventBus(TEST_REDIS_URL, 'coffer-test-mine:');
    const otherDeployment = createEventBus(TEST_REDIS_URL, 'coffer-test-other:');
    try {
      const projectId = randomUUID();
      const stream = projectEventsTopic.subscribe(subscriberSide, projectId)[Symbol.asyncIterator]();
      const received = stream.next();
      await projectEventsTopic.subscribed(subscriberSide, projectId);
      const at = new Date();
      // The other deployment publishes first, every time: were channels shared, its event would arrive first.
      let delivered = false;
      void received.then(() => (delivered = true));
      for (let attempt = 0; attempt < 50 && !delivered; attempt += 1) {
        projectEventsTopic.publish(otherDeployment, projectId, { projectId, kind: 'DELETED', at });
        await new Promise((resolve) => setTimeout(resolve, 20));
        projectEventsTopic.publish(sameDeployment, projectId, { projectId, kind: 'UPDATED', at });
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      expect((await received).value).toMatchObject({ kind: 'UPDATED' });
      await stream.return?.();
    } finally {
      await Promise.all([subscriberSide.close(), sameDeployment.close(), otherDeployment.close()]);
    }
  });
});
