import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { ensureBootstrapAdmin } from './features/credentials/index.js';
import { hasActiveAdmin } from './features/users/index.js';
import { createLogger, flushLogs } from './logger.js';
import { openServices } from './services.js';
import { startTracing, tracingSettings } from './tracing.js';

/** `npm start`: configuration, database, first admin, then listen until SIGTERM/SIGINT. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  // Before the database opens, so Prisma's statements are traced from the first one.
  const tracing = await startTracing(tracingSettings(), process.env.npm_package_version ?? 'unknown');
  if (tracing) logger.info('tracing: exporting spans over OTLP');
  const services = await openServices(config, logger);
  const keyFile = config.adminKeyFile && !config.adminApiKey ? await reserveAdminKeyFile(config.adminKeyFile, services.db) : undefined;
  const bootstrap = await ensureBootstrapAdmin({
    db: services.db,
    signals: services.signals,
    keys: services.auth.keys,
    configuredKey: config.adminApiKey,
  });
  if (keyFile && bootstrap.kind === 'created') {
    await keyFile.handle.writeFile(`${bootstrap.apiKey}\n`);
    await keyFile.handle.close();
    process.stdout.write(`\nCoffer created the first admin (${bootstrap.email}). Its API key is in ${keyFile.path} (mode 0600).\n\n`);
  } else if (keyFile) {
    // An admin existed already: nothing to hand over, so leave no empty file behind.
    await keyFile.handle.close();
    await unlink(keyFile.path);
  }
  if (bootstrap.kind === 'created' && !keyFile) {
    // Printed, not logged: the key must not end up in log aggregation. Shown once. A development
    // convenience; COFFER_ADMIN_KEY_FILE hands it over in a file instead.
    process.stdout.write(
      `\nCoffer created the first admin (${bootstrap.email}). Its API key, shown only this once:\n\n    ${bootstrap.apiKey}\n\n` +
        'Use it as the x-api-key header. Store it now.\n\n',
    );
  } else if (bootstrap.kind === 'registered-configured-key') {
    logger.info({ email: bootstrap.email }, 'registered COFFER_ADMIN_API_KEY for the admin');
  }

  const yoga = createApp(services);
  const http = createHttpServer(yoga);
  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    http.server.listen(config.port, config.host, resolve);
  });
  const { port } = http.server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}/graphql`;
  await services.db.advertise(url);
  logger.info({ url, database: services.db.kind }, 'Coffer is listening');
  services.startBackgroundWork();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.error('in-flight requests did not finish within 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    await http.close();
    await yoga.dispose();
    await services.close();
    await tracing?.shutdown();
    logger.info('stopped');
    await flushLogs(logger);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

class AdminKeyFileError extends Error {}

/**
 * COFFER_ADMIN_KEY_FILE: created exclusively with mode 0600 before any key exists, so a key is never
 * generated that cannot be handed over. An existing file is refused while there is no admin yet
 * (it would be overwritten); once an admin exists the file is the one an earlier start wrote.
 */
async function reserveAdminKeyFile(path: string, db: Parameters<typeof hasActiveAdmin>[0]['db']) {
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AdminKeyFileError(`COFFER_ADMIN_KEY_FILE ${path} cannot be created: ${(error as Error).message}`);
    }
    if (await hasActiveAdmin({ db })) return undefined;
    throw new AdminKeyFileError(
      `COFFER_ADMIN_KEY_FILE ${path} already exists and Coffer will not overwrite it; ` +
        'move it away or name a file that does not exist yet.',
    );
  }
  await handle.chmod(0o600);
  return { handle, path };
}

main().catch((error: unknown) => {
  process.stderr.write(`Coffer failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof DataDirLockedError ? error.exitCode : error instanceof AdminKeyFileError ? 78 : 1);
});
