import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import type { CofferClient, SecretScopeInput } from '../client/index.js';
import { connect } from './connection.js';
import { addScopeOptions, scopeOf, type ScopeOptions } from './secrets.js';
import { CommandFailure, EXIT_USAGE } from './support.js';

/**
 * `coffer run -- COMMAND ARGS...`: one bulk read, then the command with the secrets as environment
 * variables. Signals and stdin go through to it; its exit code is ours. With --watch, a change to
 * the scope's secrets restarts it with the new values.
 */

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** What a shell reports for a command killed by a signal: 128 + its number. */
const exitCodeForSignal = (signal: NodeJS.Signals) => 128 + (constants.signals[signal] ?? 0);

async function secretEnvironment(client: CofferClient, scope: SecretScopeInput): Promise<Record<string, string>> {
  return client.secretMap(scope);
}

function start(argv: string[], secrets: Record<string, string>): ChildProcess {
  // The key of this CLI is not the command's business: only the secrets are added.
  const env: NodeJS.ProcessEnv = { ...process.env, ...secrets };
  delete env.COFFER_API_KEY;
  return spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env });
}

export function registerRunCommand(program: Command) {
  addScopeOptions(
    program
      .command('run')
      .description(
        'run a command with the secrets of a scope as environment variables (one bulk read); ' +
          'passes signals and stdin, exits with its exit code; ' +
          '--watch restarts it when one of the secrets changes (project scope)',
      ),
  )
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--watch', 'restart the command when a secret of the scope changes')
    .option('--restart-signal <signal>', 'the signal that stops the command for a restart', 'SIGTERM')
    .action(async (argv: string[], options: ScopeOptions & { watch?: boolean; restartSignal: string }, command: Command) => {
      const scope = scopeOf(options);
      if (options.watch && scope.type !== 'PROJECT')
        throw new CommandFailure('--watch follows a project environment: give --project.', EXIT_USAGE);
      const client = await connect(command);
      let secrets = await secretEnvironment(client, scope);

      let child = start(argv, secrets);
      let restarting = false;
      const forward = (signal: NodeJS.Signals) => () => {
        child.kill(signal);
      };
      const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
      for (const [signal, handler] of handlers) process.on(signal, handler);

      let stopWatching = () => {};
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        const attach = (current: ChildProcess) => {
          current.once('error', (error: NodeJS.ErrnoException) => {
            reject(
              new CommandFailure(`Cannot run ${argv[0]} (${error.code ?? error.message}).`, error.code === 'ENOENT' ? 127 : EXIT_USAGE),
            );
          });
          current.once('exit', (code, signal) => {
            if (restarting && current === child) return;
            if (current === child) resolve({ code, signal });
          });
        };
        attach(child);
        if (options.watch) {
          const names = () => new Set(Object.keys(secrets));
          stopWatching = client.followSecretChanges(
            { projectId: String(scope.projectId), environment: scope.environment ?? null },
            (change) => {
              // A change of a served secret, or a new one that may now be served.
              if (!names().has(change.name) && change.kind !== 'CREATED' && change.kind !== 'RESTORED') return;
              void restart();
            },
            (error) => reject(error),
          );
        }
        let pending: Promise<void> | null = null;
        const restart = () => {
          pending ??= (async () => {
            const fresh = await secretEnvironment(client, scope);
            restarting = true;
            const old = child;
            const stopped = new Promise<void>((resolve) =>
              old.exitCode !== null || old.signalCode !== null ? resolve() : old.once('exit', () => resolve()),
            );
            old.kill(options.restartSignal as NodeJS.Signals);
            await stopped;
            secrets = fresh;
            process.stderr.write(`coffer run: secrets changed, restarting ${argv[0]}\n`);
            child = start(argv, secrets);
            restarting = false;
            attach(child);
          })()
            .catch(reject)
            .finally(() => {
              pending = null;
            });
          return pending;
        };
      }).finally(async () => {
        stopWatching();
        for (const [signal, handler] of handlers) process.off(signal, handler);
        await client.close();
      });
      process.exitCode = exit.signal ? exitCodeForSignal(exit.signal) : (exit.code ?? 1);
    });
}
