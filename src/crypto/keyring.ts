import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MasterKey {
  id: string;
  key: Buffer;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const MASTER_KEY_BYTES = 32;

export class KeyringError extends Error {
  override name = 'KeyringError';
}

export class UnknownKeyError extends Error {
  override name = 'UnknownKeyError';
  constructor(readonly keyId: string) {
    super(`Master key "${keyId}" is not in the keyring.`);
  }
}

/** The master keys Coffer can use. The active one wraps new data keys; all of them unwrap. */
export class Keyring {
  private readonly byId: Map<string, MasterKey>;

  constructor(readonly keys: readonly MasterKey[]) {
    if (keys.length === 0) throw new KeyringError('The keyring is empty: at least one master key is needed.');
    this.byId = new Map();
    for (const key of keys) {
      if (!KEY_ID.test(key.id)) throw new KeyringError(`Master key id "${key.id.slice(0, 64)}" must be 1-64 characters of A-Z, a-z, 0-9, _ and -.`);
      if (this.byId.has(key.id)) throw new KeyringError(`Master key id "${key.id}" appears twice.`);
      if (key.key.length !== MASTER_KEY_BYTES) throw new KeyringError(`Master key "${key.id}" must be ${MASTER_KEY_BYTES} bytes, not ${key.key.length}.`);
      this.byId.set(key.id, key);
    }
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

  /** A keyring with `key` active and every current key kept for decryption. */
  withActive(key: MasterKey): Keyring {
    return new Keyring([key, ...this.keys.filter((existing) => existing.id !== key.id)]);
  }

  without(id: string): Keyring {
    return new Keyring(this.keys.filter((key) => key.id !== id));
  }
}

export function generateMasterKey(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}_${randomBytes(3).toString('hex')}`): MasterKey {
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
    const encoded = entry.slice(separator + 1);
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) throw new KeyringError(`Master key "${id.slice(0, 64)}" is not valid base64.`);
    return { id, key: Buffer.from(encoded, 'base64') };
  });
  return new Keyring(keys);
}

export function serializeMasterKeys(keyring: Keyring): string {
  return `${keyring.keys.map((key) => `${key.id}:${key.key.toString('base64')}`).join('\n')}\n`;
}

export const MASTER_KEY_FILE = 'master-keys';

/**
 * The embedded default: `<dataDir>/master-keys`, generated on first start with mode 0600.
 * A file others can read is refused: it would make the encryption pointless.
 */
export async function loadOrCreateKeyFile(path: string): Promise<{ keyring: Keyring; created: boolean }> {
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) throw new KeyringError(`${path} is readable by other users; run \`chmod 600 ${path}\` and start again.`);
    return { keyring: parseMasterKeys(await readFile(path, 'utf8')), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const keyring = new Keyring([generateMasterKey()]);
  await writeKeyFile(path, keyring, 'wx');
  return { keyring, created: true };
}

/** Replaces the key file atomically (write, then rename) so a crash never leaves half a keyring. */
export async function writeKeyFile(path: string, keyring: Keyring, flag: 'w' | 'wx' = 'w'): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
  if (flag === 'wx') {
    await writeFile(path, serializeMasterKeys(keyring), { mode: 0o600, flag });
  } else {
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, serializeMasterKeys(keyring), { mode: 0o600 });
    await rename(temporary, path);
  }
  await chmod(path, 0o600);
}
