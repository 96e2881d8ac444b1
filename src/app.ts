import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga, useReadinessCheck, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { migrationStatus } from './db/migrate.js';
import type { Context } from './graphql/context.js';
import type { Services } from './services.js';
import { corsFor, renderGraphiQLPage, useBrowserSurface, useIntrospection } from './graphql/browser.js';
import { asCofferError, maskError } from './graphql/errors.js';
import { attachGraphQLWebSocket } from './graphql/websocket.js';
import { useCompiledExecution } from './graphql/jit.js';
import { useInputGuard } from './graphql/input-guard.js';
import { useBodyLimit } from './graphql/body-limit.js';
import { countAuthFailure, useMetrics } from './graphql/metrics.js';
import { clientAddressOf, credentialHeaders, type InitialContext, type ServerContext } from './graphql/request.js';
import { isAdmin } from './auth/index.js';
import { requestIdFor, useErrorCodes, useRequestLogging, useRequestParseErrors } from './graphql/plugins.js';
import { buildGuardedSchema } from './schema.js';
import { useTracing } from './graphql/tracing.js';
import { tracingEnabled } from './tracing.js';
import { useTrustedDocuments } from './graphql/trusted-documents.js';
import { useStripeWebhooks } from './features/stripe/index.js';

/** The long-lived services of the process (see services.ts), plus a clock tests can move. */
export type AppDeps = Omit<Services, 'close'> & { now?: () => Date };

export type CofferYoga = YogaServerInstance<ServerContext, Context>;

/** The whole GraphQL application; tests call `yoga.fetch` on it, the server listens with it. */
export function createApp(deps: AppDeps): CofferYoga {
  const { config, db, logger, auth, events, keyring, signals } = deps;
  const now = deps.now ?? (() => new Date());
  let migrationsDone = false;

  const traced = tracingEnabled();
  // One authentication per request: the trusted-documents check and the context share it.
  const viewers = new WeakMap<Request, ReturnType<typeof auth.authenticate>>();
  const authenticate = (initial: InitialContext) => {
    let viewer = initial.request && viewers.get(initial.request);
    if (!viewer) {
      viewer = auth.authenticate(credentialHeaders(initial), now(), clientAddressOf(initial, config.trustProxyHops));
      if (initial.request) viewers.set(initial.request, viewer);
    }
    return viewer;
  };

  const plugins: Plugin[] = [
    ...(traced ? [useTracing()] : []),
    ...(config.metrics.enabled ? [useMetrics(config.metrics.token)] : []),
    EnvelopArmorPlugin({
      maxDepth: { n: 10 },
      maxAliases: { n: 15 },
      maxDirectives: { n: 20 },
      maxTokens: { n: 2000 },
      // Fragments cost what their fields cost, not one level deeper each (codegen clients use many).
      costLimit: { maxCost: 5000, flattenFragments: true },
      // "Did you mean ...?" describes the schema: off whenever introspection is.
      blockFieldSuggestion: { enabled: !config.introspection },
    }),
    useReadinessCheck({
      endpoint: '/readyz',
      check: async () => {
        const notReady = (reason: string) => Response.json({ ready: false, reason }, { status: 503, headers: { 'Retry-After': '5' } });
        try {
          await db.ping();
          // Once migrations are seen complete, readiness costs one ping.
          migrationsDone ||= (await migrationStatus(db)).pending.length === 0;
        } catch (error) {
          // The driver's words stay in the log: they may name hosts and users.
          logger.warn({ err: { type: (error as Error).name, message: (error as Error).message } }, 'readiness: database unavailable');
          return notReady('DATABASE_UNAVAILABLE');
        }
        if (!migrationsDone) return notReady('MIGRATIONS_PENDING');
        // Never ready while stored values cannot be read: the reason is in the log, and here.
        const problem = await keyring.readiness();
        return problem ? notReady(problem.code) : true;
      },
    }),
    useStripeWebhooks({ db, keyring, logger, now, config }),
    useBrowserSurface({ graphiql: config.graphiql }),
    useIntrospection(config.introspection),
    useBodyLimit(config.maxRequestBodyBytes),
    useRequestParseErrors(),
    useInputGuard(),
    useErrorCodes(),
    useRequestLogging(logger),
    useCompiledExecution(),
    ...(config.trustedDocuments
      ? useTrustedDocuments<ServerContext>(config.trustedDocuments, (initial) =>
          authenticate(initial).then(
            (viewer) => isAdmin(viewer),
            () => false,
          ),
        )
      : []),
  ];

  return createYoga<ServerContext, Context>({
    schema: buildGuardedSchema({ traced }),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    // GraphiQL's scripts are served by Coffer itself: no CDN, no inline script in the page where admins paste keys.
    renderGraphiQL: (options) => renderGraphiQLPage(options),
    cors: corsFor(config.corsOrigins),
    // Enforced by useBodyLimit (cheaper for bodies with a Content-Length).
    maxRequestBodySize: false,
    maskedErrors: { maskError },
    // No file uploads in Coffer's API: multipart requests are refused, not half-parsed.
    multipart: false,
    graphiql: config.graphiql && {
      title: 'Coffer',
      defaultQuery: '# Send your API key as a header: {"x-api-key": "cof_..."}\nquery Me {\n  me { id email role }\n}\n',
      subscriptionsProtocol: 'SSE',
    },
    logging: {
      debug: (...args) => logger.debug({ yoga: args.map(String) }),
      info: (...args) => logger.info({ yoga: args.map(String) }),
      warn: (...args) => logger.warn({ yoga: args.map(String) }),
      error: (...args) => {
        // Yoga logs what it hands to maskError. A coded error is the client's answer, not a fault of ours.
        const coded = args.map(asCofferError).find((error) => error !== null);
        if (coded?.code === 'SERVICE_UNAVAILABLE') logger.warn({ code: coded.code, reason: coded.details.reason }, coded.message);
        else if (coded) logger.debug({ code: coded.code }, coded.message);
        else logger.error({ yoga: args.map((arg) => (arg instanceof Error ? arg.stack : String(arg))) });
      },
    },
    plugins,
    context: async (initial: InitialContext): Promise<Context> => {
      const requestId = requestIdFor(initial.request);
      const clientAddress = clientAddressOf(initial, config.trustProxyHops);
      const viewer = await authenticate(initial).catch((error: unknown) => {
        countAuthFailure(error);
        throw error;
      });
      return {
        config,
        db,
        logger,
        auth,
        events,
        keyring,
        signals,
        viewer,
        requestId,
        clientAddress,
        now,
      };
    },
  });
}

/** HTTP server plus graphql-ws on the same path, for Apollo and urql clients. */
export function createHttpServer(yoga: CofferYoga): { server: Server; close(): Promise<void> } {
  const server = createServer((req, res) => void yoga(req, res));
  const wss = attachGraphQLWebSocket(server, yoga);
  // Responses still being written. On shutdown they are told `Connection: close`, so a keep-alive
  // client cannot hold the process open (or keep being served) after SIGTERM.
  const inFlight = new Set<ServerResponse>();
  let closing = false;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (closing) res.setHeader('connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });
  return {
    server,
    async close() {
      closing = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closed;
    },
  };
}
