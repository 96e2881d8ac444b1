import { getOperationAST, GraphQLError, Kind, print, type ASTNode, type ExecutionArgs, type ValueNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { randomUUID } from 'node:crypto';
import { isCofferError } from '../errors.js';
import { rootCause } from './errors.js';
import type { Logger } from '../logger.js';

const requestIds = new WeakMap<Request, string>();

/** The id of an HTTP request: the caller's `x-request-id` when sane, else a new one. Echoed in the response. */
export function requestIdFor(request: Request | undefined): string {
  if (!request) return randomUUID();
  let id = requestIds.get(request);
  if (!id) {
    const given = request.headers.get('x-request-id');
    id = given && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    requestIds.set(request, id);
  }
  return id;
}

interface RequestRecord {
  startedAt: number;
  operationName: string | null;
  operationType: string | null;
  /** Created on the first error only: most requests have none. */
  errorCodes: string[] | null;
}

/** The path of a request URL, without parsing all of it into a URL object. */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  const query = url.indexOf('?', start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}

const OPERATION_HEAD = /^\s*(query|mutation|subscription)\s+([_A-Za-z]\w*)/;

/**
 * One log line per request: operation, duration, status and error codes. Never variables,
 * headers or results: those are where credentials and secret values travel. Built from a few
 * strings and numbers per request: on the hot path, the line should cost less than the request.
 */
export function useRequestLogging(logger: Logger): Plugin {
  // The line's fields are fixed above and none holds a credential or a value: the redaction pass
  // (a safety net for whole objects logged elsewhere) would cost this line several times its own price.
  const requestLog = logger.child({}, { redact: [] });
  const records = new WeakMap<Request, RequestRecord>();
  const recordOperation = (args: ExecutionArgs) => {
    const request = (args.contextValue as { request?: Request }).request;
    const record = request && records.get(request);
    if (!record) return;
    const operation = getOperationAST(args.document, args.operationName);
    record.operationName = operation?.name?.value ?? args.operationName ?? null;
    record.operationType = operation?.operation ?? null;
  };
  return {
    onRequest({ request }) {
      records.set(request, { startedAt: performance.now(), operationName: null, operationType: null, errorCodes: null });
    },
    onParams({ params, request }) {
      // Known before parsing, so a request refused early (bad credential) still names its operation.
      const record = records.get(request);
      if (!record) return;
      const named = OPERATION_HEAD.exec(params.query ?? '');
      record.operationName = params.operationName ?? named?.[2] ?? null;
      record.operationType = named?.[1] ?? null;
    },
    onExecute: ({ args }) => recordOperation(args),
    onSubscribe: ({ args }) => recordOperation(args),
    onExecutionResult({ result, request }) {
      const record = records.get(request);
      if (!record || !result || Symbol.asyncIterator in result || !result.errors) return;
      for (const error of result.errors) {
        const code = codeOf(error) ?? 'INTERNAL_SERVER_ERROR';
        record.errorCodes ??= [];
        if (!record.errorCodes.includes(code)) record.errorCodes.push(code);
      }
    },
    onResponse({ request, response, serverContext }) {
      const record = records.get(request);
      if (!record) return;
      const requestId = requestIdFor(request);
      response.headers.set('x-request-id', requestId);
      if (!requestLog.isLevelEnabled('info')) return;
      const status = response.status;
      requestLog.info(
        {
          requestId,
          method: request.method,
          path: pathOf(request.url),
          operationName: record.operationName,
          operationType: record.operationType,
          status,
          durationMs: Math.round((performance.now() - record.startedAt) * 100) / 100,
          outcome: status >= 500 ? 'failed' : record.errorCodes || status >= 400 ? 'error' : 'ok',
          errorCodes: record.errorCodes ?? undefined,
          clientAddress: (serverContext as { req?: { socket?: { remoteAddress?: string } } }).req?.socket?.remoteAddress,
        },
        'request',
      );
    },
  };
}

/**
 * Every error a client sees carries an `extensions.code`. Coded errors thrown by Coffer keep
 * theirs; errors graphql-js raises itself get the conventional ones.
 */
export function useErrorCodes(): Plugin {
  return {
    onParse:
      () =>
      ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError && !result.extensions.code) replaceParseResult(withCode(result, 'GRAPHQL_PARSE_FAILED'));
      },
    onValidate: () => (validation) => {
      const errors = validation.result as readonly GraphQLError[];
      const coded = (error: GraphQLError) => (codeOf(error) ? error : withCode(scrubLiterals(error), 'GRAPHQL_VALIDATION_FAILED'));
      if (!validation.valid) validation.setResult(errors.map(coded));
    },
    onExecutionResult(payload) {
      const { result } = payload;
      if (!result || Symbol.asyncIterator in result || !result.errors?.some((error) => !codeOf(error) || isCoercion(error))) return;
      payload.setResult({ ...result, errors: codedErrors(result.errors) });
    },
  };
}

/**
 * graphql-js quotes the literal it refused ("String cannot represent a non string value: 123",
 * 'Expected value of type "X", found "..."'), and that literal may be a secret typed inline into
 * the wrong place: it is replaced by words.
 */
function scrubLiterals(error: GraphQLError): GraphQLError {
  let message = error.message;
  for (const node of error.nodes ?? []) {
    if (!isValueNode(node)) continue;
    const literal = print(node);
    if (literal.length > 0) message = message.split(literal).join('the given value');
  }
  return message === error.message
    ? error
    : new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: error.extensions });
}

const isValueNode = (node: ASTNode): node is ValueNode =>
  [Kind.STRING, Kind.INT, Kind.FLOAT, Kind.BOOLEAN, Kind.ENUM, Kind.LIST, Kind.OBJECT, Kind.NULL].includes(node.kind);

/**
 * Errors without a code at this point were raised before any resolver ran (variable coercion,
 * "got invalid value") or by graphql-js itself: they get one, and coercion messages lose the value.
 */
export function codedErrors(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.map((error) =>
    isCoercion(error) ? coercionError(error) : codeOf(error) || error.path ? error : withCode(error, 'BAD_USER_INPUT'),
  );
}

const codeOf = (error: GraphQLError): string | undefined =>
  typeof error.extensions?.code === 'string' ? error.extensions.code : undefined;

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/**
 * graphql-js words a coercion failure as `Variable "$input" got invalid value <the value> at
 * "input.field"; <reason>`. The value may be a secret pasted into the wrong field, so the message
 * is rebuilt without it, and the field goes into `extensions.fields` like every input error.
 */
/** graphql-js copies a coded scalar error's extensions onto the wrapper, so the wording, not the code, tells. */
const isCoercion = (error: GraphQLError) => !error.path && /^Variable "\$\w+" got invalid value/.test(error.message);

function coercionError(error: GraphQLError): GraphQLError {
  const variable = /^Variable "\$(\w+)" got invalid value/.exec(error.message)?.[1];
  if (!variable) return withCode(error, 'BAD_USER_INPUT');
  const at = error.message.lastIndexOf(` at "${variable}`);
  const field = at >= 0 ? error.message.slice(at + 5, error.message.indexOf('"', at + 5)) : variable;
  const original = rootCause(error);
  const coded = (isCofferError(original) ? original.details : original instanceof GraphQLError ? original.extensions : undefined) ?? {};
  const fields = coded.fields as Array<{ message?: string }> | undefined;
  const reason = fields?.[0]?.message ?? safeReason((error.originalError ?? error).message);
  return new GraphQLError(`Variable "$${variable}" has an invalid value at "${field}": ${reason}.`, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { code: 'BAD_USER_INPUT', fields: [{ field, message: reason }] },
  });
}

/** graphql-js reasons that quote the value ("...cannot represent a non string value: 42") lose the quote. */
function safeReason(message: string): string {
  const expected = /^Expected type "([^"]+)"/.exec(message);
  if (expected) return `must be of type ${expected[1]}`;
  const enumValue = /^Value .* does not exist in "(\w+)" enum/s.exec(message);
  if (enumValue) return `must be one of the ${enumValue[1]} values`;
  const trimmed = message.replace(/[.;]?\s*$/, '');
  if (/^Field "[^"]+" (is not defined by type|of required type) "[^"]+"/.test(trimmed))
    return trimmed.replace(/ was not provided$/, ' was not provided');
  const colon = trimmed.indexOf(':');
  const reason = colon > 0 ? trimmed.slice(0, colon) : trimmed;
  // Anything else that still quotes something may be quoting the value: say less.
  return reason && !reason.includes('"') ? reason : 'has an invalid value';
}

/**
 * A request Yoga cannot even parse (a GET with `variables=%7Bnope`, a body that is no JSON) is the
 * client's mistake: 400 with a code, not the 500 the parser's own exception would become.
 */
export function useRequestParseErrors(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          if (error instanceof GraphQLError) throw error;
          throw new GraphQLError('The request could not be parsed: its body, variables and extensions must be JSON.', {
            extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
          });
        }
      });
    },
  };
}
