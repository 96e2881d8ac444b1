import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { canonicalAssociatedData, openKey, sealKey } from './envelope.js';
import { hmacSha256 } from './hmac.js';
import { readKeyFile, writeKeyFile } from './secret-files.js';

/**
 * The root key seals the keyring (the master keys, stored in the database), as Vault's barrier
 * key does: a database backup plus the root key restores every value, and rotating the root key
 * re-seals only the keyring's rows. Several root keys may be configured during a root-key
 * rotation: the first seals, all of them open.
 */

export const ROOT_KEY_BYTES = 32;
export const ROOT_KEY_FILE = 'root-key';

export interface RootKey {
  /** A fingerprint (an HMAC under the key itself), safe to store and to log. */
  id: string;
  key: Buffer;
}

export class RootKeyError extends Error {
  override name = 'RootKeyError';
}

/** A term sealed by a root key this process was not given. */
export class UnknownRootKeyError extends Error {
  override name = 'UnknownRootKeyError';
  constructor(readonly rootKeyId: string) {
    super(`The keyring was sealed by root key ${rootKeyId}, which is not configured.`);
  }
}

export const rootKeyIdOf = (key: Buffer): string => `rk_${hmacSha256(key, 'coffer/root-key-id').subarray(0, 8).toString('hex')}`;

export const generateRootKey = (): RootKey => {
  const key = randomBytes(ROOT_KEY_BYTES);
  return { id: rootKeyIdOf(key), key };
};

const termAad = (termId: string, rootKeyId: string) =>
  canonicalAssociatedData({ table: 'keyring_terms', termId, rootKeyId }, 'coffer/keyring-term');

export class RootKeys {
  readonly keys: readonly RootKey[];

  constructor(keys: readonly RootKey[]) {
    if (keys.length === 0) throw new RootKeyError('At least one root key is needed.');
    this.keys = [...keys];
  }

  /** The key new seals are made with. */
  get sealing(): RootKey {
    return this.keys[0] as RootKey;
  }

  has(id: string): boolean {
    return this.keys.some((key) => key.id === id);
  }

  seal(termId: string, material: Buffer): { rootKeyId: string; sealedKey: Buffer } {
    const { id, key } = this.sealing;
    return { rootKeyId: id, sealedKey: sealKey(key, material, termAad(termId, id)) };
  }

  /** UnknownRootKeyError when sealed by another root key; DecryptionError (envelope.ts) when the row was altered or moved. */
  unseal(termId: string, rootKeyId: string, sealedKey: Buffer): Buffer {
    const root = this.keys.find((key) => key.id === rootKeyId);
    if (!root) throw new UnknownRootKeyError(rootKeyId);
    return openKey(root.key, sealedKey, termAad(termId, rootKeyId));
  }

  toJSON(): { rootKeyIds: string[] } {
    return { rootKeyIds: this.keys.map((key) => key.id) };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RootKeys ${JSON.stringify(this.toJSON())}`;
  }
}

/** Comma- or newline-separated base64 keys of 32 bytes, the sealing one first. Messages never quote a key. */
export function parseRootKeys(text: string, source: string): RootKeys {
  const entries = text
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new RootKeyError(`${source}: no root key found (expected the base64 of 32 random bytes).`);
  const keys = entries.map((entry, index) => {
    const position = entries.length > 1 ? `entry ${index + 1}` : 'the root key';
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(entry)) throw new RootKeyError(`${source}: ${position} is not valid base64.`);
    const key = Buffer.from(entry, 'base64');
    if (key.length !== ROOT_KEY_BYTES) throw new RootKeyError(`${source}: ${position} must be ${ROOT_KEY_BYTES} bytes, not ${key.length}.`);
    return { id: rootKeyIdOf(key), key };
  });
  const ids = keys.map((key) => key.id);
  if (new Set(ids).size !== ids.length) throw new RootKeyError(`${source}: the same root key appears twice.`);
  return new RootKeys(keys);
}

export const serializeRootKeys = (keys: readonly RootKey[]) => `${keys.map((key) => key.key.toString('base64')).join('\n')}\n`;

/** `managed`: the embedded default file, which Coffer itself may rewrite when it rotates the root key. */
export type RootKeySource = { kind: 'environment' } | { kind: 'file'; path: string; generated: boolean; managed: boolean };

/**
 * COFFER_ROOT_KEY, or COFFER_ROOT_KEY_FILE, or (the embedded default) `DATA_DIR/root-key`,
 * generated on first start with mode 0600.
 */
export async function loadRootKeys(options: {
  rootKey?: string | undefined;
  rootKeyFile?: string | undefined;
  dataDir: string;
}): Promise<{ rootKeys: RootKeys; source: RootKeySource }> {
  if (options.rootKey) return { rootKeys: parseRootKeys(options.rootKey, 'COFFER_ROOT_KEY'), source: { kind: 'environment' } };
  if (options.rootKeyFile) {
    const text = await readKeyFile(options.rootKeyFile);
    if (text === null) throw new RootKeyError(`COFFER_ROOT_KEY_FILE: ${options.rootKeyFile} does not exist.`);
    return {
      rootKeys: parseRootKeys(text, 'COFFER_ROOT_KEY_FILE'),
      source: { kind: 'file', path: options.rootKeyFile, generated: false, managed: false },
    };
  }
  const path = join(options.dataDir, ROOT_KEY_FILE);
  const text = await readKeyFile(path);
  if (text !== null) return { rootKeys: parseRootKeys(text, path), source: { kind: 'file', path, generated: false, managed: true } };
  const generated = generateRootKey();
  try {
    await writeKeyFile(path, serializeRootKeys([generated]), 'wx');
  } catch (error) {
    // Another process started first and wrote its key: that one is the key, not ours.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadRootKeys(options);
    throw error;
  }
  return { rootKeys: new RootKeys([generated]), source: { kind: 'file', path, generated: true, managed: true } };
}
