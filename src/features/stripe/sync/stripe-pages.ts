import type Stripe from 'stripe';
import type { ObjectTypeSpec } from '../mirror/object-types.js';

/**
 * One page of a list, complete: subscriptions carry only their first items inline, so the rest
 * are fetched and the mirror gets them all.
 */
export async function listPage(stripe: Stripe, spec: ObjectTypeSpec, { pageSize, cursor }: { pageSize: number; cursor: string | null }) {
  const page = await spec.list(stripe, { limit: pageSize, ...(cursor ? { starting_after: cursor } : {}) });
  if (spec.type === 'subscriptions') await completeSubscriptionItems(stripe, page.data as unknown as Stripe.Subscription[], pageSize);
  return page;
}

/** Fetches the items Stripe left out of each subscription's inline list (`has_more`), in place. */
export async function completeSubscriptionItems(stripe: Stripe, subscriptions: Stripe.Subscription[], pageSize: number) {
  for (const subscription of subscriptions) {
    const items = subscription.items as Stripe.ApiList<Stripe.SubscriptionItem> | undefined;
    if (!items?.has_more) continue;
    const all = [...items.data];
    const rest = stripe.subscriptionItems.list({ subscription: subscription.id, limit: pageSize, starting_after: all.at(-1)?.id });
    for await (const item of rest) all.push(item);
    subscription.items = { ...items, data: all, has_more: false };
  }
}

/** Rejects as soon as `signal` aborts; the request itself finishes in the background and is ignored. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined); // its outcome no longer matters, and must not surface as unhandled
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // Rethrown as it came: a Stripe error keeps its status and headers for the retry policy.
        reject(error instanceof Error ? error : new Error('the Stripe request failed'));
      },
    );
  });
}
