import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * PGlite is one process's database: two processes opening one data directory each work on a
 * private copy and overwrite each other's files. So the process that opens an embedded DATA_DIR
 * holds an exclusive lock on it for its whole life, and every other process is refused at once.
 *
 * The lock is proper-lockfile's (an atomic mkdir whose mtime the holder keeps fresh); beside it an
 * owner file names the holder, so a refusal can say who holds it, and a lock left by a process that
 * died is taken over within seconds, while the lock of a live process never is.
 */

export type DataDirRole = 'server' | 'cli';

export interface DataDirOwner {
  pid: number;
  hostname: string;
  /** Kernel start time of the process (Linux), so a reused pid is not mistaken for the holder. */
  processStart: string | null;
  role: DataDirRole;
  startedAt: string;
  /** The GraphQL endpoint, once a server listens: where to go instead. */
  url?: string;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  /** Exit status for the command line: could not start. */
  readonly exitCode = 2;

  constructor(
    readonly dataDir: string,
    readonly owner: DataDirOwner | null,
  ) {
    const holder = owner
      ? `Coffer's ${owner.role} (pid ${owner.pid}${owner.hostname === hostname() ? '' : ` on ${owner.hostname}`}, since ${owner.startedAt})`
      : 'another Coffer process';
    const api = owner?.url ? `its API at ${owner.url}` : "the running server's API";
    super(
      `The embedded database in ${dataDir} is in use by ${holder}. Only one process may open it. ` +
        `Use ${api} instead (every operation is a GraphQL mutation or query there), or stop that process and run this again.`,
    );
  }
}

export interface DataDirLock {
  /** Records where the holder can be reached, for the refusal other processes print. */
  advertise(url: string): Promise<void>;
  release(): Promise<void>;
}

const LOCK_DIR = '.lock';
const OWNER_FILE = '.lock-owner.json';
/** The holder refreshes its lock every 2 s; 10 s without a refresh means it is gone. */
const STALE_MS = 10_000;
const UPDATE_MS = 2_000;
/** A holder we know is dead stops refreshing: its lock is stale after a few seconds, not ten. */
const DEAD_HOLDER_STALE_MS = 3_000;

async function processStartOf(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime) follows the parenthesised command name, which may itself hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

async function readOwner(dataDir: string): Promise<DataDirOwner | null> {
  try {
    const owner = JSON.parse(await readFile(join(dataDir, OWNER_FILE), 'utf8')) as DataDirOwner;
    return typeof owner.pid === 'number' ? owner : null;
  } catch {
    return null;
  }
}

/** On another host (a shared volume) nothing can be checked: assume it lives. */
async function isAlive(owner: DataDirOwner): Promise<boolean> {
  if (owner.hostname !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = await processStartOf(owner.pid);
  return start === null || owner.processStart === null || start === owner.processStart;
}

/**
 * Takes the lock on `dataDir` for this process, or throws DataDirLockedError naming the holder.
 * `onLost` runs if the lock is ever taken away (the process must stop writing at once).
 */
export async function lockDataDir(dataDir: string, role: DataDirRole, onLost: (error: Error) => void): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const previous = await readOwner(dataDir);
  const previousAlive = previous !== null && previous.pid !== process.pid && (await isAlive(previous));
  if (previousAlive) throw new DataDirLockedError(dataDir, previous);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dataDir, {
      lockfilePath: join(dataDir, LOCK_DIR),
      realpath: false,
      stale: previous ? DEAD_HOLDER_STALE_MS : STALE_MS,
      update: UPDATE_MS,
      // Only a holder known to be dead is waited for, until its lock goes stale.
      retries: previous ? { retries: 10, minTimeout: 400, maxTimeout: 400, factor: 1 } : 0,
      onCompromised: onLost,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    throw new DataDirLockedError(dataDir, await settledOwner(dataDir));
  }
  const owner: DataDirOwner = {
    pid: process.pid,
    hostname: hostname(),
    processStart: await processStartOf(process.pid),
    role,
    startedAt: new Date().toISOString(),
  };
  const writeOwner = () => writeFile(join(dataDir, OWNER_FILE), `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  await writeOwner();
  return {
    async advertise(url: string) {
      owner.url = url;
      await writeOwner();
    },
    async release() {
      await rm(join(dataDir, OWNER_FILE), { force: true });
      await release().catch(() => undefined);
    },
  };
}

/** A holder that has just taken the lock writes its owner file a moment later. */
async function settledOwner(dataDir: string): Promise<DataDirOwner | null> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const owner = await readOwner(dataDir);
    if (owner && owner.pid !== process.pid) return owner;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}
