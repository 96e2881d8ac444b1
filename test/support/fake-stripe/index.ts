/**
 * The fake Stripe of the test suites: an HTTP server speaking Stripe's v1 API at the pinned API
 * version (2026-10-28.endive), with generated data typed against the `stripe` package.
 *
 *   const fake = await startFakeStripe();                 // STRIPE_API_BASE = fake.url
 *   const account = fake.addAccount(); const key = fake.addKey(account.id);
 *   fake.seed(account.id, 'test', 'customers', 1000);     // lazily generated, created 30 days ago on
 *   const data = fake.store(account.id, 'test');          // create/update/delete/transition/emit, events
 *   fake.failNext(1, { status: 429, retryAfter: 2 });     // or rateLimitNext(1, { status: 400 })
 *   fake.onRequest({ path: /customers/ }, hook);          // change data between pages; holdNext() holds one
 *   fake.setClock(t);                                     // changes (and their events) share second t
 *   await fake.deliver(event, { url, secret, fetch });    // POST signed like Stripe
 */
export {
  FakeStripe,
  startFakeStripe,
  type AddAccountOptions,
  type AddKeyOptions,
  type FakeAccount,
  type FakeStripeOptions,
} from './server.js';
export { AccountStore, type ChangeOptions, type CreateOptions, type TransitionName } from './store.js';
export { SeedCollection, type SeedFactory } from './collection.js';
export { EVENT_API_VERSION, EVENT_RETENTION_SECONDS, type EventType, type FakeEvent } from './events.js';
export type { DelayOptions, FailOptions, Hold, LoggedRequest, RequestMatch } from './injection.js';
export type { KeyKind, KeyPermissions, Mode, StripeObject } from './http.js';
export { INLINE_LIMIT, inlineList, type ApiList } from './lists.js';
export type { CollectionName as FakeCollectionName } from './objects/context.js';
/** Every collection the fake serves; Coffer mirrors each of them. */
export type { CollectionName } from './objects/context.js';
export { COLLECTION_NAMES, COLLECTIONS, REMOVED_FIELDS } from './objects/index.js';
export { generatedItem, generatedItems } from './objects/billing.js';
export { lineId, subscriptionLine, subscriptionOf, subscriptionParent } from './objects/invoices.js';
export type { Delivery, DeliveryOptions, Fetch, WebhookEndpoint } from './webhooks.js';
