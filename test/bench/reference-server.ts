import type { Server } from 'node:http';

/**
 * For the benchmark's own servers (bare-server.ts, ceiling-server.ts), forked with IPC: listen on
 * a free port, tell the harness which, and exit when the harness goes away (even if it was killed).
 */
export async function listenAndReport(server: Server, close: () => Promise<void> = async () => undefined): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  } catch (error) {
    process.send?.({ error: String(error) });
    process.exit(1);
  }
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  const stop = () => {
    server.closeAllConnections();
    server.close();
    void close().finally(() => process.exit(0));
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
