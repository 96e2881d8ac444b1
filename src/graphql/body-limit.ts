import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { ServerContext } from './request.js';

/**
 * MAX_REQUEST_BODY_BYTES for GraphQL requests, with Yoga's answers (413, or 400 for a malformed
 * Content-Length), but cheaper than Yoga's own limit: that one pipes every body through a counting
 * stream, which cost about 6 % of a small query's CPU. Over a real socket Node's HTTP parser never
 * reads past a valid Content-Length, so only a body without one (chunked) needs counting as it
 * arrives; a Request built in-process (`yoga.fetch`) promises nothing and is counted too.
 */
export function useBodyLimit(limit: number): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, serverContext, fetchAPI }) {
      const contentLength = request.headers.get('content-length');
      if (contentLength !== null) {
        if (!/^\d+$/.test(contentLength)) throw invalidContentLength();
        if (Number(contentLength) > limit) throw tooLarge();
        if ((serverContext as ServerContext).req) return;
      }
      if (!requestParser || !request.body) return;
      setRequestParser((req) => requestParser(countedBody(req, limit, fetchAPI)));
    },
  };
}

const tooLarge = () =>
  createGraphQLError('Request body too large', { extensions: { http: { status: 413 }, code: 'REQUEST_ENTITY_TOO_LARGE' } });

const invalidContentLength = () =>
  createGraphQLError('Content-Length header is invalid.', { extensions: { http: { status: 400 }, code: 'BAD_REQUEST' } });

type FetchApi = { Request: typeof Request; TransformStream: typeof TransformStream };

function countedBody(request: Request, limit: number, fetchAPI: FetchApi): Request {
  let bytesRead = 0;
  // A native ReadableStream only pipes into the native TransformStream (graphql-yoga #4583).
  const Transform = request.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  const body = request.body!.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytesRead += chunk.byteLength;
        if (bytesRead > limit) controller.error(tooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
    body,
    duplex: 'half',
  } as RequestInit);
}
