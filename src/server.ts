import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { ensureBootstrapAdmin } from './features/credentials/index.js';
import { createLogger, flushLogs } from './logger.js';
import { openServices } from './services.js';

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
  const services = await openServices(config, logger, { background: true });
  const bootstrap = await ensureBootstrapAdmin({
    db: services.db,
    signals: services.signals,
    keys: services.auth.keys,
    configuredKey: config.adminApiKey,
  });
  if (bootstrap.kind === 'created') {
    // Printed, not logged: the key must not end up in log aggregation. Shown once.
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
    logger.info('stopped');
    await flushLogs(logger);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`Coffer failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof DataDirLockedError ? error.exitCode : 1);
});
