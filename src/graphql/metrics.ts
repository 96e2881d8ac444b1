import { createHash, timingSafeEqual } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { Kind, getOperationAST, type ExecutionArgs } from 'graphql';
import { isCofferError } from '../errors.js';
import {
  authFailures,
  collectProcessMetrics,
  graphqlDuration,
  graphqlRequests,
  registry,
  subscriptionsActive,
  webhookRequests,
} from '../metrics.js';

/** Operation names that look like one become labels; anything else is "other". */
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const WEBHOOK_PATH = /^\/webhooks\/stripe\//;

/** Counts a credential refusal; other errors (an outage) are not authentication failures. */
export function countAuthFailure(error: unknown): void {
  if (isCofferError(error) && (error.code === 'UNAUTHENTICATED' || error.code === 'RATE_LIMITED')) {
    authFailures.inc({ code: error.code });
  }
}

const label = (value: unknown) => (typeof value === 'string' && OPERATION_NAME.test(value) ? value : 'other');

function digest(value: string) {
  return createHash('sha256').update(value).digest();
}

/** Serves GET /metrics (behind `Bearer <token>` when one is set) and records every GraphQL answer. */
export function useMetrics(token: string | undefined): Plugin {
  collectProcessMetrics();
  const started = new WeakMap<Request, { at: number; operation: string | undefined }>();
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  return {
    async onRequest(payload) {
      const { request, url } = payload;
      if (url.pathname !== '/metrics') return;
      if (expected && !timingSafeEqual(digest(request.headers.get('authorization') ?? ''), expected)) {
        return payload.endResponse(new Response('Unauthorized\n', { status: 401, headers: { 'www-authenticate': 'Bearer' } }));
      }
      if (request.method !== 'GET') return payload.endResponse(new Response('GET only\n', { status: 405, headers: { allow: 'GET' } }));
      payload.endResponse(new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } }));
    },
    onParams({ request, params }) {
      started.set(request, { at: performance.now(), operation: params.operationName ?? undefined });
    },
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const state = request && started.get(request);
      if (state && state.operation === undefined) state.operation = operationNameOf(args);
    },
    onResultProcess({ request, result }) {
      const state = started.get(request);
      if (!state) return;
      started.delete(request);
      const first = Array.isArray(result) ? result[0] : result;
      const errors = first && 'errors' in first ? first.errors : undefined;
      const code = errors?.length ? (errors[0]?.extensions?.code ?? 'ERROR') : 'OK';
      const labels = { operation: label(state.operation), outcome: label(code) };
      graphqlRequests.inc(labels);
      graphqlDuration.observe(labels, (performance.now() - state.at) / 1000);
    },
    onResponse({ request, response }) {
      // The cheap test first: most responses are not webhooks.
      if (request.url.includes('/webhooks/stripe/') && WEBHOOK_PATH.test(new URL(request.url).pathname))
        webhookRequests.inc({ status: String(response.status) });
    },
    onSubscribe({ args }) {
      const field = rootFieldOf(args);
      return {
        onSubscribeResult({ result }) {
          if (!(Symbol.asyncIterator in result)) return;
          subscriptionsActive.inc({ field });
          let ended = false;
          return {
            onEnd() {
              if (ended) return;
              ended = true;
              subscriptionsActive.dec({ field });
            },
          };
        },
      };
    },
  };
}

/** The subscription's root field: a name from the schema (the document was validated), so a bounded label. */
function rootFieldOf(args: ExecutionArgs): string {
  const selection = getOperationAST(args.document, args.operationName)?.selectionSet.selections[0];
  return selection?.kind === Kind.FIELD ? selection.name.value : 'other';
}

function operationNameOf(args: ExecutionArgs): string | undefined {
  return getOperationAST(args.document, args.operationName)?.name?.value;
}
