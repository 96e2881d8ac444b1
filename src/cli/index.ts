#!/usr/bin/env node
import { SingleBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { generateApiKey } from '../auth/index.js';
import { migrationStatus } from '../db/migrate.js';
import { SYSTEM_ACTOR } from '../auth/index.js';
import { DataDirLockedError } from '../db/data-dir-lock.js';
import { purgeRetiredMasterKeys, rotateMasterKey, rotateRootKey } from '../features/master-keys/index.js';
import { createApiKey, issueToken, revokeApiKey } from '../features/credentials/index.js';
import { createUser, findUser as findUserByIdOrEmail } from '../features/users/index.js';
import { Role } from '../generated/prisma/enums.js';
import type { Services } from '../services.js';
import { registerStripeCommands } from './stripe/index.js';
import { CommandFailure, describeFailure, print, withServices } from './support.js';

/** Operator commands: the same services the server uses, against the configured database. */
const program = new Command('coffer').description('Coffer operator commands').showHelpAfterError();

async function findUser(services: Services, idOrEmail: string) {
  const user = await findUserByIdOrEmail({ db: services.db, idOrEmail });
  if (!user) throw new CommandFailure(`No user ${idOrEmail}.`, 1);
  return user;
}

const parseRole = (value: string) => {
  const role = value.toUpperCase();
  if (!(role in Role)) throw new InvalidArgumentError('must be ADMIN or DEVELOPER');
  return role as Role;
};

program
  .command('migrate')
  .description('apply pending database migrations (also done at start-up) and print the status')
  .action(async () => {
    // Opening the services applies pending migrations; report what the database now holds.
    await withServices(async (services) => print(await migrationStatus(services.db)));
  });

const user = program.command('user').description('manage users');
user
  .command('create')
  .requiredOption('--email <email>', 'email address')
  .option('--name <name>', 'display name')
  .option('--role <role>', 'ADMIN or DEVELOPER', parseRole, 'DEVELOPER' as Role)
  .action(async (options: { email: string; name?: string; role: Role }) => {
    await withServices(async ({ db }) => {
      const created = await createUser({ db, input: { email: options.email, name: options.name ?? null, role: options.role } });
      print({ id: created.id, email: created.email, role: created.role });
    });
  });

const token = program.command('token').description('JWTs');
token
  .command('issue')
  .requiredOption('--user <idOrEmail>', 'the user the token is for')
  .action(async (options: { user: string }) => {
    await withServices(async (services) => {
      const target = await findUser(services, options.user);
      print(
        await issueToken({
          db: services.db,
          keys: services.auth.keys,
          ttlSeconds: services.config.tokenTtlSeconds,
          userId: target.id,
          now: new Date(),
        }),
      );
    });
  });

const apiKey = program.command('api-key').description('API keys');
apiKey
  .command('create')
  .requiredOption('--user <idOrEmail>', 'the user the key is for')
  .requiredOption('--name <name>', 'what the key is for')
  .action(async (options: { user: string; name: string }) => {
    await withServices(async (services) => {
      const target = await findUser(services, options.user);
      const { apiKey: created, key } = await createApiKey({
        db: services.db,
        keys: services.auth.keys,
        userId: target.id,
        name: options.name,
      });
      print({ id: created.id, name: created.name, key });
    });
  });
apiKey
  .command('revoke')
  .argument('<id>', 'API key id')
  .action(async (id: string) => {
    await withServices(async (services) => {
      const revoked = await revokeApiKey({ db: services.db, signals: services.signals, viewer: null, id, now: new Date() });
      print({ id: revoked.id, revokedAt: revoked.revokedAt });
    });
  });
apiKey
  .command('generate')
  .description('print a new random key, e.g. for COFFER_ADMIN_API_KEY (touches no database)')
  .action(() => {
    process.stdout.write(`${generateApiKey().key}\n`);
  });

program
  .command('rotate-master-key')
  .description('re-wrap every data key under the active master key term (resumable); --generate adds a new active term first')
  .option('--generate', 'generate a new master key and make it active first')
  .option('--batch-size <n>', 'data keys per committed batch', (value) => Number.parseInt(value, 10), 500)
  .action(async (options: { generate?: boolean; batchSize: number }) => {
    await withServices(async (services) => {
      const bar = new SingleBar({ format: 'rotating {bar} {value}/{total} data keys', stream: process.stderr }, Presets.shades_classic);
      let started = false;
      const result = await rotateMasterKey({
        db: services.db,
        keyring: services.keyring,
        actor: SYSTEM_ACTOR,
        generateNewKey: options.generate ?? false,
        batchSize: options.batchSize,
        onProgress: ({ rewrapped, total }) => {
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(rewrapped);
        },
      });
      if (started) bar.stop();
      print(result);
    });
  });

program
  .command('purge-retired-master-keys')
  .description('delete retired master key terms for good (refused while any data key uses one; older backups keep them)')
  .action(async () => {
    await withServices(async ({ db, keyring }) => print(await purgeRetiredMasterKeys({ db, keyring, actor: SYSTEM_ACTOR })));
  });

program
  .command('rotate-root-key')
  .description(
    're-seal the keyring under a new root key: --generate with the generated DATA_DIR/root-key, else the first configured root key',
  )
  .option('--generate', 'generate the new root key (generated DATA_DIR/root-key only)')
  .action(async (options: { generate?: boolean }) => {
    await withServices(async ({ db, keyring }) => {
      print(await rotateRootKey({ db, keyring, actor: SYSTEM_ACTOR, generate: options.generate ?? false }));
    });
  });

registerStripeCommands(program);

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`${describeFailure(error)}\n`);
  process.exit(error instanceof CommandFailure || error instanceof DataDirLockedError ? error.exitCode : 1);
});
