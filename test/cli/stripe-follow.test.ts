import { describe, expect, it } from 'vitest';
import { CofferClientError, type CofferClient, type StripeSyncEvent } from '../../src/client/index.js';
import { ProgressFollower } from '../../src/cli/stripe/follow.js';
import type { ProgressView } from '../../src/cli/stripe/progress-view.js';

/**
 * The follower's reconciliation, which a real server rarely shows on cue: a subscription that
 * starts late, delivers twice, skips events, or fails outright. (test/cli/stripe-sync.test.ts
 * covers the commands end to end.) The client is a stand-in holding the run's stored events.
 */

const RUN = 'run-1';
const event = (sequence: number, kind = 'PAGE', runId = RUN): StripeSyncEvent => ({
  runId,
  sequence,
  kind: kind as StripeSyncEvent['kind'],
  runStatus: kind === 'RUN_FINISHED' ? 'SUCCEEDED' : 'RUNNING',
  objectType: 'CUSTOMERS',
  objectStatus: null,
  pages: sequence,
  objects: sequence,
  runObjects: sequence,
  total: null,
  retries: 0,
  message: null,
  at: new Date(0).toISOString(),
});

function standIn() {
  const stored: StripeSyncEvent[] = [];
  const reads: number[] = [];
  let push: (event: StripeSyncEvent) => void = () => {};
  let fail: (error: CofferClientError) => void = () => {};
  const client = {
    subscribe: (_document: unknown, _variables: unknown, onData: (data: unknown) => void, onError: (error: CofferClientError) => void) => {
      push = (next) => onData({ stripeSyncProgress: next });
      fail = onError;
      return () => {};
    },
    request: (_document: unknown, variables: { afterSequence: number }) => {
      reads.push(variables.afterSequence);
      const events = stored.filter((each) => each.sequence > variables.afterSequence);
      const finished = stored.some((each) => each.kind === 'RUN_FINISHED');
      return Promise.resolve({ stripeSyncRun: { id: RUN, status: finished ? 'SUCCEEDED' : 'RUNNING', events } });
    },
  } as unknown as CofferClient;
  /** Stored, then published: the server's order. */
  const publish = (next: StripeSyncEvent, { live = true } = {}) => {
    stored.push(next);
    if (live) push(next);
  };
  return { client, stored, reads, publish, fail: (error: CofferClientError) => fail(error) };
}

const recorder = () => {
  const shown: number[] = [];
  const view: ProgressView = { event: (next) => shown.push(next.sequence), note: () => {}, stop: () => {} };
  return { shown, view };
};

describe('ProgressFollower', () => {
  it('shows stored events first, then live ones, each once and in order; a gap is read back from the run', async () => {
    const server = standIn();
    const follower = new ProgressFollower(server.client, 'p', 'TEST', 5_000);
    const { shown, view } = recorder();
    // Before the follower reads anything: stored, never published to this subscriber.
    server.publish(event(1, 'RUN_QUEUED'), { live: false });
    server.publish(event(2, 'RUN_STARTED'), { live: false });
    const following = follower.follow(RUN, view);
    await new Promise((resolve) => setTimeout(resolve, 20));
    server.publish(event(2, 'RUN_STARTED')); // a replay: already shown
    server.publish(event(3));
    server.publish(event(4), { live: false }); // lost between replicas
    server.publish(event(5));
    server.publish(event(1, 'RUN_QUEUED', 'another-run'));
    server.publish(event(6, 'RUN_FINISHED'));
    await following;
    follower.close();
    expect(shown).toEqual([1, 2, 3, 4, 5, 6]);
    // One read at the start, one for the gap before 5; none while the stream kept up.
    expect(server.reads).toEqual([0, 3]);
  });

  it('without a stream (refused, or lost for good) it reads the stored events until the run has ended', async () => {
    const server = standIn();
    const follower = new ProgressFollower(server.client, 'p', 'TEST', 40);
    const { shown, view } = recorder();
    server.publish(event(1, 'RUN_QUEUED'), { live: false });
    const following = follower.follow(RUN, view);
    server.fail(new CofferClientError('NETWORK_ERROR', 'the subscription connection failed'));
    await new Promise((resolve) => setTimeout(resolve, 60));
    server.publish(event(2), { live: false });
    server.publish(event(3, 'RUN_FINISHED'), { live: false });
    await following;
    follower.close();
    expect(shown).toEqual([1, 2, 3]);
    expect(follower.streamError).toMatchObject({ code: 'NETWORK_ERROR' });
  });

  it('ends at once for a run that has ended, showing its events', async () => {
    const server = standIn();
    const follower = new ProgressFollower(server.client, 'p', 'TEST', 60_000);
    const { shown, view } = recorder();
    for (const [sequence, kind] of [
      [1, 'RUN_QUEUED'],
      [2, 'CANCEL_REQUESTED'],
      [3, 'RUN_FINISHED'],
    ] as const)
      server.publish(event(sequence, kind), { live: false });
    await follower.follow(RUN, view);
    follower.close();
    expect(shown).toEqual([1, 2, 3]);
    expect(server.reads).toEqual([0]);
  });
});
