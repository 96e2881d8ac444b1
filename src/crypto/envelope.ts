import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.js';

/** A value as stored: its ciphertext and the data key that decrypts it, wrapped by a master key. */
export interface Sealed {
  keyId: string;
  /** iv (12) || encrypted data key (32) || tag (16), under the master key `keyId`. */
  wrappedKey: Buffer;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** Identity of the row a value belongs to; bound into both ciphertexts so values cannot be moved. */
export type AssociatedData = Record<string, string | number>;

export class DecryptionError extends Error {
  override name = 'DecryptionError';
  constructor() {
    // Deliberately generic: which part failed is of use only to an attacker.
    super('The stored value could not be decrypted.');
  }
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const DATA_KEY_BYTES = 32;

/** Length-prefixed and sorted, so no two different records serialize alike ("a|b"+"c" vs "a"+"b|c"). */
export function canonicalAssociatedData(aad: AssociatedData, purpose: string): Buffer {
  const parts = [
    purpose,
    ...Object.keys(aad)
      .sort()
      .flatMap((key) => [key, fieldText(key, aad[key])]),
  ];
  return Buffer.concat(
    parts.map((part) => {
      const bytes = Buffer.from(part, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    }),
  );
}

/**
 * Only texts that encode to UTF-8 one way: a null column would otherwise bind as "null", and
 * lone surrogates all encode as U+FFFD, so distinct rows could share an identity.
 */
function fieldText(key: string, value: unknown): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || !text.isWellFormed() || !key.isWellFormed()) {
    throw new TypeError(`AssociatedData field "${key.slice(0, 64)}" must be a well-formed string or a finite number.`);
  }
  return text;
}

function gcmEncrypt(key: Buffer, plaintext: Buffer, aad: Buffer) {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

function gcmDecrypt(key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer {
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new DecryptionError();
  const chunks: Buffer[] = [];
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    chunks.push(decipher.update(ciphertext));
    chunks.push(decipher.final());
    return Buffer.concat(chunks);
  } catch {
    throw new DecryptionError();
  } finally {
    // The chunks are unauthenticated (or, for a data key, secret) plaintext: no copies left behind.
    for (const chunk of chunks) chunk.fill(0);
  }
}

/**
 * The wrapped key's AAD is the row's plus the master key id. A row field named `keyId` would be
 * overwritten by it, so it is refused rather than silently left out of the binding.
 */
function dataKeyAad(aad: AssociatedData, keyId: string): Buffer {
  if (Object.hasOwn(aad, 'keyId')) throw new TypeError('AssociatedData may not use the reserved field "keyId".');
  return canonicalAssociatedData({ ...aad, keyId }, 'coffer/data-key');
}

/** A 32-byte key encrypted under another key: iv (12) || ciphertext (32) || tag (16). */
export function sealKey(wrappingKey: Buffer, key: Buffer, aad: Buffer): Buffer {
  const { iv, ciphertext, tag } = gcmEncrypt(wrappingKey, key, aad);
  return Buffer.concat([iv, ciphertext, tag]);
}

/** The inverse of sealKey; DecryptionError for a wrong key, wrong associated data or any damage. */
export function openKey(wrappingKey: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length !== IV_BYTES + DATA_KEY_BYTES + TAG_BYTES) throw new DecryptionError();
  return gcmDecrypt(
    wrappingKey,
    sealed.subarray(0, IV_BYTES),
    sealed.subarray(IV_BYTES, IV_BYTES + DATA_KEY_BYTES),
    sealed.subarray(IV_BYTES + DATA_KEY_BYTES),
    aad,
  );
}

function wrap(keyring: Keyring, keyId: string, dataKey: Buffer, aad: AssociatedData): Buffer {
  return sealKey(keyring.get(keyId).key, dataKey, dataKeyAad(aad, keyId));
}

function unwrap(keyring: Keyring, sealed: Sealed, aad: AssociatedData): Buffer {
  return openKey(keyring.get(sealed.keyId).key, sealed.wrappedKey, dataKeyAad(aad, sealed.keyId));
}

/** Encrypts under a fresh data key, wrapped by the active master key. */
export function encryptValue(keyring: Keyring, plaintext: Buffer | string, aad: AssociatedData): Sealed {
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  try {
    const value = gcmEncrypt(dataKey, bytes, canonicalAssociatedData(aad, 'coffer/value'));
    const keyId = keyring.active.id;
    return { keyId, wrappedKey: wrap(keyring, keyId, dataKey, aad), ...value };
  } finally {
    dataKey.fill(0);
    // Only our own copy: a caller's Buffer is theirs to keep.
    if (bytes !== plaintext) bytes.fill(0);
  }
}

export function decryptValue(keyring: Keyring, sealed: Sealed, aad: AssociatedData): Buffer {
  const dataKey = unwrap(keyring, sealed, aad);
  try {
    return gcmDecrypt(dataKey, sealed.iv, sealed.ciphertext, sealed.tag, canonicalAssociatedData(aad, 'coffer/value'));
  } finally {
    dataKey.fill(0);
  }
}

/** Master-key rotation: the data key moves under `toKeyId`; the value's ciphertext is untouched. */
export function rewrapDataKey(keyring: Keyring, sealed: Sealed, aad: AssociatedData, toKeyId = keyring.active.id): Sealed {
  if (sealed.keyId === toKeyId) return sealed;
  const dataKey = unwrap(keyring, sealed, aad);
  try {
    return { ...sealed, keyId: toKeyId, wrappedKey: wrap(keyring, toKeyId, dataKey, aad) };
  } finally {
    dataKey.fill(0);
  }
}
