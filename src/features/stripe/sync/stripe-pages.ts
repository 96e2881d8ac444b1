import type Stripe from 'stripe';
import type { ObjectTypeSpec } from '../mirror/object-types.js';

/**
 * One page of a list, complete: inline lists Stripe cuts at 10 (subscription items, invoice and
 * credit note lines, a charge's refunds) are completed so the mirror gets them all.
 */
export async function listPage(stripe: Stripe, spec: ObjectTypeSpec, { pageSize, cursor }: { pageSize: number; cursor: string | null }) {
  const page = await spec.list(stripe, { limit: pageSize, ...(cursor ? { starting_after: cursor } : {}) });
  await completeInlineLists(stripe, spec, page.data, pageSize);
  return page;
}

/** Fetches what Stripe left out of each object's truncated inline lists (`has_more`), in place. */
export async function completeInlineLists(stripe: Stripe, spec: ObjectTypeSpec, objects: ReadonlyArray<{ id: string }>, pageSize: number) {
  for (const inline of spec.inlineLists ?? []) {
    for (const object of objects as Array<Record<string, unknown> & { id: string }>) {
      const list = object[inline.field] as { data: Array<{ id: string }>; has_more?: boolean } | null | undefined;
      if (!list?.has_more) continue;
      const all = [...list.data];
      const lastId = all.at(-1)?.id;
      for await (const entry of inline.rest(stripe, object.id, { limit: pageSize, ...(lastId ? { starting_after: lastId } : {}) }))
        all.push(entry);
      object[inline.field] = { ...list, data: all, has_more: false };
    }
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
