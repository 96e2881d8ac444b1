import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptionError, generateMasterKey, generateRootKey, RootKeys, rootKeyIdOf, UnknownRootKeyError } from '../../src/crypto/index.js';
import { findTrace } from '../support/leaks.js';

/**
 * The keyring's rows: each master key ("term") sealed by the root key. The same properties as a
 * secret's value, one test each: the row never holds the key, sealing twice differs, any altered
 * byte fails, a row moved to another term's id fails, another root key fails distinctly.
 */

const root = new RootKeys([generateRootKey()]);
const term = generateMasterKey('k_term_a');

describe('a keyring term sealed by the root key', () => {
  it('opens back to the same material', () => {
    const { rootKeyId, sealedKey } = root.seal(term.id, term.key);
    expect(rootKeyId).toBe(root.sealing.id);
    expect(root.unseal(term.id, rootKeyId, sealedKey).equals(term.key)).toBe(true);
  });

  it('holds neither the term material nor the root key, in any encoding', () => {
    const { sealedKey, rootKeyId } = root.seal(term.id, term.key);
    for (const material of [term.key, root.sealing.key]) {
      expect(findTrace(sealedKey.toString('base64'), material)).toBeNull();
      expect(findTrace(sealedKey.toString('hex'), material)).toBeNull();
      expect(sealedKey.includes(material.subarray(0, 8))).toBe(false);
      expect(findTrace(rootKeyId, material)).toBeNull();
    }
  });

  it('seals the same term differently every time (fresh IV)', () => {
    const seals = Array.from({ length: 20 }, () => root.seal(term.id, term.key).sealedKey.toString('hex'));
    expect(new Set(seals).size).toBe(20);
  });

  it('fails to open after any single byte is flipped', () => {
    const { rootKeyId, sealedKey } = root.seal(term.id, term.key);
    for (let index = 0; index < sealedKey.length; index++) {
      const altered = Buffer.from(sealedKey);
      altered[index] = (altered[index] as number) ^ 0x01;
      expect(() => root.unseal(term.id, rootKeyId, altered), `byte ${index}`).toThrow(DecryptionError);
    }
  });

  it('fails to open when truncated or extended', () => {
    const { rootKeyId, sealedKey } = root.seal(term.id, term.key);
    expect(() => root.unseal(term.id, rootKeyId, sealedKey.subarray(0, sealedKey.length - 1))).toThrow(DecryptionError);
    expect(() => root.unseal(term.id, rootKeyId, Buffer.concat([sealedKey, Buffer.from([0])]))).toThrow(DecryptionError);
  });

  it("fails to open when moved into another term's row (the id is bound into the seal)", () => {
    const { rootKeyId, sealedKey } = root.seal(term.id, term.key);
    expect(() => root.unseal('k_term_b', rootKeyId, sealedKey)).toThrow(DecryptionError);
  });

  it('fails distinctly (UnknownRootKeyError) under a root key that was not configured, and with a wrong key of a claimed id', () => {
    const { rootKeyId, sealedKey } = root.seal(term.id, term.key);
    const other = new RootKeys([generateRootKey()]);
    expect(() => other.unseal(term.id, rootKeyId, sealedKey)).toThrow(UnknownRootKeyError);
    // A row claiming the other key's id is still not opened by it.
    expect(() => other.unseal(term.id, other.sealing.id, sealedKey)).toThrow(DecryptionError);
  });

  it('during a root-key rotation both keys open, and the first one seals', () => {
    const oldRoot = root.sealing;
    const sealedOld = root.seal(term.id, term.key);
    const rotating = new RootKeys([generateRootKey(), oldRoot]);
    expect(rotating.unseal(term.id, sealedOld.rootKeyId, sealedOld.sealedKey).equals(term.key)).toBe(true);
    const sealedNew = rotating.seal(term.id, term.key);
    expect(sealedNew.rootKeyId).not.toBe(oldRoot.id);
    expect(() => root.unseal(term.id, sealedNew.rootKeyId, sealedNew.sealedKey)).toThrow(UnknownRootKeyError);
  });

  it('its root key id is a fingerprint: stable for a key, different between keys', () => {
    const key = randomBytes(32);
    expect(rootKeyIdOf(key)).toBe(rootKeyIdOf(Buffer.from(key)));
    expect(rootKeyIdOf(key)).not.toBe(rootKeyIdOf(randomBytes(32)));
    expect(findTrace(rootKeyIdOf(key), key)).toBeNull();
  });
});
