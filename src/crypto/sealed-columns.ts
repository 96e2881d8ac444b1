import type { Sealed } from './envelope.js';

/**
 * How a sealed value is stored: five columns (`key_id`, `wrapped_key`, `iv`, `tag`, `ciphertext`),
 * shared by every table that holds one (secret versions, Stripe credentials).
 */
export interface StoredSealed {
  keyId: string;
  wrappedKey: Uint8Array<ArrayBuffer>;
  iv: Uint8Array<ArrayBuffer>;
  tag: Uint8Array<ArrayBuffer>;
  ciphertext: Uint8Array<ArrayBuffer>;
}

/** Prisma's Bytes columns want plain ArrayBuffer-backed arrays. */
const bytes = (buffer: Buffer) => new Uint8Array(buffer);

export const storedOf = (sealed: Sealed): StoredSealed => ({
  keyId: sealed.keyId,
  wrappedKey: bytes(sealed.wrappedKey),
  iv: bytes(sealed.iv),
  tag: bytes(sealed.tag),
  ciphertext: bytes(sealed.ciphertext),
});

export const sealedOf = (row: {
  keyId: string;
  wrappedKey: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
  ciphertext: Uint8Array;
}): Sealed => ({
  keyId: row.keyId,
  wrappedKey: Buffer.from(row.wrappedKey),
  iv: Buffer.from(row.iv),
  tag: Buffer.from(row.tag),
  ciphertext: Buffer.from(row.ciphertext),
});
