import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Files holding key material: readable by their owner only, written so that a crash never loses them. */

export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/** The file's text, or null when it does not exist. A file others can read is refused: it would make the encryption pointless. */
export async function readKeyFile(path: string): Promise<string | null> {
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0)
      throw new KeyFileError(`${path} is accessible by other users; run \`chmod 600 ${path}\` and start again.`);
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Writes the file durably (fsync before rename, then the directory): a key lost to a crash
 * would lose every value under it. Write-then-rename means a crash never leaves half a file;
 * with `wx` an existing file is never replaced (two first starts racing keep one key, not two),
 * and EEXIST tells the caller to read the winner's.
 */
export async function writeKeyFile(path: string, content: string, flag: 'w' | 'wx' = 'w'): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // `wx`: never write key material into a file someone else created with looser permissions.
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // link() fails if `path` exists, atomically; rename() replaces it atomically.
    if (flag === 'wx') await link(temporary, path);
    else await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
  await chmod(path, 0o600);
  await syncDirectory(dir);
}

/** Best effort: some platforms cannot open a directory for fsync. */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The file itself is synced; only the rename's durability is at stake here.
  }
}
