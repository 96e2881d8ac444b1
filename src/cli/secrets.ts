import { readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CofferClientError, type CofferClient, type SecretScopeInput } from '../client/index.js';
import {
  DeleteSecretDocument,
  RestoreSecretDocument,
  RollbackSecretDocument,
  SecretDocument,
  SecretVersionsDocument,
  UpsertSecretDocument,
  UpsertSecretsDocument,
} from '../client/documents.js';
import { connect, globalsOf } from './connection.js';
import { formatValues, parseDotenv, type ExportFormat } from './dotenv.js';
import { promptHidden, readStdin, withoutFinalNewline } from './prompt.js';
import { CommandFailure, EXIT_USAGE, print } from './support.js';

/** `coffer secrets ...`: every workflow through the API, values only ever on stdout of get/export. */

export interface ScopeOptions {
  project?: string;
  environment?: string;
  scope?: 'account' | 'user' | 'project';
  user?: string;
}

/** --project/--environment (or COFFER_PROJECT/COFFER_ENVIRONMENT) for a project environment; --scope account|user otherwise. */
export function addScopeOptions(command: Command): Command {
  return command
    .option('--project <id>', 'project id (PROJECT scope; default $COFFER_PROJECT)')
    .option('--environment <name>', 'environment of the project (default $COFFER_ENVIRONMENT, else production)')
    .addOption(
      new Option('--scope <scope>', 'account, user or project (default: project when a project is given, else account)').choices([
        'account',
        'user',
        'project',
      ]),
    )
    .option('--user <id>', 'the user whose USER secrets (admins; default yourself)');
}

export function scopeOf(options: ScopeOptions): SecretScopeInput {
  const project = options.project ?? (process.env.COFFER_PROJECT || undefined);
  const environment = options.environment ?? (process.env.COFFER_ENVIRONMENT || undefined);
  const scope = options.scope ?? (project ? 'project' : 'account');
  if (scope === 'project') {
    if (!project) throw new CommandFailure('PROJECT scope needs --project <id> (or COFFER_PROJECT).', EXIT_USAGE);
    return { type: 'PROJECT', projectId: project, environment: environment ?? null };
  }
  if (options.project || options.environment)
    throw new CommandFailure(`--project/--environment do not go with --scope ${scope}.`, EXIT_USAGE);
  return scope === 'user' ? { type: 'USER', userId: options.user ?? null } : { type: 'ACCOUNT' };
}

const parseVersion = (value: string) => {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a version number (1, 2, ...)');
  return Number(value);
};

const parseFormat = (value: string): ExportFormat => {
  if (value !== 'dotenv' && value !== 'json' && value !== 'yaml') throw new InvalidArgumentError('must be dotenv, json or yaml');
  return value;
};

type Cell = string | number | boolean | null | undefined;

function table(rows: Array<Record<string, Cell>>, columns: string[]): string {
  const text = rows.map((row) => columns.map((column) => String(row[column] ?? '')));
  const widths = columns.map((column, index) => Math.max(column.length, ...text.map((cells) => cells[index]!.length)));
  const line = (cells: string[]) =>
    `${cells
      .map((cell, index) => cell.padEnd(widths[index]!))
      .join('  ')
      .trimEnd()}\n`;
  return line(columns.map((column) => column.toUpperCase())) + text.map(line).join('');
}

/** Where a value comes from: --value (warned), stdin when piped, else a prompt without echo. */
async function valueToSet(explicit: string | undefined): Promise<string> {
  if (explicit !== undefined) {
    process.stderr.write(
      'Warning: a value given with --value stays in your shell history and is visible to other local users in the process list; ' +
        'pipe it on stdin instead.\n',
    );
    return explicit;
  }
  if (process.stdin.isTTY) return promptHidden('Value: ');
  return withoutFinalNewline(await readStdin());
}

export function registerSecretCommands(program: Command) {
  const secrets = program.command('secrets').description('read and write secrets (values only ever on stdout of get and export)');

  addScopeOptions(secrets.command('get').description('print one secret value alone on stdout (for $(coffer secrets get NAME))'))
    .argument('<name>', 'secret name')
    .option('--version <n>', 'an older version', parseVersion)
    .option('--raw', 'the stored text, references not expanded')
    .action(async (name: string, options: ScopeOptions & { version?: number; raw?: boolean }, command: Command) => {
      const client = await connect(command);
      const data = await client.request(SecretDocument, { name, scope: scopeOf(options), version: options.version ?? null });
      if (globalsOf(command).json)
        print({ name: data.secret.name, version: data.secret.version, environment: data.secret.environment, value: data.secret.value });
      else process.stdout.write(process.stdout.isTTY ? `${data.secret.value}\n` : data.secret.value);
    });

  addScopeOptions(
    secrets
      .command('set')
      .description('create or replace a secret: the value from stdin when piped (one final newline dropped), else a prompt without echo'),
  )
    .argument('<name>', 'secret name')
    .option('--value <value>', 'the value as an argument (stays in shell history: prefer stdin)')
    .option('--description <text>', 'what the secret is for')
    .option('--expected-version <n>', 'only if the current version is this (0: only if it does not exist)', (value) => {
      if (!/^\d{1,9}$/.test(value)) throw new InvalidArgumentError('must be a version number (0 for "must not exist")');
      return Number(value);
    })
    .action(
      async (
        name: string,
        options: ScopeOptions & { value?: string; description?: string; expectedVersion?: number },
        command: Command,
      ) => {
        const scope = scopeOf(options);
        const client = await connect(command);
        const value = await valueToSet(options.value);
        const { upsertSecret } = await client.request(UpsertSecretDocument, {
          input: { name, scope, value, description: options.description ?? null, expectedVersion: options.expectedVersion ?? null },
        });
        if (!upsertSecret) throw new CommandFailure(`${name} was not saved.`, 1);
        if (globalsOf(command).json) print(upsertSecret);
        else process.stderr.write(`${upsertSecret.name} is at version ${upsertSecret.currentVersion}.\n`);
      },
    );

  addScopeOptions(secrets.command('list').description('the secrets of a scope (names and metadata, never values)'))
    .option('--prefix <prefix>', 'names starting with this')
    .option('--include-deleted', 'soft-deleted ones too')
    .action(async (options: ScopeOptions & { prefix?: string; includeDeleted?: boolean }, command: Command) => {
      const client = await connect(command);
      const list = await client.listSecrets({
        scope: scopeOf(options),
        filter: { namePrefix: options.prefix ?? null, includeDeleted: options.includeDeleted ?? false },
      });
      if (globalsOf(command).json) {
        print(list);
        return;
      }
      const rows = list.map((secret) => ({
        ...secret,
        version: secret.currentVersion,
        state: secret.deletedAt ? 'deleted' : secret.isExpired ? 'expired' : secret.isActive ? 'active' : 'inactive',
      }));
      process.stdout.write(table(rows, ['name', 'version', 'state', 'environment', 'updatedAt']));
    });

  addScopeOptions(secrets.command('history').description("a secret's kept versions, newest first (never values)"))
    .argument('<name>', 'secret name')
    .action(async (name: string, options: ScopeOptions, command: Command) => {
      const client = await connect(command);
      const { secretVersions } = await client.request(SecretVersionsDocument, { name, scope: scopeOf(options) });
      if (globalsOf(command).json) print(secretVersions);
      else process.stdout.write(table(secretVersions, ['version', 'createdAt', 'createdById']));
    });

  addScopeOptions(secrets.command('rollback').description('make an older version current again (as a new version)'))
    .argument('<name>', 'secret name')
    .requiredOption('--to <version>', 'the version to bring back', parseVersion)
    .action(async (name: string, options: ScopeOptions & { to: number }, command: Command) => {
      const client = await connect(command);
      const { rollbackSecret } = await client.request(RollbackSecretDocument, {
        name,
        scope: scopeOf(options),
        version: options.to,
        expectedVersion: null,
      });
      report(
        command,
        rollbackSecret,
        (secret) => `${secret.name} is at version ${secret.currentVersion} (the value of version ${options.to}).`,
      );
    });

  addScopeOptions(secrets.command('delete').description('soft delete (restore brings it back)'))
    .argument('<name>', 'secret name')
    .action(async (name: string, options: ScopeOptions, command: Command) => {
      const client = await connect(command);
      const { deleteSecret } = await client.request(DeleteSecretDocument, { name, scope: scopeOf(options) });
      report(command, deleteSecret, (secret) => `${secret.name} is deleted (coffer secrets restore ${secret.name} brings it back).`);
    });

  addScopeOptions(secrets.command('restore').description('bring back a soft-deleted secret'))
    .argument('<name>', 'secret name')
    .action(async (name: string, options: ScopeOptions, command: Command) => {
      const client = await connect(command);
      const { restoreSecret } = await client.request(RestoreSecretDocument, { name, scope: scopeOf(options) });
      report(command, restoreSecret, (secret) => `${secret.name} is restored at version ${secret.currentVersion}.`);
    });

  addScopeOptions(
    secrets
      .command('import')
      .description('import a .env file: shows the plan (created / changed / unchanged); --yes applies it, all or nothing'),
  )
    .argument('<file>', 'the .env file ("-" for stdin)')
    .option('--yes', 'apply the plan')
    .action(async (file: string, options: ScopeOptions & { yes?: boolean }, command: Command) => {
      const scope = scopeOf(options);
      const text =
        file === '-'
          ? await readStdin()
          : await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
              throw new CommandFailure(`Cannot read ${file} (${error.code ?? 'error'}).`, EXIT_USAGE);
            });
      const parsed = parseDotenv(text);
      if (parsed.duplicates.length > 0) {
        const named = parsed.duplicates.map((entry) => `${entry.name} (lines ${entry.lines.join(', ')})`).join(', ');
        throw new CommandFailure(`${file} gives names more than once: ${named}. Nothing imported.`, 1);
      }
      // Coffer stores no empty value: refused here, before any write, rather than half way through.
      const empty = Object.entries(parsed.values)
        .filter(([, value]) => value === '')
        .map(([name]) => name);
      if (empty.length > 0)
        throw new CommandFailure(`${file} has empty values, which Coffer does not store: ${empty.join(', ')}. Nothing imported.`, 1);
      const client = await connect(command);
      const plan = await importPlan(client, scope, parsed.values);
      const json = globalsOf(command).json;
      if (!options.yes) {
        if (json) print({ applied: false, ...planNames(plan) });
        else process.stderr.write(`${describePlan(plan)}Run again with --yes to apply it.\n`);
        return;
      }
      await applyPlan(client, scope, plan);
      if (json) print({ applied: true, ...planNames(plan) });
      else process.stderr.write(`${describePlan(plan)}Applied.\n`);
    });

  addScopeOptions(
    secrets.command('export').description('every value the scope serves, as dotenv, json or yaml, on stdout (or --output FILE, mode 0600)'),
  )
    .option('--format <format>', 'dotenv, json or yaml', parseFormat, 'dotenv' as ExportFormat)
    .option('--output <file>', 'write to this file (mode 0600) instead of stdout')
    .option('--raw', 'stored texts, references not expanded')
    .action(async (options: ScopeOptions & { format: ExportFormat; output?: string; raw?: boolean }, command: Command) => {
      const client = await connect(command);
      const values = await client.secretValues(scopeOf(options), { raw: options.raw ?? false });
      const map = Object.fromEntries(values.map((secret) => [secret.name, secret.value]));
      let text: string;
      try {
        text = formatValues(map, options.format);
      } catch (error) {
        throw new CommandFailure((error as Error).message, 1);
      }
      if (options.output) await writeFile(options.output, text, { mode: 0o600 });
      else process.stdout.write(text);
    });
}

function report<T extends { name: string } | null | undefined>(command: Command, value: T, describe: (value: NonNullable<T>) => string) {
  if (!value) throw new CommandFailure('The server answered nothing.', 1);
  if (globalsOf(command).json) print(value);
  else process.stderr.write(`${describe(value)}\n`);
}

interface PlannedEntry {
  name: string;
  value: string;
  /** 0 when the secret does not exist (it will be created). */
  currentVersion: number;
}
interface ImportPlan {
  created: PlannedEntry[];
  changed: PlannedEntry[];
  unchanged: PlannedEntry[];
}

const planNames = (plan: ImportPlan) => ({
  created: plan.created.map((entry) => entry.name),
  changed: plan.changed.map((entry) => entry.name),
  unchanged: plan.unchanged.map((entry) => entry.name),
});

function describePlan(plan: ImportPlan): string {
  const lines = [
    ...plan.created.map((entry) => `  + ${entry.name} (new)`),
    ...plan.changed.map((entry) => `  ~ ${entry.name} (changed, now version ${entry.currentVersion})`),
  ];
  const counts = `${plan.created.length} to create, ${plan.changed.length} to change, ${plan.unchanged.length} unchanged`;
  return `Plan: ${counts}.\n${lines.map((line) => `${line}\n`).join('')}`;
}

async function importPlan(client: CofferClient, scope: SecretScopeInput, values: Record<string, string>): Promise<ImportPlan> {
  const names = Object.keys(values);
  const existing = new Map((await client.listSecrets({ scope })).map((secret) => [secret.name, secret]));
  // Stored texts (raw) of what is served, to compare with the file; inactive or expired ones count as changed.
  const served = new Map<string, string>();
  for (let index = 0; index < names.length; index += 500) {
    const chunk = names.slice(index, index + 500).filter((name) => existing.has(name));
    if (chunk.length === 0) continue;
    for (const secret of await client.secretValues(scope, { names: chunk, raw: true })) served.set(secret.name, secret.value);
  }
  const plan: ImportPlan = { created: [], changed: [], unchanged: [] };
  for (const name of names) {
    const entry = { name, value: values[name]!, currentVersion: existing.get(name)?.currentVersion ?? 0 };
    if (!existing.has(name)) plan.created.push(entry);
    else if (served.get(name) === entry.value) plan.unchanged.push(entry);
    else plan.changed.push(entry);
  }
  return plan;
}

/** What one import may write: the server writes at most this many secrets in one transaction. */
const MAX_IMPORT_WRITES = 500;

/**
 * Applies a plan in one request (`upsertSecrets`): the server writes every created and changed
 * secret in one transaction, each checked against the version the plan saw, or nothing at all
 * (an invalid value, or a secret changed since the plan: CONFLICT naming it).
 */
async function applyPlan(client: CofferClient, scope: SecretScopeInput, plan: ImportPlan): Promise<void> {
  const writes = [...plan.created, ...plan.changed];
  if (writes.length === 0) return;
  if (writes.length > MAX_IMPORT_WRITES)
    throw new CommandFailure(
      `The plan writes ${writes.length} secrets; one import writes at most ${MAX_IMPORT_WRITES} (all or nothing): ` +
        'split the file. Nothing imported.',
      1,
    );
  try {
    await client.request(UpsertSecretsDocument, {
      scope,
      secrets: writes.map((entry) => ({ name: entry.name, value: entry.value, expectedVersion: entry.currentVersion })),
    });
  } catch (error) {
    if (!(error instanceof CofferClientError) || !REFUSALS.has(error.code)) throw error;
    const fields = error.fields.map((field) => `${fieldName(field.field, writes)}: ${field.message}`).join('; ');
    // One line: control characters in a server message never split it.
    // eslint-disable-next-line no-control-regex
    const reason = `${error.code}: ${error.reason}${fields ? ` (${fields})` : ''}`.replace(/[\u0000-\u001f\u007f]/g, ' ');
    throw new CommandFailure(`Import refused, nothing imported: ${reason}`, 1);
  }
}

/** What the server refuses a bulk write for, with nothing written; anything else (no answer...) is reported as it is. */
const REFUSALS = new Set(['BAD_USER_INPUT', 'CONFLICT', 'FORBIDDEN', 'NOT_FOUND']);

/** `secrets.3.value` names the secret it is about (never its value). */
function fieldName(field: string, writes: PlannedEntry[]): string {
  const match = /^secrets\.(\d+)\.(\w+)$/.exec(field);
  const entry = match ? writes[Number(match[1])] : undefined;
  return entry ? `${entry.name} (${match![2]})` : field;
}
