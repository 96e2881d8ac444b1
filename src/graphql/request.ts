import type { IncomingMessage } from 'node:http';
import type { CredentialHeaders } from '../auth/index.js';

/** What Yoga is handed per request (HTTP) or per operation (graphql-ws). */
export type ServerContext = { req?: IncomingMessage; connectionParams?: Record<string, unknown> };
export type InitialContext = ServerContext & { request?: Request };

/** A header, or for graphql-ws the same name in `connectionParams` (browsers cannot set WebSocket headers). */
function header(initial: InitialContext, name: string): string | null {
  const fromParams = initial.connectionParams?.[name] ?? initial.connectionParams?.[name.toLowerCase()];
  if (typeof fromParams === 'string') return fromParams;
  if (initial.request) return initial.request.headers.get(name);
  const raw = initial.req?.headers[name.toLowerCase()];
  return typeof raw === 'string' ? raw : null;
}

export const credentialHeaders = (initial: InitialContext): CredentialHeaders => ({
  authorization: header(initial, 'Authorization'),
  apiKey: header(initial, 'x-api-key'),
});

/**
 * The caller's address: the socket's, or behind `trustProxyHops` reverse proxies the address the
 * outermost of them saw (X-Forwarded-For is appended to hop by hop; entries further left are the
 * client's own word and could be forged).
 */
export function clientAddressOf(initial: InitialContext, trustProxyHops: number): string | null {
  const socketAddress = initial.req?.socket.remoteAddress ?? null;
  if (trustProxyHops === 0) return socketAddress;
  const forwarded = initial.request?.headers.get('x-forwarded-for') ?? initial.req?.headers['x-forwarded-for'] ?? '';
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return hops[hops.length - trustProxyHops] ?? socketAddress;
}
