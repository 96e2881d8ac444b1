import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type {
  execute as graphqlExecute,
  GraphQLSchema,
  parse as graphqlParse,
  subscribe as graphqlSubscribe,
  validate as graphqlValidate,
} from 'graphql';
import { createYoga, useReadinessCheck, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { migrationStatus } from './db/migrate.js';
import type { Context } from './graphql/context.js';
import type { Services } from './services.js';
import { maskError } from './graphql/errors.js';
import { requestIdFor, useErrorCodes, useRequestLogging } from './graphql/plugins.js';
import { buildGuardedSchema } from './schema.js';
import { useStripeWebhooks } from './features/stripe/index.js';

/** The long-lived services of the process (see services.ts), plus a clock tests can move. */
export type AppDeps = Omit<Services, 'close'> & { now?: () => Date };

type ServerContext = { req?: IncomingMessage; connectionParams?: Record<string, unknown> };

export type CofferYoga = YogaServerInstance<ServerContext, Context>;

/** The whole GraphQL application; tests call `yoga.fetch` on it, the server listens with it. */
export function createApp(deps: AppDeps): CofferYoga {
  const { config, db, logger, auth, events, keyring, signals } = deps;
  const now = deps.now ?? (() => new Date());
  let migrationsDone = false;

  const plugins: Plugin[] = [
    EnvelopArmorPlugin({
      maxDepth: { n: 10 },
      maxAliases: { n: 15 },
      maxDirectives: { n: 20 },
      maxTokens: { n: 2000 },
      // Fragments cost what their fields cost, not one level deeper each (codegen clients use many).
      costLimit: { maxCost: 5000, flattenFragments: true },
    }),
    useReadinessCheck({
      endpoint: '/readyz',
      check: async () => {
        await db.ping();
        // Once migrations are seen complete, readiness costs one ping.
        migrationsDone ||= (await migrationStatus(db)).pending.length === 0;
        if (!migrationsDone) return false;
        // Never ready while stored values cannot be read: the reason is in the log, and here.
        const problem = await keyring.readiness();
        return problem ? Response.json({ ready: false, reason: problem.code }, { status: 503 }) : true;
      },
    }),
    useStripeWebhooks({ db, keyring, logger, now }),
    useErrorCodes(),
    useRequestLogging(logger),
  ];

  return createYoga<ServerContext, Context>({
    schema: buildGuardedSchema(),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/healthz',
    landingPage: false,
    // GraphiQL's scripts are served by Coffer itself: no CDN in the page where admins paste keys.
    renderGraphiQL,
    maxRequestBodySize: config.maxRequestBodyBytes,
    maskedErrors: { maskError },
    graphiql: {
      title: 'Coffer',
      defaultQuery: '# Send your API key as a header: {"x-api-key": "cof_..."}\nquery Me {\n  me { id email role }\n}\n',
      subscriptionsProtocol: 'SSE',
    },
    logging: {
      debug: (...args) => logger.debug({ yoga: args.map(String) }),
      info: (...args) => logger.info({ yoga: args.map(String) }),
      warn: (...args) => logger.warn({ yoga: args.map(String) }),
      error: (...args) => logger.error({ yoga: args.map((arg) => (arg instanceof Error ? arg.stack : String(arg))) }),
    },
    plugins,
    context: async (initial: ServerContext & { request?: Request }): Promise<Context> => {
      const headers = credentialHeaders(initial);
      const requestId = requestIdFor(initial.request);
      const viewer = await auth.authenticate(headers, now());
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
        clientAddress: initial.req?.socket.remoteAddress ?? null,
        now,
      };
    },
  });
}

function header(initial: ServerContext & { request?: Request }, name: string): string | null {
  const fromParams = initial.connectionParams?.[name] ?? initial.connectionParams?.[name.toLowerCase()];
  if (typeof fromParams === 'string') return fromParams;
  if (initial.request) return initial.request.headers.get(name);
  const raw = initial.req?.headers[name.toLowerCase()];
  return typeof raw === 'string' ? raw : null;
}

function credentialHeaders(initial: ServerContext & { request?: Request }) {
  return { authorization: header(initial, 'Authorization'), apiKey: header(initial, 'x-api-key') };
}

/** What Yoga's envelop hands graphql-ws: the same schema, plugins and context as over HTTP. */
interface Enveloped {
  schema: GraphQLSchema;
  execute: typeof graphqlExecute;
  subscribe: typeof graphqlSubscribe;
  contextFactory: () => Promise<Context>;
  parse: typeof graphqlParse;
  validate: typeof graphqlValidate;
}

/** HTTP server plus graphql-ws on the same path, for Apollo and urql clients. */
export function createHttpServer(yoga: CofferYoga): { server: Server; close(): Promise<void> } {
  const server = createServer((req, res) => void yoga(req, res));
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  useServer(
    {
      execute: (args) => (args.rootValue as Pick<Enveloped, 'execute'>).execute(args),
      subscribe: (args) => (args.rootValue as Pick<Enveloped, 'subscribe'>).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const initial = { ...ctx, req: ctx.extra.request, connectionParams: ctx.connectionParams, params };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped(initial) as unknown as Enveloped;
        const document = parse(params.query);
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        return {
          schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
  );
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
