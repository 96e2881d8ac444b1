import { randomBytes, hkdfSync } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ServerKeys {
  /** Signs Coffer's own JWTs (HS256). */
  tokenSigningKey: Uint8Array;
  /** Keys the HMAC under which API keys are stored. */
  apiKeyHmacKey: Buffer;
}

export interface LoadedServerKeys {
  keys: ServerKeys;
  /** True when a new secret was generated into DATA_DIR (the caller warns about it). */
  generated: boolean;
}

const SECRET_FILE = 'token-secret';

/**
 * One configured secret, two derived keys: rotating the JWT key must not silently invalidate
 * every API key, and HKDF keeps the two uses independent.
 */
export function deriveServerKeys(secret: string | Buffer): ServerKeys {
  const ikm = typeof secret === 'string' ? Buffer.from(secret) : secret;
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', ikm, 'coffer', info, 32));
  return { tokenSigningKey: new Uint8Array(derive('coffer/jwt-hs256')), apiKeyHmacKey: derive('coffer/api-key-hmac') };
}

export async function loadServerKeys(configured: string | undefined, dataDir: string): Promise<LoadedServerKeys> {
  if (configured) return { keys: deriveServerKeys(configured), generated: false };
  const path = join(dataDir, SECRET_FILE);
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      throw new Error(`${path} is readable by other users; run \`chmod 600 ${path}\` and start again.`);
    }
    return { keys: deriveServerKeys((await readFile(path, 'utf8')).trim()), generated: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
  return { keys: deriveServerKeys(secret), generated: true };
}
