import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hmacSha256 } from '../../src/crypto/index.js';

/** API keys are stored as HMACs and compared in constant time; these are the primitives. */

describe('hmacSha256', () => {
  it('matches RFC 4231 test case 2 (so stored API key digests are standard HMAC-SHA-256)', () => {
    const digest = hmacSha256(Buffer.from('Jefe'), 'what do ya want for nothing?');
    expect(digest.toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('depends on the key: the same API key under another server key gives another digest', () => {
    expect(hmacSha256(randomBytes(32), 'cof_abc').equals(hmacSha256(randomBytes(32), 'cof_abc'))).toBe(false);
  });

  it('hashes the text as UTF-8, unnormalized (NFC and NFD of the same word differ)', () => {
    const key = randomBytes(32);
    expect(hmacSha256(key, 'cl\u00e9🔑').equals(hmacSha256(Buffer.from(key), 'cl\u00e9🔑'))).toBe(true);
    expect(hmacSha256(key, 'cle\u0301').equals(hmacSha256(key, 'cl\u00e9'))).toBe(false);
  });
});

describe('constantTimeEqual', () => {
  it('is true for equal bytes and false for any single differing byte', () => {
    const a = randomBytes(32);
    expect(constantTimeEqual(a, Buffer.from(a))).toBe(true);
    for (let position = 0; position < a.length; position += 1) {
      const b = Buffer.from(a);
      b[position] = (b[position] as number) ^ 0x01;
      expect(constantTimeEqual(a, b), `byte ${position}`).toBe(false);
    }
  });

  it('is false, not a thrown RangeError, for different lengths (a prefix is not a match)', () => {
    const a = randomBytes(32);
    expect(constantTimeEqual(a, a.subarray(0, 31))).toBe(false);
    expect(constantTimeEqual(a, Buffer.concat([a, Buffer.from([0])]))).toBe(false);
    expect(constantTimeEqual(a, Buffer.alloc(0))).toBe(false);
    expect(constantTimeEqual(Buffer.alloc(0), Buffer.alloc(0))).toBe(true);
  });
});
