import type { Command } from 'commander';
import { CofferClient } from '../client/index.js';
import { MeDocument } from '../client/documents.js';
import { DEFAULT_PROFILE, profilesPath, readProfiles, writeProfiles } from './profiles.js';
import { promptHidden, readStdin, withoutFinalNewline } from './prompt.js';
import { CommandFailure, EXIT_USAGE, print } from './support.js';

/** Options every command understands (declared on the program). */
export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  profile?: string;
  json?: boolean;
  timeout?: number;
}

export const globalsOf = (command: Command) => command.optsWithGlobals<GlobalOptions>();

/**
 * The server and the credential, first found wins: --url/--api-key, COFFER_URL/COFFER_API_KEY,
 * then the profile (--profile, COFFER_PROFILE, the one `coffer login` made current, "default").
 */
export async function resolveTarget(options: GlobalOptions): Promise<{ url: string; apiKey: string }> {
  const file = await readProfiles();
  const name = options.profile ?? process.env.COFFER_PROFILE ?? file.current ?? DEFAULT_PROFILE;
  const profile = file.profiles[name];
  if ((options.profile || process.env.COFFER_PROFILE) && !profile && !(options.url && options.apiKey)) {
    throw new CommandFailure(`No profile "${name}" (coffer login --profile ${name}).`, EXIT_USAGE);
  }
  const url = options.url ?? (process.env.COFFER_URL || undefined) ?? profile?.url;
  const apiKey = options.apiKey ?? (process.env.COFFER_API_KEY || undefined) ?? profile?.apiKey;
  if (!url) throw new CommandFailure('No Coffer server: give --url, set COFFER_URL, or run coffer login.', EXIT_USAGE);
  if (!apiKey) throw new CommandFailure('No credential: give --api-key, set COFFER_API_KEY, or run coffer login.', EXIT_USAGE);
  return { url: normalizeUrl(url), apiKey };
}

/** "http://host:4000" means its /graphql endpoint. */
export function normalizeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CommandFailure(`Not a URL: ${JSON.stringify(url.slice(0, 200))}`, EXIT_USAGE);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CommandFailure('The URL must be http(s)://...', EXIT_USAGE);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/graphql';
  return parsed.toString();
}

export async function connect(command: Command): Promise<CofferClient> {
  const options = globalsOf(command);
  const target = await resolveTarget(options);
  return new CofferClient({ ...target, timeoutMs: options.timeout });
}

/** `coffer login` and `coffer logout`. */
export function registerLoginCommands(program: Command) {
  program
    .command('login')
    .description(
      'check a server URL and API key, and save them as a profile (mode 0600 under $XDG_CONFIG_HOME/coffer or ~/.config/coffer); ' +
        'the key is asked for without echo when --api-key is not given and stdin is a terminal, else read from stdin',
    )
    .action(async (_options: unknown, command: Command) => {
      const options = globalsOf(command);
      const url = options.url ?? process.env.COFFER_URL;
      if (!url) throw new CommandFailure('coffer login needs --url (or COFFER_URL).', EXIT_USAGE);
      let apiKey = options.apiKey ?? (process.env.COFFER_API_KEY || undefined);
      if (!apiKey) apiKey = process.stdin.isTTY ? await promptHidden('API key: ') : withoutFinalNewline(await readStdin()).trim();
      if (!apiKey) throw new CommandFailure('No API key given.', EXIT_USAGE);
      const target = { url: normalizeUrl(url), apiKey };
      const { me } = await new CofferClient({ ...target, timeoutMs: options.timeout }).request(MeDocument);
      const name = options.profile ?? process.env.COFFER_PROFILE ?? DEFAULT_PROFILE;
      const file = await readProfiles();
      file.profiles[name] = target;
      file.current = name;
      await writeProfiles(file);
      const answer = { profile: name, url: target.url, user: me.email, role: me.role, path: profilesPath() };
      if (options.json) print(answer);
      else process.stderr.write(`Logged in to ${target.url} as ${me.email} (${me.role}); profile "${name}" saved in ${answer.path}.\n`);
    });

  program
    .command('logout')
    .description('forget a profile (--profile, else the current one); --all forgets every profile')
    .option('--all', 'forget every profile')
    .action(async (local: { all?: boolean }, command: Command) => {
      const options = globalsOf(command);
      const file = await readProfiles();
      const name = options.profile ?? process.env.COFFER_PROFILE ?? file.current ?? DEFAULT_PROFILE;
      const forgotten = local.all ? Object.keys(file.profiles) : file.profiles[name] ? [name] : [];
      if (forgotten.length === 0) throw new CommandFailure(`No profile "${name}".`, 1);
      for (const each of forgotten) delete file.profiles[each];
      if (!file.current || forgotten.includes(file.current)) file.current = Object.keys(file.profiles)[0];
      await writeProfiles(file);
      if (options.json) print({ forgotten });
      else process.stderr.write(`Forgot profile${forgotten.length > 1 ? 's' : ''} ${forgotten.map((each) => `"${each}"`).join(', ')}.\n`);
    });

  program
    .command('profiles')
    .description('list the saved profiles (URLs only, never keys)')
    .action(async (_options: unknown, command: Command) => {
      const file = await readProfiles();
      const rows = Object.entries(file.profiles).map(([name, profile]) => ({ name, url: profile.url, current: name === file.current }));
      if (globalsOf(command).json) print(rows);
      else for (const row of rows) process.stdout.write(`${row.current ? '*' : ' '} ${row.name}\t${row.url}\n`);
    });
}
