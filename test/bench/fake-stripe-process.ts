/**
 * The fake Stripe in a child process of its own, for the sync benchmarks: its CPU and memory are
 * then not Coffer's. Driven over IPC by `startFakeStripeProcess` (stripe-sync.ts).
 */
import { startFakeStripe, type CollectionName } from '../support/fake-stripe.js';

export type FakeCommand =
  | { op: 'account'; name: string }
  | { op: 'key'; accountId: string }
  | { op: 'seed'; accountId: string; collection: CollectionName; count: number }
  | { op: 'requests' }
  /** Every later request answered `ms` later (0: no added latency). */
  | { op: 'latency'; ms: number };

const fake = await startFakeStripe();

process.on('message', (message: { id: number; command: FakeCommand }) => {
  const { id, command } = message;
  try {
    const result =
      command.op === 'account'
        ? fake.addAccount({ name: command.name }).id
        : command.op === 'key'
          ? fake.addKey(command.accountId, { mode: 'test' })
          : command.op === 'seed'
            ? fake.seed(command.accountId, 'test', command.collection, command.count).count
            : command.op === 'latency'
              ? (fake.clearDelays(), command.ms > 0 && fake.delayNext(Number.MAX_SAFE_INTEGER, command.ms), command.ms)
              : fake.requests.splice(0).length; // the log would grow with every request otherwise
    process.send!({ id, result });
  } catch (error) {
    process.send!({ id, error: (error as Error).message });
  }
});
process.on('disconnect', () => void fake.close().then(() => process.exit(0)));
process.send!({ id: 0, result: fake.url });
