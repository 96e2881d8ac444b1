import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  canonicalAssociatedData,
  decryptValue,
  DecryptionError,
  encryptValue,
  generateMasterKey,
  Keyring,
  rewrapDataKey,
  UnknownKeyError,
  type AssociatedData,
  type Sealed,
} from '../../src/crypto/index.js';
import { findTrace } from '../support/leaks.js';

/**
 * The envelope's properties, one per test, in the manner of Vault's barrier tests: what a
 * sealed value never shows, what tampering and moving do to it, and what rotation keeps.
 */

const OLD = generateMasterKey('k_old');
const NEW = generateMasterKey('k_new');
const keyring = new Keyring([OLD]);

/** A row identity shaped like the one secret versions are sealed with. */
const rowAad = (overrides: AssociatedData = {}): AssociatedData => ({
  table: 'secret_versions',
  secretId: '5b0c2b7e-7a8e-4a61-9b53-0f3c2a1d9e11',
  scope: 'PROJECT',
  ownerId: '0a6f4a52-3c1e-4d47-8f0e-6f8a9b7c1d22',
  name: 'DATABASE_PASSWORD',
  version: 3,
  ...overrides,
});

const FIELDS = ['wrappedKey', 'iv', 'tag', 'ciphertext'] as const;

const copyOf = (sealed: Sealed): Sealed => ({
  keyId: sealed.keyId,
  wrappedKey: Buffer.from(sealed.wrappedKey),
  iv: Buffer.from(sealed.iv),
  tag: Buffer.from(sealed.tag),
  ciphertext: Buffer.from(sealed.ciphertext),
});

/** Every Sealed field as raw bytes, hex text and base64 text, labelled for failure messages. */
function renderingsOf(sealed: Sealed): Array<[string, string | Buffer]> {
  return [
    ['keyId', sealed.keyId],
    ...FIELDS.flatMap((field): Array<[string, string | Buffer]> => [
      [`${field} (bytes)`, sealed[field]],
      [`${field} (hex)`, sealed[field].toString('hex')],
      [`${field} (base64)`, sealed[field].toString('base64')],
    ]),
    ['all fields concatenated', Buffer.concat(FIELDS.map((field) => sealed[field]))],
  ];
}

function expectNoPlaintext(sealed: Sealed, plaintext: string) {
  for (const [label, haystack] of renderingsOf(sealed)) {
    expect(findTrace(haystack, plaintext), `${label} holds the plaintext`).toBeNull();
  }
}

/** Runs `work`, expecting it to throw; returns what it threw. */
function thrownBy(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

describe('envelope: a sealed value never shows its plaintext', () => {
  it('ciphertext never contains the plaintext (raw bytes, hex and base64 of every Sealed field)', () => {
    const plaintext = `postgres://app:${randomUUID()}@db.internal:5432/prod`;
    expectNoPlaintext(encryptValue(keyring, plaintext, rowAad()), plaintext);
  });

  it('ciphertext of a long repetitive plaintext contains neither the plaintext nor any of its blocks, nor repeats itself', () => {
    const block = 'SAME-16-BYTES!!!';
    const plaintext = block.repeat(4096);
    const sealed = encryptValue(keyring, plaintext, rowAad());
    expectNoPlaintext(sealed, plaintext);
    // A mode that leaks structure (ECB) would show the repeated block, or repeat its own blocks.
    expect(findTrace(sealed.ciphertext, block)).toBeNull();
    const blocks = new Set<string>();
    for (let offset = 0; offset + 16 <= sealed.ciphertext.length; offset += 16)
      blocks.add(sealed.ciphertext.subarray(offset, offset + 16).toString('hex'));
    expect(blocks.size).toBe(plaintext.length / 16);
  });

  it('the same value under the same row encrypts differently twice (iv, wrappedKey and ciphertext all differ)', () => {
    const first = encryptValue(keyring, 'the same value', rowAad());
    const second = encryptValue(keyring, 'the same value', rowAad());
    expect(first.iv.equals(second.iv)).toBe(false);
    expect(first.wrappedKey.equals(second.wrappedKey)).toBe(false);
    expect(first.ciphertext.equals(second.ciphertext)).toBe(false);
    expect(first.tag.equals(second.tag)).toBe(false);
    expect(decryptValue(keyring, first, rowAad()).toString('utf8')).toBe('the same value');
    expect(decryptValue(keyring, second, rowAad()).toString('utf8')).toBe('the same value');
  });
});

describe('envelope: tampering fails', () => {
  const plaintext = 'tamper-evident value 0123456789';

  for (const field of FIELDS) {
    it(`flipping any single byte of ${field} fails with DecryptionError`, () => {
      const sealed = encryptValue(keyring, plaintext, rowAad());
      expect(sealed[field].length).toBeGreaterThan(0);
      for (let position = 0; position < sealed[field].length; position += 1) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const tampered = copyOf(sealed);
          tampered[field][position] = (tampered[field][position] as number) ^ mask;
          expect(() => decryptValue(keyring, tampered, rowAad()), `${field}[${position}] ^ 0x${mask.toString(16)}`).toThrow(
            DecryptionError,
          );
        }
      }
      // The untouched original still decrypts: the failures above are the flips' doing.
      expect(decryptValue(keyring, sealed, rowAad()).toString('utf8')).toBe(plaintext);
    });
  }

  it('truncating or extending any field fails with DecryptionError', () => {
    const sealed = encryptValue(keyring, plaintext, rowAad());
    for (const field of FIELDS) {
      const shorter = { ...copyOf(sealed), [field]: sealed[field].subarray(0, sealed[field].length - 1) };
      const longer = { ...copyOf(sealed), [field]: Buffer.concat([sealed[field], Buffer.from([0])]) };
      expect(() => decryptValue(keyring, shorter, rowAad()), `${field} shortened`).toThrow(DecryptionError);
      expect(() => decryptValue(keyring, longer, rowAad()), `${field} extended`).toThrow(DecryptionError);
    }
  });

  it('a wrapped key relabelled with another master key id fails with DecryptionError', () => {
    const both = new Keyring([OLD, NEW]);
    const sealed = encryptValue(both, plaintext, rowAad());
    expect(() => decryptValue(both, { ...copyOf(sealed), keyId: NEW.id }, rowAad())).toThrow(DecryptionError);
  });

  it("another value's ciphertext under the same row identity fails (each value has its own data key)", () => {
    const mine = encryptValue(keyring, 'value one', rowAad());
    const theirs = encryptValue(keyring, 'value two', rowAad());
    expect(() =>
      decryptValue(keyring, { ...copyOf(mine), iv: theirs.iv, tag: theirs.tag, ciphertext: theirs.ciphertext }, rowAad()),
    ).toThrow(DecryptionError);
    expect(() => decryptValue(keyring, { ...copyOf(mine), wrappedKey: theirs.wrappedKey }, rowAad())).toThrow(DecryptionError);
  });
});

describe('envelope: a ciphertext moved to another row fails', () => {
  const plaintext = 'bound to its row';
  const changes: Record<string, string | number> = {
    table: 'stripe_credentials',
    secretId: '5b0c2b7e-7a8e-4a61-9b53-0f3c2a1d9e12',
    scope: 'ACCOUNT',
    ownerId: '0a6f4a52-3c1e-4d47-8f0e-6f8a9b7c1d23',
    name: 'DATABASE_PASSWORD_OLD',
    version: 4,
  };

  for (const [field, other] of Object.entries(changes)) {
    it(`decrypting with another row's AAD (${field} changed) fails with DecryptionError`, () => {
      const sealed = encryptValue(keyring, plaintext, rowAad());
      expect(() => decryptValue(keyring, sealed, rowAad({ [field]: other }))).toThrow(DecryptionError);
      expect(decryptValue(keyring, sealed, rowAad()).toString('utf8')).toBe(plaintext);
    });
  }

  it('decrypting with a field added to or removed from the AAD fails with DecryptionError', () => {
    const sealed = encryptValue(keyring, plaintext, rowAad());
    const { version: _version, ...withoutVersion } = rowAad();
    expect(() => decryptValue(keyring, sealed, withoutVersion)).toThrow(DecryptionError);
    expect(() => decryptValue(keyring, sealed, rowAad({ extra: '' }))).toThrow(DecryptionError);
  });

  it('a "shifted" AAD ({name: "a|b", x: "c"} vs {name: "a", x: "b|c"}) canonicalizes differently and fails', () => {
    const shifts: Array<[AssociatedData, AssociatedData]> = [
      [
        { name: 'a|b', x: 'c' },
        { name: 'a', x: 'b|c' },
      ],
      [
        { name: 'a', x: 'bc' },
        { name: 'ab', x: 'c' },
      ],
      [{ ab: 'c' }, { a: 'bc' }],
      [{ name: 'a\u0000x\u0000b' }, { name: 'a', x: 'b' }],
    ];
    for (const [written, attempted] of shifts) {
      expect(
        canonicalAssociatedData(written, 'coffer/value').equals(canonicalAssociatedData(attempted, 'coffer/value')),
        JSON.stringify([written, attempted]),
      ).toBe(false);
      const sealed = encryptValue(keyring, plaintext, written);
      expect(() => decryptValue(keyring, sealed, attempted), JSON.stringify([written, attempted])).toThrow(DecryptionError);
    }
  });

  it('an AAD field named "keyId" is refused (it would be shadowed by the master key id in the wrapped key binding)', () => {
    expect(() => encryptValue(keyring, plaintext, rowAad({ keyId: 'x' }))).toThrow(/reserved field "keyId"/);
    const sealed = encryptValue(keyring, plaintext, rowAad());
    expect(() => decryptValue(keyring, sealed, rowAad({ keyId: OLD.id }))).toThrow(/reserved field "keyId"/);
  });

  it('AAD fields that would not bind one row identity (null, undefined, NaN, lone surrogates) are refused', () => {
    // A null column would bind as "null"; "\uD800" and "\uDFFF" both encode as U+FFFD.
    for (const bad of [null, undefined, Number.NaN, Infinity, {}, 'a\uD800', '\uDFFF']) {
      const aad = { ...rowAad(), name: bad } as unknown as AssociatedData;
      expect(() => encryptValue(keyring, plaintext, aad), String(bad)).toThrow(TypeError);
    }
    expect(() => encryptValue(keyring, plaintext, { ...rowAad(), ['\uD800']: 'x' })).toThrow(TypeError);
  });

  it('the order in which AAD fields are listed does not matter (canonical form is sorted)', () => {
    const sealed = encryptValue(keyring, plaintext, rowAad());
    const reversed = Object.fromEntries(Object.entries(rowAad()).reverse());
    expect(decryptValue(keyring, sealed, reversed).toString('utf8')).toBe(plaintext);
  });
});

describe('envelope: values round-trip byte for byte', () => {
  const roundTrip = (value: string | Buffer) => decryptValue(keyring, encryptValue(keyring, value, rowAad()), rowAad());

  it('a multi-line value (LF, CRLF, tabs, trailing newline) round-trips byte for byte', () => {
    const value = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\r\n\tkqhkiG9w0BAQEFAASC\n\n-----END PRIVATE KEY-----\n';
    const back = roundTrip(value);
    expect(back.equals(Buffer.from(value, 'utf8'))).toBe(true);
    expect(back.toString('utf8')).toBe(value);
  });

  it('unicode (emoji with ZWJ and flags, CJK, combining characters) round-trips byte for byte, unnormalized', () => {
    const nfd = 'Cafe\u0301 n\u0303 A\u030A';
    const value = `👩‍👩‍👧‍👦 🇯🇵 🏳️‍🌈 秘密の値 机密 비밀번호 ${nfd} Ω≈ç√ 𝄞`;
    const back = roundTrip(value);
    expect(back.equals(Buffer.from(value, 'utf8'))).toBe(true);
    expect(back.toString('utf8')).toBe(value);
    // Decomposed text stays decomposed: nothing normalizes a value on the way.
    expect(back.toString('utf8')).toContain(nfd);
    expect(back.toString('utf8')).not.toContain(nfd.normalize('NFC'));
  });

  it('a 64 KiB value (random bytes and text) round-trips byte for byte', () => {
    const binary = randomBytes(64 * 1024);
    expect(roundTrip(binary).equals(binary)).toBe(true);
    const text = randomBytes(48 * 1024).toString('base64');
    expect(text.length).toBe(64 * 1024);
    expect(roundTrip(text).toString('utf8')).toBe(text);
  });
});

describe('envelope: rewrap (master-key rotation)', () => {
  const plaintext = 'survives rotation';
  const rotating = new Keyring([NEW, OLD]);

  it('a value decrypts after its data key is rewrapped to a new master key', () => {
    const sealed = encryptValue(keyring, plaintext, rowAad());
    const moved = rewrapDataKey(rotating, sealed, rowAad());
    expect(moved.keyId).toBe(NEW.id);
    expect(moved.wrappedKey.equals(sealed.wrappedKey)).toBe(false);
    expect(decryptValue(rotating, moved, rowAad()).toString('utf8')).toBe(plaintext);
  });

  it('rewrap leaves ciphertext, iv and tag unchanged (values are not re-encrypted)', () => {
    const sealed = encryptValue(keyring, plaintext, rowAad());
    const moved = rewrapDataKey(rotating, sealed, rowAad());
    expect(moved.ciphertext.equals(sealed.ciphertext)).toBe(true);
    expect(moved.iv.equals(sealed.iv)).toBe(true);
    expect(moved.tag.equals(sealed.tag)).toBe(true);
  });

  it('after the old key leaves the keyring, a rewrapped value still decrypts and a non-rewrapped one throws UnknownKeyError', () => {
    const moved = rewrapDataKey(rotating, encryptValue(keyring, plaintext, rowAad()), rowAad());
    const stale = encryptValue(keyring, 'left behind', rowAad({ version: 4 }));
    const retired = new Keyring(rotating.keys.filter((key) => key.id !== OLD.id));
    expect(retired.has(OLD.id)).toBe(false);
    expect(decryptValue(retired, moved, rowAad()).toString('utf8')).toBe(plaintext);
    const error = thrownBy(() => decryptValue(retired, stale, rowAad({ version: 4 })));
    expect(error).toBeInstanceOf(UnknownKeyError);
    expect((error as UnknownKeyError).keyId).toBe(OLD.id);
  });

  it('rewrap under the wrong row identity fails with DecryptionError (rotation cannot launder a moved value)', () => {
    const sealed = encryptValue(keyring, plaintext, rowAad());
    expect(() => rewrapDataKey(rotating, sealed, rowAad({ version: 4 }))).toThrow(DecryptionError);
  });

  it('rewrap to the key a value is already under changes nothing', () => {
    const sealed = encryptValue(rotating, plaintext, rowAad());
    expect(rewrapDataKey(rotating, sealed, rowAad())).toBe(sealed);
  });
});

describe('envelope: failures do not leak', () => {
  it('DecryptionError message, stack and inspection contain no plaintext', () => {
    const plaintext = `leak-canary-${randomUUID()}`;
    const sealed = encryptValue(keyring, plaintext, rowAad());
    const failures = [
      thrownBy(() => decryptValue(keyring, { ...copyOf(sealed), tag: Buffer.alloc(16) }, rowAad())),
      thrownBy(() => decryptValue(keyring, sealed, rowAad({ version: 99 }))),
      thrownBy(() => decryptValue(keyring, { ...copyOf(sealed), wrappedKey: Buffer.alloc(60) }, rowAad())),
    ];
    for (const error of failures) {
      expect(error).toBeInstanceOf(DecryptionError);
      const { message, stack } = error as DecryptionError;
      for (const text of [message, stack ?? '', String(error), inspect(error, { depth: 5, showHidden: true }), JSON.stringify(error)]) {
        expect(text).not.toContain(plaintext);
        expect(findTrace(text, plaintext)).toBeNull();
      }
      expect((error as Error).cause).toBeUndefined();
    }
  });
});
