/**
 * HTTP-level helpers of the fake Stripe: form decoding, param validation and Stripe's error shape,
 * keys, and webhook signatures.
 */
import { createHmac, randomInt } from 'node:crypto';
import { isIP } from 'node:net';

export type Mode = 'test' | 'live';
export type KeyKind = 'secret' | 'restricted' | 'publishable';
/** 'read' is an extension: GETs allowed, writes refused with 403. */
/**
 * What a restricted key may do: everything, read everything, nothing, or read only the listed
 * collections (any other collection answers 403, the account and other resources stay readable).
 */
export type KeyPermissions = 'all' | 'read' | 'none' | { read: readonly string[] };
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };
/** An object of the API as JSON. Most have `livemode`; refunds, balance transactions and items do not. */
export type StripeObject = { id: string; object: string; created: number; livemode?: boolean; [key: string]: unknown };
export interface StripeErrorBody {
  type: string;
  message: string;
  code?: string;
  param?: string;
  doc_url?: string;
}

/** Thrown by handlers; the server turns it into `{ error }` with `status`. */
export class StripeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.message);
  }
}

export const invalidRequest = (message: string, extra: { param?: string; code?: string; doc_url?: string } = {}, status = 400) =>
  new StripeHttpError(status, { type: 'invalid_request_error', message, ...extra });

/** Stripe answers an unknown (or deleted) id with 404, but an unknown list cursor with 400. */
export const notFound = (noun: string, id: string, param = 'id') =>
  invalidRequest(
    `No such ${noun}: '${id}'`,
    { code: 'resource_missing', param, doc_url: 'https://stripe.com/docs/error-codes/resource-missing' },
    param === 'id' ? 404 : 400,
  );

export const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const randomAlnum = (n: number) => Array.from({ length: n }, () => ALPHANUM[randomInt(ALPHANUM.length)]).join('');

const KEY_PREFIX = { secret: 'sk', restricted: 'rk', publishable: 'pk' } as const;
export const makeKey = (kind: KeyKind, mode: Mode) => `${KEY_PREFIX[kind]}_${mode}_51${randomAlnum(30)}`;

/** Masks a key the way Stripe echoes it: its prefix, stars, and the last `visible` characters. */
export function maskKey(key: string, visible = 4): string {
  const prefix = /^(?:sk|rk|pk)_(?:test|live)_/.exec(key)?.[0] ?? '';
  const tail = key.length - prefix.length > visible * 3 ? key.slice(-visible) : '';
  return `${prefix}${'*'.repeat(Math.max(4, key.length - prefix.length - tail.length))}${tail}`;
}

export const signPayload = (payload: string, secret: string, timestamp: number) =>
  `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex')}`;

// ---------------------------------------------------------------------------------------------
// Form decoding: `a=1&list[]=x&list[1]=y&metadata[k]=v` (the SDK sends indexed arrays).

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const INDEX = /^\d*$/;

export function parseForm(encoded: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(encoded)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    const segments = m ? [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((s) => s[1]!)] : [rawKey];
    assign(root, segments, value);
  }
  return compact(root) as FormObject;
}

function assign(root: FormObject, segments: string[], value: string): void {
  let node: FormObject | FormValue[] = root;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (UNSAFE_KEYS.has(seg)) return;
    const last = i === segments.length - 1;
    const fresh = (): FormValue => (last ? value : INDEX.test(segments[i + 1]!) ? [] : {});
    if (Array.isArray(node)) {
      if (!INDEX.test(seg)) return;
      const idx = seg === '' ? node.length : Number(seg);
      const existing: FormValue | undefined = node[idx];
      if (last || existing === undefined || typeof existing === 'string') node[idx] = fresh();
      if (last) return;
      node = node[idx] as FormObject | FormValue[];
    } else {
      const existing = Object.hasOwn(node, seg) ? node[seg] : undefined;
      if (last || existing === undefined || typeof existing === 'string') node[seg] = fresh();
      if (last) return;
      node = node[seg] as FormObject | FormValue[];
    }
  }
}

function compact(value: FormValue): FormValue {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(compact);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compact(v)]));
}

// ---------------------------------------------------------------------------------------------
// Param validation helpers, with Stripe's wording.

export function rejectUnknownParams(params: FormObject, allowed: readonly string[]): void {
  const unknown = Object.keys(params).find((k) => !allowed.includes(k));
  if (unknown) throw invalidRequest(`Received unknown parameter: ${unknown}`, { param: unknown });
}

export function stringParam(params: FormObject, name: string): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidRequest(`Invalid string: ${JSON.stringify(v)}`, { param: name });
  return v;
}

export function booleanParam(params: FormObject, name: string): boolean | undefined {
  const v = stringParam(params, name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw invalidRequest(`Invalid boolean: ${v}`, { param: name });
  return v === 'true';
}

export function stringArrayParam(params: FormObject, name: string): string[] | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw invalidRequest('Invalid array', { param: name });
  return v.map((item, i) => {
    if (typeof item !== 'string') throw invalidRequest(`Invalid string: ${JSON.stringify(item)}`, { param: `${name}[${i}]` });
    return item;
  });
}

/** Applies a `metadata` param onto `current`: '' unsets a key, `metadata=` clears all. */
export function applyMetadata(current: Record<string, string>, raw: FormValue | undefined): Record<string, string> {
  if (raw === undefined) return current;
  if (raw === '') return {};
  if (typeof raw === 'string') throw invalidRequest('Invalid object', { param: 'metadata' });
  const next = { ...current };
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw invalidRequest('Invalid string: metadata values must be strings', { param: `metadata[${k}]` });
    if (k.length > 40) throw invalidRequest('Metadata keys can have a maximum length of 40 characters.', { param: `metadata[${k}]` });
    if (v.length > 500) throw invalidRequest('Metadata values can have a maximum length of 500 characters.', { param: `metadata[${k}]` });
    if (v === '') delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > 50) throw invalidRequest('You can have at most 50 metadata keys.', { param: 'metadata' });
  return next;
}

export const API_VERSION_PATTERN = /^\d{4}-\d{2}-\d{2}(?:\.[a-z]+)?$/;

/** Stripe refuses webhook URLs it cannot reach from the internet; `null` when the URL is fine. */
export function webhookUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `Invalid URL: ${raw}. An explicit scheme (such as https) must be provided.`;
  }
  if (url.protocol !== 'https:') return `Invalid URL: ${raw}. Webhook URLs must use the https scheme.`;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const privateV4 = isIP(host) === 4 && /^(?:127\.|10\.|0\.|169\.254\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.)/.test(host);
  const privateV6 = isIP(host) === 6 && /^(?:::1?|f[cd]|fe80:|::ffff:(?:127|10)\.)/.test(host);
  if (host === 'localhost' || host.endsWith('.localhost') || privateV4 || privateV6) {
    return (
      'Invalid URL: URL must be publicly accessible. Consider using a tool like the Stripe CLI to test webhooks locally: ' +
      'https://github.com/stripe/stripe-cli'
    );
  }
  return null;
}
