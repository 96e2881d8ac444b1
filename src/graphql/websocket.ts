import type { Server } from 'node:http';
import {
  GraphQLError,
  type execute as graphqlExecute,
  type GraphQLSchema,
  type parse as graphqlParse,
  type subscribe as graphqlSubscribe,
  type validate as graphqlValidate,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Context } from './context.js';
import { isAdmin } from '../auth/index.js';
import { asCofferError, rootCause, toGraphQLError } from './errors.js';
import { codedErrors } from './plugins.js';
import type { ServerContext } from './request.js';
import { persistedQueryOnly, trustedHashOf } from './trusted-documents.js';

/** What Yoga's envelop hands graphql-ws: the same schema, plugins and context as over HTTP. */
interface Enveloped {
  schema: GraphQLSchema;
  execute: typeof graphqlExecute;
  subscribe: typeof graphqlSubscribe;
  contextFactory: () => Promise<Context>;
  parse: typeof graphqlParse;
  validate: typeof graphqlValidate;
}

/** Close codes a client can act on (graphql-ws reserves 4400-4499 for the protocol's own). */
const CLOSE_FOR: Record<string, [number, string]> = {
  UNAUTHENTICATED: [4401, 'Unauthorized'],
  FORBIDDEN: [4403, 'Forbidden'],
  RATE_LIMITED: [4429, 'Too many failed sign-ins'],
};

/**
 * graphql-ws on the GraphQL path, for Apollo and urql clients. A bad credential closes the socket
 * with 4401 (it would fail every operation); a bad operation fails that operation alone, with the
 * same coded, scrubbed errors as over HTTP, and the other subscriptions on the socket go on.
 */
export function attachGraphQLWebSocket(server: Server, yoga: YogaServerInstance<ServerContext, Context>): WebSocketServer {
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  const enveloped = (initial: Record<string, unknown>) => yoga.getEnveloped(initial) as unknown as Enveloped;
  const failure = (error: unknown): readonly GraphQLError[] => {
    const coded = asCofferError(rootCause(error));
    if (!coded && error instanceof GraphQLError) return codedErrors([error]);
    return [coded ? toGraphQLError(coded) : new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })];
  };
  useServer(
    {
      execute: (args) => (args.rootValue as Pick<Enveloped, 'execute'>).execute(args),
      subscribe: (args) => (args.rootValue as Pick<Enveloped, 'subscribe'>).subscribe(args),
      onConnect: async (ctx) => {
        try {
          // Building a context verifies the connection's credential, exactly as each operation will.
          await enveloped({ req: ctx.extra.request, connectionParams: ctx.connectionParams ?? {} }).contextFactory();
          return true;
        } catch (error) {
          const cause = rootCause(error);
          const errorCode = asCofferError(cause)?.code ?? (cause instanceof GraphQLError ? cause.extensions.code : undefined);
          const [code, reason] = (typeof errorCode === 'string' && CLOSE_FOR[errorCode]) || [1011, 'Try again later'];
          ctx.extra.socket.close(code, reason);
          return false;
        }
      },
      onSubscribe: async (ctx, _id, params) => {
        try {
          const initial = { ...ctx, req: ctx.extra.request, connectionParams: ctx.connectionParams, params };
          const { schema, execute, subscribe, contextFactory, parse, validate } = enveloped(initial);
          const contextValue = await contextFactory();
          // graphql-ws bypasses yoga's onParams: trusted documents are enforced here for non-admins.
          const trusted = contextValue.config.trustedDocuments;
          let query = params.query;
          if (trusted && !isAdmin(contextValue.viewer)) {
            const text = trusted.byHash.get(trustedHashOf(trusted, params) ?? '');
            if (text === undefined) return codedErrors([persistedQueryOnly()]);
            query = text;
          }
          const document = parse(query);
          const errors = validate(schema, document);
          if (errors.length > 0) return codedErrors(errors);
          return {
            schema,
            document,
            operationName: params.operationName,
            variableValues: params.variables,
            contextValue,
            rootValue: { execute, subscribe },
          };
        } catch (error) {
          return failure(error);
        }
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: codedErrors(result.errors).map((error) => error.toJSON()) } : undefined,
    },
    wss,
  );
  return wss;
}
