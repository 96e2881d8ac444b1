import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { getOperationAST, GraphQLObjectType, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { IMiddlewareTypeMap } from 'graphql-middleware';
import type { Plugin } from 'graphql-yoga';
import { tracer } from '../tracing.js';
import { isCofferError } from '../errors.js';

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * One SERVER span per GraphQL operation (context building, parsing, validation, execution), named
 * `<type> <name>`, with the outcome code. Database and Stripe spans of the operation are its children.
 */
export function useTracing(): Plugin {
  const spans = new WeakMap<Request, Span>();
  const describe = (args: ExecutionArgs) => {
    const span = spans.get((args.contextValue as { request?: Request }).request as Request);
    const operation = getOperationAST(args.document, args.operationName);
    if (!span || !operation) return;
    const name = operation.name?.value;
    span.setAttribute('graphql.operation.type', operation.operation);
    if (name && OPERATION_NAME.test(name)) span.setAttribute('graphql.operation.name', name);
    span.updateName(`${operation.operation} ${name && OPERATION_NAME.test(name) ? name : 'anonymous'}`);
  };
  return {
    instrumentation: {
      operation({ request }, wrapped) {
        const parent = propagation.extract(context.active(), request.headers, {
          keys: (headers) => [...headers.keys()],
          get: (headers, key) => headers.get(key) ?? undefined,
        });
        const span = tracer().startSpan('graphql', { kind: SpanKind.SERVER }, parent);
        spans.set(request, span);
        return context.with(trace.setSpan(parent, span), wrapped);
      },
    },
    onExecute: ({ args }) => describe(args),
    onSubscribe: ({ args }) => describe(args),
    onResultProcess({ request, result }) {
      const span = spans.get(request);
      if (!span) return;
      spans.delete(request);
      const first = Array.isArray(result) ? result[0] : result;
      const errors = first && 'errors' in first ? first.errors : undefined;
      const given = errors?.[0]?.extensions?.code;
      const code = !errors?.length ? 'OK' : typeof given === 'string' ? given : 'ERROR';
      span.setAttribute('coffer.outcome', OPERATION_NAME.test(code) ? code : 'ERROR');
      if (code !== 'OK') span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}

/**
 * A span per root field. Applied around graphql-shield (`outer`) and inside it (`inner`): the field
 * reached its resolver only when shield allowed it, so `coffer.shield` is exactly the rule's outcome.
 */
export function rootFieldTracing(schema: GraphQLSchema): { outer: IMiddlewareTypeMap; inner: IMiddlewareTypeMap } {
  const allowed = new WeakSet<Span>();
  const outer: IMiddlewareTypeMap = {};
  const inner: IMiddlewareTypeMap = {};
  for (const root of [schema.getQueryType(), schema.getMutationType()]) {
    if (!(root instanceof GraphQLObjectType)) continue;
    outer[root.name] = async (resolve, parent, args, ctx, info) =>
      tracer().startActiveSpan(
        `${root.name}.${info.fieldName}`,
        { attributes: { 'graphql.field.path': `${root.name}.${info.fieldName}` } },
        async (span) => {
          try {
            const result: unknown = await resolve(parent, args, ctx, info);
            finish(span, allowed.has(span), result instanceof Error ? result : undefined);
            return result;
          } catch (error) {
            finish(span, allowed.has(span), error);
            throw error;
          } finally {
            span.end();
          }
        },
      );
    inner[root.name] = (resolve, parent, args, ctx, info) => {
      const span = trace.getActiveSpan();
      if (span) allowed.add(span);
      // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- whatever the resolver returns, unchanged
      return resolve(parent, args, ctx, info);
    };
  }
  return { outer, inner };
}

function finish(span: Span, allowed: boolean, error: unknown) {
  span.setAttribute('coffer.shield', allowed ? 'allow' : 'deny');
  if (error === undefined) return;
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute('coffer.outcome', isCofferError(error) ? error.code : 'INTERNAL_SERVER_ERROR');
}
