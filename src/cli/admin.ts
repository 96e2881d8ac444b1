import { Presets, SingleBar } from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import type { CofferClient } from '../client/index.js';
import {
  ApiKeysDocument,
  CreateApiKeyDocument,
  CreateProjectDocument,
  CreateUserDocument,
  DisableUserDocument,
  EnableUserDocument,
  IssueTokenDocument,
  ProjectsDocument,
  PurgeRetiredMasterKeysDocument,
  RevokeApiKeyDocument,
  RotateMasterKeyDocument,
  RotateRootKeyDocument,
  UsersDocument,
} from '../client/documents.js';
import type { CofferClientProjectsQuery, CofferClientUsersQuery } from '../generated/graphql/graphql.js';
import { connect, globalsOf } from './connection.js';
import { CommandFailure, print } from './support.js';

/** Users, tokens, API keys, projects and the keyring: every one through the API. */

type Role = 'ADMIN' | 'DEVELOPER';
const parseRole = (value: string): Role => {
  const role = value.toUpperCase();
  if (role !== 'ADMIN' && role !== 'DEVELOPER') throw new InvalidArgumentError('must be ADMIN or DEVELOPER');
  return role;
};

type UserRow = CofferClientUsersQuery['users']['nodes'][number];

async function allUsers(client: CofferClient): Promise<UserRow[]> {
  const users: UserRow[] = [];
  let after: string | null = null;
  for (;;) {
    const data: CofferClientUsersQuery = await client.request(UsersDocument, { first: 100, after });
    users.push(...data.users.nodes);
    if (!data.users.pageInfo.hasNextPage || !data.users.pageInfo.endCursor) return users;
    after = data.users.pageInfo.endCursor;
  }
}

/** A user id as given, or the id of the user with that email (admins can list users). */
async function userIdOf(client: CofferClient, idOrEmail: string): Promise<string> {
  if (!idOrEmail.includes('@')) return idOrEmail;
  const email = idOrEmail.trim().toLowerCase();
  const found = (await allUsers(client)).find((user) => user.email === email);
  if (!found) throw new CommandFailure(`No user ${idOrEmail}.`, 1);
  return found.id;
}

function output(command: Command, value: unknown, line: string) {
  if (globalsOf(command).json) print(value);
  else process.stdout.write(`${line}\n`);
}

export function registerAdminCommands(program: Command) {
  const user = program.command('user').alias('users').description('users (admins)');
  user
    .command('create')
    .description('create a user')
    .requiredOption('--email <email>', 'email address')
    .option('--name <name>', 'display name')
    .option('--role <role>', 'ADMIN or DEVELOPER', parseRole, 'DEVELOPER' as Role)
    .action(async (options: { email: string; name?: string; role: Role }, command: Command) => {
      const client = await connect(command);
      const { createUser } = await client.request(CreateUserDocument, {
        input: { email: options.email, name: options.name ?? null, role: options.role },
      });
      output(command, createUser, `${createUser!.id}\t${createUser!.email}\t${createUser!.role}`);
    });
  user
    .command('list')
    .description('every user')
    .action(async (_options: unknown, command: Command) => {
      const users = await allUsers(await connect(command));
      output(
        command,
        users,
        users.map((each) => `${each.id}\t${each.email}\t${each.role}${each.disabledAt ? '\tdisabled' : ''}`).join('\n'),
      );
    });

  user
    .command('disable')
    .description('disable a user: their API keys and tokens are refused at once (not yourself, nor the last enabled admin)')
    .argument('<idOrEmail>', 'user id or email')
    .action(async (idOrEmail: string, _options: unknown, command: Command) => {
      const client = await connect(command);
      const { disableUser } = await client.request(DisableUserDocument, { id: await userIdOf(client, idOrEmail) });
      output(command, disableUser, `Disabled ${disableUser!.id} (${disableUser!.email}).`);
    });
  user
    .command('enable')
    .description('enable a disabled user again: their unrevoked API keys work again')
    .argument('<idOrEmail>', 'user id or email')
    .action(async (idOrEmail: string, _options: unknown, command: Command) => {
      const client = await connect(command);
      const { enableUser } = await client.request(EnableUserDocument, { id: await userIdOf(client, idOrEmail) });
      output(command, enableUser, `Enabled ${enableUser!.id} (${enableUser!.email}).`);
    });

  const token = program.command('token').description('JWTs');
  token
    .command('issue')
    .description('issue a short-lived JWT for a user (admins); printed on stdout')
    .requiredOption('--user <idOrEmail>', 'the user the token is for')
    .action(async (options: { user: string }, command: Command) => {
      const client = await connect(command);
      const { issueToken } = await client.request(IssueTokenDocument, { input: { userId: await userIdOf(client, options.user) } });
      output(command, issueToken, issueToken!.token);
    });

  const apiKey = program.command('api-key').description('API keys');
  apiKey
    .command('create')
    .description('create an API key (yours, or --user for admins); the key is printed once on stdout')
    .requiredOption('--name <name>', 'what the key is for')
    .option('--user <idOrEmail>', 'the user the key is for (admins)')
    .option('--expires-at <date>', 'ISO date-time it stops working')
    .action(async (options: { name: string; user?: string; expiresAt?: string }, command: Command) => {
      const client = await connect(command);
      const userId = options.user ? await userIdOf(client, options.user) : null;
      const { createApiKey } = await client.request(CreateApiKeyDocument, {
        input: { name: options.name, userId, expiresAt: options.expiresAt ?? null },
      });
      output(command, { ...createApiKey!.apiKey, key: createApiKey!.key }, createApiKey!.key);
    });
  apiKey
    .command('list')
    .description('your API keys (never the keys themselves)')
    .action(async (_options: unknown, command: Command) => {
      const { me } = await (await connect(command)).request(ApiKeysDocument);
      output(
        command,
        me.apiKeys,
        me.apiKeys.map((key) => `${key.id}\t${key.prefix}\t${key.name}${key.revokedAt ? '\trevoked' : ''}`).join('\n'),
      );
    });
  apiKey
    .command('revoke')
    .description('revoke an API key')
    .argument('<id>', 'API key id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const { revokeApiKey } = await (await connect(command)).request(RevokeApiKeyDocument, { id });
      output(command, revokeApiKey, `Revoked ${revokeApiKey!.id} (${revokeApiKey!.name}).`);
    });

  const project = program.command('project').description('projects');
  project
    .command('create')
    .description('create a project (yours)')
    .requiredOption('--name <name>', 'project name')
    .action(async (options: { name: string }, command: Command) => {
      const { createProject } = await (await connect(command)).request(CreateProjectDocument, { input: { name: options.name } });
      output(command, createProject, `${createProject!.id}\t${createProject!.name}`);
    });
  project
    .command('list')
    .description('your projects (admins: every project)')
    .action(async (_options: unknown, command: Command) => {
      const client = await connect(command);
      const projects: CofferClientProjectsQuery['projects']['nodes'] = [];
      let after: string | null = null;
      for (;;) {
        const { projects: page }: CofferClientProjectsQuery = await client.request(ProjectsDocument, { first: 100, after });
        projects.push(...page.nodes);
        if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) break;
        after = page.pageInfo.endCursor;
      }
      output(
        command,
        projects,
        projects
          .map((each) => `${each.id}\t${each.name}\t${each.environments.map((environment) => environment.name).join(',')}`)
          .join('\n'),
      );
    });

  const masterKey = program.command('master-key').description('the keyring (admins)');
  masterKey
    .command('rotate')
    .description(
      're-wrap every data key under the active master key term, a batch per request with progress (resumable); ' +
        '--generate adds a new active term first',
    )
    .option('--generate', 'generate a new master key and make it active first')
    .action(async (options: { generate?: boolean }, command: Command) => {
      const client = await connect(command);
      const terminal = process.stderr.isTTY;
      const bar = terminal
        ? new SingleBar({ format: 'rotating {bar} {value}/{total} data keys', stream: process.stderr }, Presets.shades_classic)
        : null;
      let rewrapped = 0;
      let generate = options.generate ?? false;
      let last;
      for (;;) {
        // One batch per request: the server commits each, so an interrupted rotation resumes where it stopped.
        const { rotateMasterKey } = await client.request(RotateMasterKeyDocument, { generateNewKey: generate, maxBatches: 1 });
        generate = false;
        last = rotateMasterKey!;
        if (bar && rewrapped === 0) bar.start(last.rewrapped + last.remaining, 0);
        rewrapped += last.rewrapped;
        if (bar) {
          bar.setTotal(rewrapped + last.remaining);
          bar.update(rewrapped);
        } else process.stderr.write(`rotating: ${rewrapped} re-wrapped, ${last.remaining} remaining\n`);
        if (last.remaining === 0 || last.rewrapped === 0) break;
      }
      bar?.stop();
      output(
        command,
        { ...last, rewrapped },
        `Active master key ${last.activeKeyId}; ${rewrapped} data keys re-wrapped, ${last.remaining} remaining.`,
      );
    });
  masterKey
    .command('purge-retired')
    .description('delete retired master key terms for good (refused while any data key uses one; older backups keep them)')
    .action(async (_options: unknown, command: Command) => {
      const { purgeRetiredMasterKeys } = await (await connect(command)).request(PurgeRetiredMasterKeysDocument);
      output(
        command,
        purgeRetiredMasterKeys,
        `Purged: ${purgeRetiredMasterKeys!.purgedKeyIds.join(', ') || 'none'}. ${purgeRetiredMasterKeys!.note}`,
      );
    });
  program
    .command('rotate-root-key')
    .description(
      're-seal the keyring under a new root key: --generate with the generated DATA_DIR/root-key, else the first configured root key',
    )
    .option('--generate', 'generate the new root key (generated DATA_DIR/root-key only)')
    .action(async (options: { generate?: boolean }, command: Command) => {
      const { rotateRootKey } = await (await connect(command)).request(RotateRootKeyDocument, { generate: options.generate ?? false });
      output(command, rotateRootKey, `Root key ${rotateRootKey!.rootKeyId}; ${rotateRootKey!.resealedTerms} terms re-sealed.`);
    });
}
