/**
 * One collection of one account and mode. Seeded objects are generated from their position on
 * demand (100,000 cost nothing until listed); objects created, changed or deleted by a test are
 * kept as an overlay. Positions are in `created` order, oldest first, so lists page by position.
 */
import { ALPHANUM, randomAlnum, type StripeObject } from './http.js';
import type { BuildContext, CollectionName } from './objects/context.js';
import { COLLECTIONS, REMOVED_FIELDS } from './objects/index.js';

export type SeedFactory = (index: number, base: StripeObject) => Record<string, unknown>;

/** What a collection needs from its account: the other collections, the clock, and how objects are sent. */
export interface CollectionHost {
  livemode: boolean;
  /** When the fake started: generated periods and expiries are relative to it. */
  startedAt: number;
  /** `created` of the first seeded object (30 days before the fake started). */
  epoch: number;
  collection(name: CollectionName): SeedCollection;
  /** The object as Stripe sends it (inline lists cut at 10, derived fields filled in). */
  present(name: CollectionName, raw: StripeObject): StripeObject;
}

const INDEX_DIGITS = 8;
const encodeIndex = (i: number) => {
  let s = '';
  for (let n = i; n > 0; n = Math.floor(n / 62)) s = ALPHANUM[n % 62] + s;
  return s.padStart(INDEX_DIGITS, ALPHANUM[0]);
};
const decodeIndex = (s: string) => [...s].reduce((n, c) => (n < 0 || !ALPHANUM.includes(c) ? -1 : n * 62 + ALPHANUM.indexOf(c)), 0);

/** Refuses fields the pinned API version no longer has (`invoice.subscription`...), naming where they went. */
export function checkFields(kind: string, fields: Record<string, unknown>): void {
  const removed = REMOVED_FIELDS[kind] ?? {};
  for (const field of Object.keys(fields)) {
    if (Object.hasOwn(removed, field)) {
      throw new Error(`fake stripe: ${kind} have no '${field}' at API version 2026-10-28.endive; use ${removed[field]}`);
    }
  }
}

interface Segment {
  start: number;
  count: number;
  createdBase: number;
  factory?: SeedFactory;
}

export class SeedCollection {
  readonly noun: string;
  count = 0;
  /** Bumped on every change: caches derived from this collection (charge refunds) key on it. */
  version = 0;
  private readonly tag = randomAlnum(6);
  private readonly filler: string;
  private readonly head: string;
  private readonly segments: Segment[] = [];
  /** Objects created by tests, and seeded objects changed since: the rest are generated. */
  private readonly stored = new Map<number, StripeObject>();
  private readonly createdIds = new Map<string, number>();
  private readonly removed = new Set<number>();

  constructor(
    readonly name: CollectionName,
    private readonly host: CollectionHost,
  ) {
    const spec = COLLECTIONS[name];
    this.noun = spec.object;
    this.head = `${spec.prefix ? `${spec.prefix}_` : ''}${spec.modePrefix ? (host.livemode ? 'live_' : 'test_') : ''}${this.tag}`;
    this.filler = 'f'.repeat(Math.max(0, spec.idLength - 6 - INDEX_DIGITS));
  }

  /** Appends `count` generated objects, one second apart, after the existing ones. */
  add(count: number, factory?: SeedFactory) {
    const start = this.count;
    const createdBase = Math.max(this.host.epoch + start, start > 0 ? this.createdAt(start - 1) : -Infinity);
    this.segments.push({ start, count, createdBase, factory });
    this.count += count;
    this.version++;
  }

  idAt = (index: number): string => {
    const stored = this.stored.get(index);
    if (stored) return stored.id;
    return `${this.head}${encodeIndex(index)}${this.filler}`;
  };

  createdAt = (index: number): number => {
    const stored = this.stored.get(index);
    if (stored) return stored.created;
    const segment = this.segmentOf(index);
    return segment ? segment.createdBase + (index - segment.start) : this.host.epoch + index;
  };

  indexOf(id: string): number {
    const created = this.createdIds.get(id);
    if (created !== undefined) return created;
    const length = this.head.length + INDEX_DIGITS + this.filler.length;
    if (!id.startsWith(this.head) || !id.endsWith(this.filler) || id.length !== length) return -1;
    const index = decodeIndex(id.slice(this.head.length, this.head.length + INDEX_DIGITS));
    return index >= 0 && index < this.count && this.segmentOf(index) ? index : -1;
  }

  /** The object at `index` as Stripe sends it (also after it was deleted: its last state). */
  at(index: number): StripeObject {
    const raw = this.raw(index);
    // Stored objects are copied out: a test changing what it got must not change the fake's data.
    return this.host.present(this.name, this.stored.has(index) ? structuredClone(raw) : raw);
  }

  /** The object at `index` as sent, or undefined when it was deleted. */
  live(index: number): StripeObject | undefined {
    return this.removed.has(index) ? undefined : this.at(index);
  }

  isRemoved(index: number): boolean {
    return this.removed.has(index);
  }

  /** The object as stored: child lists complete (`items`, `lines`), nothing derived. */
  raw(index: number): StripeObject {
    const stored = this.stored.get(index);
    if (stored) return stored;
    const segment = this.segmentOf(index);
    const fixed = { id: this.idAt(index), object: this.noun, created: this.createdAt(index) };
    const base = this.generate(index, fixed.id, fixed.created);
    if (!segment?.factory) return base;
    const overrides = segment.factory(index, base);
    checkFields(this.name, overrides);
    return { ...base, ...overrides, ...fixed, ...('livemode' in base ? { livemode: base.livemode } : {}) };
  }

  /** Generates the object a position would hold (also for an empty collection: what `ref` points at). */
  generate(index: number, id = this.idAt(index), created = this.host.epoch + index): StripeObject {
    const ctx: BuildContext = {
      index,
      id,
      created,
      livemode: this.host.livemode,
      now: this.host.startedAt,
      ref: this.ref,
      object: this.object,
    };
    return COLLECTIONS[this.name].build(ctx) as StripeObject;
  }

  // Made once: a closure made per generated object cost the fake a third of its time (tsx names each one).
  private readonly ref: BuildContext['ref'] = (other, i) => this.host.collection(other).refAt(i);
  private readonly object: BuildContext['object'] = <T>(other: CollectionName, i: number) => this.host.collection(other).objectAt(i) as T;

  /** The id of a related object: position `index` modulo the collection's size. */
  refAt(index: number): string {
    return this.count > 0 ? this.idAt(index % this.count) : this.idAt(index);
  }

  objectAt(index: number): StripeObject {
    return this.count > 0 ? this.raw(index % this.count) : this.generate(index);
  }

  /** Stores a new object at the end; its `created` may not be older than the newest one's. */
  append(build: (id: string, index: number) => StripeObject): StripeObject {
    const index = this.count;
    const spec = COLLECTIONS[this.name];
    const id =
      `${spec.prefix ? `${spec.prefix}_` : ''}${spec.modePrefix ? (this.host.livemode ? 'live_' : 'test_') : ''}` +
      (spec.prefix ? randomAlnum(spec.idLength) : randomAlnum(spec.idLength).toUpperCase());
    const object = build(id, index);
    if (index > 0 && object.created < this.createdAt(index - 1)) {
      const newest = this.createdAt(index - 1);
      throw new Error(`fake stripe: a new ${this.noun} cannot be older (${object.created}) than the newest one (${newest})`);
    }
    this.stored.set(index, object);
    this.createdIds.set(object.id, index);
    this.segments.push({ start: index, count: 1, createdBase: object.created });
    this.count++;
    this.version++;
    return object;
  }

  /** Replaces the stored state of the object at `index`. */
  replace(index: number, object: StripeObject): void {
    this.stored.set(index, object);
    this.version++;
  }

  remove(index: number): void {
    this.removed.add(index);
    this.version++;
  }

  private segmentOf(index: number): Segment | undefined {
    let [lo, hi] = [0, this.segments.length - 1];
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const segment = this.segments[mid]!;
      if (index < segment.start) hi = mid - 1;
      else if (index >= segment.start + segment.count) lo = mid + 1;
      else return segment;
    }
    return undefined;
  }
}
