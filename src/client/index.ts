import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Kind, OperationTypeNode, print, type OperationDefinitionNode } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type {
  CofferClientSecretChangesSubscription as SecretChangesSubscription,
  CofferClientSecretsQuery as SecretsQuery,
  CofferClientSecretValuesQuery as SecretValuesQuery,
  CofferClientStripeSyncEventFieldsFragment,
  CofferClientStripeSyncRunFieldsFragment,
  SecretFilter,
  SecretScopeInput,
} from '../generated/graphql/graphql.js';
import { SecretChangesDocument, SecretDocument, SecretsDocument, SecretValuesDocument } from './documents.js';

/**
 * A small typed client for Coffer's GraphQL API: queries and mutations over HTTP (fetch), the
 * `secretChanges` subscription over graphql-ws. Errors come back as one typed CofferClientError.
 */

export * as documents from './documents.js';
export type { SecretScopeInput, SecretFilter } from '../generated/graphql/graphql.js';

export type SecretMetadata = SecretsQuery['secrets']['nodes'][number];
export type SecretValue = SecretValuesQuery['secretValues'][number];
export type SecretChange = SecretChangesSubscription['secretChanges'];
/** A Stripe sync run with its progress per object type (`documents.StripeSyncRunDocument` and friends). */
export type StripeSyncRun = CofferClientStripeSyncRunFieldsFragment;
/** One step of a sync run, as `stripeSyncProgress` and `stripeSyncRun { events }` give it. */
export type StripeSyncEvent = CofferClientStripeSyncEventFieldsFragment;

/** A field error from Coffer's BAD_USER_INPUT answers: which input field, and why. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * What went wrong, coded: Coffer's GraphQL error codes (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND,
 * BAD_USER_INPUT, CONFLICT, RATE_LIMITED, SERVICE_UNAVAILABLE...) or the client's own:
 * NETWORK_ERROR (no answer), TIMEOUT, BAD_RESPONSE (an answer that is not GraphQL).
 */
export class CofferClientError extends Error {
  override readonly name = 'CofferClientError';
  constructor(
    readonly code: string,
    readonly reason: string,
    readonly fields: FieldError[] = [],
    /** Worth trying again later (the server said so, or the network failed). */
    readonly retryable = false,
    /** Seconds the server asked to wait (Retry-After), when it said. */
    readonly retryAfterSeconds: number | null = null,
    /** The error's other extensions (e.g. `activeRunId` on a sync CONFLICT). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(`${code}: ${reason}`);
  }
}

const RETRYABLE_CODES = new Set(['SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'NETWORK_ERROR', 'TIMEOUT']);

export interface CofferClientOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql */
  url: string;
  /** An API key (cof_...) or a JWT. */
  apiKey: string;
  /** Per HTTP request, default 30 s. */
  timeoutMs?: number;
  /** Extra attempts for queries (never for mutations) after a retryable error, default 2. */
  retries?: number;
  /** Base delay between retries (doubles each time), default 250 ms. */
  retryDelayMs?: number;
  fetch?: typeof fetch;
}

interface GraphQLErrorShape {
  message?: string;
  extensions?: { code?: string; fields?: unknown; field?: unknown; retryAfter?: unknown } & Record<string, unknown>;
}

interface GraphQLResponse {
  data?: unknown;
  errors?: GraphQLErrorShape[];
}

/** A GraphQL error as a CofferClientError (the HTTP Retry-After header, when there was one). */
function clientErrorOf(first: GraphQLErrorShape | undefined, retryAfterHeader: string | null = null): CofferClientError {
  const { code: rawCode, fields: _fields, field: _field, retryAfter, ...rest } = first?.extensions ?? {};
  const code = typeof rawCode === 'string' ? rawCode : 'INTERNAL_SERVER_ERROR';
  return new CofferClientError(
    code,
    first?.message ?? 'failed',
    fieldErrors(first?.extensions),
    RETRYABLE_CODES.has(code),
    retryAfterOf(retryAfterHeader, retryAfter),
    rest,
  );
}

export type Scope = SecretScopeInput;

/** A project environment's scope, the common case for applications. */
export const projectScope = (projectId: string, environment?: string | null): SecretScopeInput => ({
  type: 'PROJECT',
  projectId,
  environment: environment ?? null,
});

function fieldErrors(extensions: { fields?: unknown; field?: unknown } | undefined): FieldError[] {
  const fields = extensions?.fields;
  if (Array.isArray(fields)) {
    return fields.flatMap((entry: unknown) => {
      if (entry && typeof entry === 'object' && 'field' in entry) {
        const { field, message } = entry as { field: unknown; message?: unknown };
        return [{ field: String(field), message: typeof message === 'string' ? message : '' }];
      }
      return typeof entry === 'string' ? [{ field: entry, message: '' }] : [];
    });
  }
  if (fields && typeof fields === 'object') {
    return Object.entries(fields as Record<string, unknown>).map(([field, message]) => ({
      field,
      message: Array.isArray(message) ? message.join('; ') : String(message),
    }));
  }
  if (typeof extensions?.field === 'string') return [{ field: extensions.field, message: '' }];
  return [];
}

function retryAfterOf(header: string | null, extension: unknown): number | null {
  if (typeof extension === 'number') return extension;
  const seconds = header ? Number.parseInt(header, 10) : Number.NaN;
  return Number.isFinite(seconds) ? seconds : null;
}

const operationOf = (document: TypedDocumentNode<unknown, unknown>) =>
  document.definitions.find((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);

export class CofferClient {
  readonly url: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly fetchImpl: typeof fetch;
  private ws: WsClient | null = null;
  private readonly texts = new WeakMap<object, string>();

  constructor(options: CofferClientOptions) {
    this.url = options.url;
    this.apiKey = options.apiKey;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 250;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Any typed document (see `documents`): queries are retried on retryable errors, mutations never. */
  async request<Result, Variables>(document: TypedDocumentNode<Result, Variables>, variables?: Variables): Promise<Result> {
    const operation = operationOf(document as TypedDocumentNode<unknown, unknown>);
    if (operation?.operation === OperationTypeNode.SUBSCRIPTION)
      throw new CofferClientError('BAD_REQUEST', 'use subscribe() for subscriptions');
    const idempotent = operation?.operation === OperationTypeNode.QUERY;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.send(document, variables)) as Result;
      } catch (error) {
        const retry = idempotent && error instanceof CofferClientError && error.retryable && attempt < this.retries;
        if (!retry) throw error;
        const hinted = error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : 0;
        await new Promise((resolve) => setTimeout(resolve, Math.max(hinted, this.retryDelayMs * 2 ** attempt)));
      }
    }
  }

  private textOf(document: object): string {
    let text = this.texts.get(document);
    if (!text) this.texts.set(document, (text = print(document as TypedDocumentNode<unknown, unknown>)));
    return text;
  }

  private async send(document: object, variables: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          'x-api-key': this.apiKey,
        },
        body: JSON.stringify({ query: this.textOf(document), variables: variables ?? {} }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      if (timedOut) throw new CofferClientError('TIMEOUT', `no answer from ${this.url} within ${this.timeoutMs} ms`, [], true);
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new CofferClientError('NETWORK_ERROR', `cannot reach ${this.url}${cause ? ` (${cause})` : ''}`, [], true);
    }
    let body: GraphQLResponse;
    try {
      body = (await response.json()) as GraphQLResponse;
    } catch {
      const code = response.status >= 500 ? 'SERVICE_UNAVAILABLE' : 'BAD_RESPONSE';
      throw new CofferClientError(code, `${this.url} answered HTTP ${response.status}, not GraphQL`, [], response.status >= 500);
    }
    const first = body.errors?.[0];
    if (first) throw clientErrorOf(first, response.headers.get('retry-after'));
    if (!response.ok || body.data === undefined || body.data === null) {
      throw new CofferClientError('BAD_RESPONSE', `${this.url} answered HTTP ${response.status} without data`, [], response.status >= 500);
    }
    return body.data;
  }

  /** One secret's value (the current version unless `version`). */
  async getSecret(name: string, options: { scope?: SecretScopeInput; version?: number } = {}): Promise<string> {
    const data = await this.request(SecretDocument, { name, scope: options.scope ?? null, version: options.version ?? null });
    return data.secret.value;
  }

  /** Every secret of a scope (metadata only, never values), following pages. */
  async listSecrets(options: { scope?: SecretScopeInput; filter?: SecretFilter } = {}): Promise<SecretMetadata[]> {
    const all: SecretMetadata[] = [];
    let after: string | null = null;
    for (;;) {
      const data: SecretsQuery = await this.request(SecretsDocument, {
        scope: options.scope ?? null,
        filter: options.filter ?? null,
        first: 100,
        after,
      });
      all.push(...data.secrets.nodes);
      if (!data.secrets.pageInfo.hasNextPage || !data.secrets.pageInfo.endCursor) return all;
      after = data.secrets.pageInfo.endCursor;
    }
  }

  /** Every value a scope serves (or of `names` only), in one request (at most 500). */
  async secretValues(scope: SecretScopeInput, options: { names?: string[]; raw?: boolean } = {}): Promise<SecretValue[]> {
    const data = await this.request(SecretValuesDocument, { scope, names: options.names ?? null, raw: options.raw ?? false });
    return data.secretValues;
  }

  /** The same as a name → value map, ready for `process.env`-style use. */
  async secretMap(scope: SecretScopeInput, options: { names?: string[] } = {}): Promise<Record<string, string>> {
    return Object.fromEntries((await this.secretValues(scope, options)).map((secret) => [secret.name, secret.value]));
  }

  /**
   * Follows a project's secret changes (graphql-ws). Calls `onChange` for each, in order; resumes
   * after `afterSequence`. Returns a function that stops following. `onError` gets the end
   * (access revoked, connection lost for good) as a CofferClientError.
   */
  followSecretChanges(
    options: { projectId: string; environment?: string | null; afterSequence?: number | null },
    onChange: (change: SecretChange) => void,
    onError: (error: CofferClientError) => void = () => {},
  ): () => void {
    return this.subscribe(
      SecretChangesDocument,
      { projectId: options.projectId, environment: options.environment ?? null, afterSequence: options.afterSequence ?? null },
      (data) => onChange(data.secretChanges),
      onError,
    );
  }

  /**
   * Any typed subscription document (graphql-ws, one shared connection): `onData` gets each result,
   * `onError` the end (an error result, access revoked, connection lost for good) as a
   * CofferClientError. Returns a function that stops following.
   */
  subscribe<Result, Variables>(
    document: TypedDocumentNode<Result, Variables>,
    variables: Variables,
    onData: (data: Result) => void,
    onError: (error: CofferClientError) => void = () => {},
  ): () => void {
    return this.websocket().subscribe<Result>(
      { query: this.textOf(document), variables: variables ?? {} },
      {
        next: (result) => {
          const first = result.errors?.[0];
          if (first) return onError(clientErrorOf(first));
          if (result.data) onData(result.data);
        },
        error: (error) => onError(wsError(error)),
        complete: () => {},
      },
    );
  }

  private websocket(): WsClient {
    this.ws ??= createWsClient({
      url: this.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { 'x-api-key': this.apiKey },
      lazy: true,
      retryAttempts: 5,
      // 4401/4403: the credential is not good; trying again will not change that.
      shouldRetry: (event) => !(isCloseEvent(event) && (event.code === 4401 || event.code === 4403)),
    });
    return this.ws;
  }

  /** Closes the subscription connection, if one was opened. */
  async close(): Promise<void> {
    const ws = this.ws;
    this.ws = null;
    try {
      await ws?.dispose();
    } catch {
      // A connection that never opened (refused credential, server gone) has nothing to close; its
      // subscribers were told through their onError.
    }
  }
}

const isCloseEvent = (value: unknown): value is { code: number; reason: string } =>
  !!value && typeof value === 'object' && 'code' in value && typeof value.code === 'number';

function wsError(error: unknown): CofferClientError {
  if (isCloseEvent(error)) {
    if (error.code === 4401) return new CofferClientError('UNAUTHENTICATED', error.reason || 'the credential was refused');
    if (error.code === 4403) return new CofferClientError('FORBIDDEN', error.reason || 'forbidden');
    return new CofferClientError('NETWORK_ERROR', `the subscription connection closed (${error.code} ${error.reason})`, [], true);
  }
  if (Array.isArray(error)) return clientErrorOf(error[0] as GraphQLErrorShape | undefined);
  return new CofferClientError('NETWORK_ERROR', 'the subscription connection failed', [], true);
}

/** `new CofferClient(...)`, shorter. */
export const createCofferClient = (options: CofferClientOptions) => new CofferClient(options);
