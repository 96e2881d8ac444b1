import { randomBytes, randomInt } from 'node:crypto';
import { constantTimeEqual, hmacSha256 } from '../crypto/hmac.js';

const LOOKUP_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const API_KEY_PATTERN = /^cof_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/**
 * `cof_<lookupId>_<secret>`: the readable prefix lets people (and secret scanners) recognise a
 * Coffer key; the lookup id finds the row without an index on anything secret.
 */
export function generateApiKey(): { key: string; lookupId: string } {
  let lookupId = '';
  for (let i = 0; i < 12; i += 1) lookupId += LOOKUP_ALPHABET[randomInt(LOOKUP_ALPHABET.length)];
  return { key: `cof_${lookupId}_${randomBytes(32).toString('base64url')}`, lookupId };
}

export function parseApiKey(candidate: string): { lookupId: string } | null {
  const match = API_KEY_PATTERN.exec(candidate);
  return match ? { lookupId: match[1] as string } : null;
}

export const looksLikeApiKey = (candidate: string): boolean => candidate.startsWith('cof_');

export const hashApiKey = (hmacKey: Buffer, key: string): Uint8Array<ArrayBuffer> => new Uint8Array(hmacSha256(hmacKey, key));

export const apiKeyMatches = (hmacKey: Buffer, key: string, storedHash: Uint8Array): boolean =>
  constantTimeEqual(Buffer.from(hashApiKey(hmacKey, key)), Buffer.from(storedHash));
