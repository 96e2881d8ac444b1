#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { generateApiKey } from '../auth/index.js';
import { migrationStatus } from '../db/migrate.js';
import { ensureBootstrapAdmin } from '../features/credentials/index.js';
import { registerAdminCommands } from './admin.js';
import { globalsOf, normalizeUrl, registerLoginCommands } from './connection.js';
import { DEFAULT_PROFILE, readProfiles, writeProfiles } from './profiles.js';
import { registerRunCommand } from './run.js';
import { registerSecretCommands } from './secrets.js';
import { registerStripeCommands } from './stripe/index.js';
import { CommandFailure, describeFailure, EXIT_USAGE, exitCodeOf, print, withServices } from './support.js';

// The key may have come as --api-key: keep it out of `ps` (the process title replaces argv on Linux).
process.title = 'coffer';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Operator commands. Everything with an API goes through it (a running Coffer, --url/--api-key,
 * COFFER_URL/COFFER_API_KEY or a `coffer login` profile); only `migrate` and `bootstrap-admin`
 * open the database, and they respect the data-directory lock of a running server.
 */
const program = new Command('coffer')
  .description('Coffer operator commands (exit codes: 0 success, 1 failure, 2 usage or could not start)')
  // Not .version(): program options are read anywhere in the line, and `secrets get --version N` is a secret's version.
  .addHelpText('after', '\n  -V, --version (first argument only) prints the version.')
  .option('--url <url>', 'the Coffer GraphQL URL (default $COFFER_URL, else the profile)')
  .option('--api-key <key>', 'API key or token (default $COFFER_API_KEY, else the profile; prefer those: arguments stay in shell history)')
  .option('--profile <name>', 'a profile saved by coffer login (default $COFFER_PROFILE, else the current one)')
  .addOption(new Option('--timeout <ms>', 'per request').argParser((value) => Number.parseInt(value, 10)).default(30_000))
  .option('--json', 'machine output as JSON')
  .showHelpAfterError()
  .exitOverride();

registerLoginCommands(program);
registerSecretCommands(program);
registerRunCommand(program);
registerAdminCommands(program);
program.commands
  .find((command) => command.name() === 'api-key')!
  .command('generate')
  .description('print a new random key, e.g. for COFFER_ADMIN_API_KEY (local: touches no server and no database)')
  .action(() => {
    process.stdout.write(`${generateApiKey().key}\n`);
  });

program
  .command('migrate')
  .description(
    'local: apply pending database migrations (also done at start-up) and print the status; refused while a server holds DATA_DIR',
  )
  .action(async () => {
    // Opening the services applies pending migrations; report what the database now holds.
    await withServices(async (services) => print(await migrationStatus(services.db)));
  });

program
  .command('bootstrap-admin')
  .description(
    'local: create the first admin and an API key for it when there is no admin yet (refused while a server holds DATA_DIR); ' +
      'the key goes into --key-file (mode 0600) or, with --url, into a profile, never on the screen',
  )
  .option('--key-file <path>', 'write the key to this new file (mode 0600)')
  .action(async (options: { keyFile?: string }, command: Command) => {
    const globals = globalsOf(command);
    if (!options.keyFile && !globals.url)
      throw new CommandFailure('bootstrap-admin needs --key-file <path> or --url (to save a profile).', EXIT_USAGE);
    await withServices(async (services) => {
      const result = await ensureBootstrapAdmin({ db: services.db, signals: services.signals, keys: services.auth.keys });
      if (result.kind !== 'created') throw new CommandFailure('An admin exists already: nothing done.', 1);
      if (options.keyFile) await writeFile(options.keyFile, `${result.apiKey}\n`, { mode: 0o600, flag: 'wx' });
      if (globals.url) {
        const name = globals.profile ?? DEFAULT_PROFILE;
        const file = await readProfiles();
        file.profiles[name] = { url: normalizeUrl(globals.url), apiKey: result.apiKey };
        file.current = name;
        await writeProfiles(file);
      }
      const where = [options.keyFile, globals.url && `profile "${globals.profile ?? DEFAULT_PROFILE}"`].filter(Boolean).join(' and ');
      if (globals.json) print({ email: result.email, savedIn: where });
      else process.stderr.write(`Created the first admin (${result.email}); its API key is in ${where}.\n`);
    });
  });

registerStripeCommands(program);

const first = process.argv[2];
if (first === '--version' || first === '-V') {
  process.stdout.write(`${version}\n`);
  process.exit(0);
}

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // --help and --version end here with exit 0; a usage error was already printed by commander.
    process.exit(error.exitCode === 0 ? 0 : EXIT_USAGE);
  }
  process.stderr.write(`coffer: ${describeFailure(error)}\n`);
  process.exit(exitCodeOf(error));
});
