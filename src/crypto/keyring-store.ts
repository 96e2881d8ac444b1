import { join } from 'node:path';
import { KeyringError, loadOrCreateKeyFile, MASTER_KEY_FILE, parseMasterKeys, writeKeyFile, type Keyring, type MasterKey } from './keyring.js';

/**
 * Where the master keys come from, and the keyring in force. Keys from the environment are
 * read-only (the operator edits COFFER_MASTER_KEYS); keys in a file can be rotated in place.
 */
export class KeyringStore {
  private constructor(
    public current: Keyring,
    readonly source: { kind: 'environment' } | { kind: 'file'; path: string },
  ) {}

  static async load(options: { masterKeys?: string | undefined; masterKeysFile?: string | undefined; dataDir: string }): Promise<{ store: KeyringStore; created: boolean }> {
    if (options.masterKeys) {
      try {
        return { store: new KeyringStore(parseMasterKeys(options.masterKeys), { kind: 'environment' }), created: false };
      } catch (error) {
        throw new KeyringError(`COFFER_MASTER_KEYS: ${(error as Error).message}`);
      }
    }
    const path = options.masterKeysFile ?? join(options.dataDir, MASTER_KEY_FILE);
    const { keyring, created } = await loadOrCreateKeyFile(path);
    return { store: new KeyringStore(keyring, { kind: 'file', path }), created };
  }

  get canWrite(): boolean {
    return this.source.kind === 'file';
  }

  /** Makes `key` active, keeping the others for decryption; persisted before it is used. */
  async activate(key: MasterKey): Promise<void> {
    const next = this.current.withActive(key);
    if (this.source.kind === 'file') await writeKeyFile(this.source.path, next);
    this.current = next;
  }

  /** Drops a key no data key depends on any more. */
  async retire(keyId: string): Promise<void> {
    const next = this.current.without(keyId);
    if (this.source.kind === 'file') await writeKeyFile(this.source.path, next);
    this.current = next;
  }
}
