import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * `coffer login` profiles: { current, profiles: { name: { url, apiKey } } } in one JSON file under
 * the user's config directory, mode 0600 in a 0700 directory (it holds keys).
 */

export interface Profile {
  url: string;
  apiKey: string;
}

export interface ProfileFile {
  current?: string;
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = 'default';

export function profilesPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || join(homedir(), '.config');
  return join(base, 'coffer', 'profiles.json');
}

export async function readProfiles(path = profilesPath()): Promise<ProfileFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<ProfileFile>;
  return { current: parsed.current, profiles: parsed.profiles ?? {} };
}

export async function writeProfiles(file: ProfileFile, path = profilesPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Written beside, then renamed: a crash never leaves half a file; the mode is set before any key is in it.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, '', { mode: 0o600 });
  await chmod(temporary, 0o600);
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}
