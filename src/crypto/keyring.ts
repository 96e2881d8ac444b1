import { randomBytes } from 'node:crypto';
import { readKeyFile } from './secret-files.js';

export interface MasterKey {
  id: string;
  key: Buffer;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const MASTER_KEY_BYTES = 32;

export class KeyringError extends Error {
  override name = 'KeyringError';
}

/**
 * How a message names a key id. A text that decodes as a 32-byte key is not quoted: it is what
 * an entry written key-first (`<key>:<id>`) puts in the id's place, and errors end up in logs.
 */
function describeId(id: string, position?: number): string {
  const looksLikeKey = /^[A-Za-z0-9+/_-]+={0,2}$/.test(id) && Buffer.from(id, 'base64').length === MASTER_KEY_BYTES;
  if (!looksLikeKey) return `Master key "${id.slice(0, 64)}"`;
  const where = position === undefined ? 'A master key entry' : `Master key entry ${position}`;
  return `${where} (its id looks like key material, so it is not shown; the format is <keyId>:<base64 key>)`;
}

export class UnknownKeyError extends Error {
  override name = 'UnknownKeyError';
  constructor(readonly keyId: string) {
    super(`Master key "${keyId}" is not in the keyring.`);
  }
}

/** The master keys ("terms") Coffer can use. The active one (the first) wraps new data keys; all of them unwrap. */
export class Keyring {
  private readonly byId: Map<string, MasterKey>;

  readonly keys: readonly MasterKey[];

  /** `positions[i]` is where key i stood in the text it was parsed from, for messages. */
  constructor(keys: readonly MasterKey[], positions?: readonly number[]) {
    if (keys.length === 0) throw new KeyringError('The keyring is empty: at least one master key is needed.');
    this.keys = [...keys];
    this.byId = new Map();
    for (const [index, key] of this.keys.entries()) {
      const name = describeId(key.id, positions?.[index]);
      if (!KEY_ID.test(key.id)) throw new KeyringError(`${name}: the id must be 1-64 characters of A-Z, a-z, 0-9, _ and -.`);
      if (this.byId.has(key.id)) throw new KeyringError(`${name} appears twice.`);
      if (key.key.length !== MASTER_KEY_BYTES) throw new KeyringError(`${name} must be ${MASTER_KEY_BYTES} bytes, not ${key.key.length}.`);
      this.byId.set(key.id, key);
    }
  }

  /** Logging a keyring (or anything holding one) must never print key bytes. */
  toJSON(): { active: string; keyIds: string[] } {
    return { active: this.active.id, keyIds: this.keys.map((key) => key.id) };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Keyring ${JSON.stringify(this.toJSON())}`;
  }

  /** The first key is the active one. */
  get active(): MasterKey {
    return this.keys[0] as MasterKey;
  }

  get(id: string): MasterKey {
    const key = this.byId.get(id);
    if (!key) throw new UnknownKeyError(id);
    return key;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }
}

export function generateMasterKey(
  id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}_${randomBytes(3).toString('hex')}`,
): MasterKey {
  return { id, key: randomBytes(MASTER_KEY_BYTES) };
}

/**
 * `COFFER_MASTER_KEYS` format: comma-separated `<keyId>:<base64 of 32 bytes>`, active first.
 * Messages name the key id, never the key material.
 */
export function parseMasterKeys(text: string): Keyring {
  const entries = text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter(Boolean);
  const keys = entries.map((entry, index) => {
    const separator = entry.indexOf(':');
    if (separator <= 0) throw new KeyringError(`Master key entry ${index + 1} must look like <keyId>:<base64 key>.`);
    const id = entry.slice(0, separator);
    // An entry written key-first would put the key where the id goes: never quote an invalid id.
    if (!KEY_ID.test(id))
      throw new KeyringError(
        `Master key entry ${index + 1}: the id must be 1-64 characters of A-Z, a-z, 0-9, _ and - (format <keyId>:<base64 key>).`,
      );
    const encoded = entry.slice(separator + 1);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) throw new KeyringError(`${describeId(id, index + 1)} is not valid base64.`);
    return { id, key: Buffer.from(encoded, 'base64') };
  });
  return new Keyring(
    keys,
    keys.map((_key, index) => index + 1),
  );
}

export function serializeMasterKeys(keyring: Keyring): string {
  return `${keyring.keys.map((key) => `${key.id}:${key.key.toString('base64')}`).join('\n')}\n`;
}

/** Where versions before the database keyring kept generated master keys; now read only to import them. */
export const MASTER_KEY_FILE = 'master-keys';

/** A legacy key file's keyring, or null when there is none (mode 0600 required, as always). */
export async function readLegacyKeyFile(path: string): Promise<Keyring | null> {
  const text = await readKeyFile(path);
  return text === null ? null : parseMasterKeys(text);
}
