import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { CORSOptions, Plugin } from 'graphql-yoga';

type CorsSetting = CORSOptions | ((request: Request) => CORSOptions);

/**
 * What browsers get: no CORS unless an origin is allowed by name, security headers on every HTML
 * response, and the GraphiQL explorer served from Coffer's own files (no inline script, no CDN),
 * compressed and cached, so that a strict Content-Security-Policy can hold.
 */

const ASSET_PREFIX = '/graphiql/';

/** CORS_ORIGINS: only these origins may read answers from a browser; none by default. */
export function corsFor(allowedOrigins: readonly string[]): CorsSetting {
  if (allowedOrigins.length === 0) return false;
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || !allowedOrigins.includes(origin)) return false;
    // Coffer authenticates with headers, never cookies: no Allow-Credentials.
    return {
      origin,
      credentials: false,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['accept', 'authorization', 'content-type', 'x-api-key', 'x-request-id'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    };
  };
}

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  // Monaco and GraphiQL set inline styles as they lay out the editor.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

interface Asset {
  type: string;
  raw: Buffer;
  gzip: Buffer;
  brotli: Buffer;
}

interface GraphiQLFiles {
  /** Content-hashed paths, cached for ever. */
  paths: { css: string; js: string; start: string; workers: Record<'editorWorkerService' | 'json' | 'graphql', string> };
  assets: Map<string, Asset>;
  favicon: string;
}

let files: Promise<GraphiQLFiles> | null = null;

/** The explorer's files, compressed once, on first use: 9 MB of JavaScript is not read at start-up. */
function graphiqlFiles(): Promise<GraphiQLFiles> {
  files ??= (async () => {
    const bundle = await import('@graphql-yoga/render-graphiql/graphiql');
    const assets = new Map<string, Asset>();
    const add = (name: string, extension: string, type: string, content: string) => {
      const raw = Buffer.from(content);
      const path = `${ASSET_PREFIX}${name}.${createHash('sha256').update(raw).digest('hex').slice(0, 16)}.${extension}`;
      const brotli = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } });
      assets.set(path, { type, raw, gzip: gzipSync(raw, { level: 9 }), brotli });
      return path;
    };
    const workers = {
      editorWorkerService: add('editor.worker', 'js', 'text/javascript', bundle.editorWorkerService),
      json: add('json.worker', 'js', 'text/javascript', bundle.jsonWorker),
      graphql: add('graphql.worker', 'js', 'text/javascript', bundle.graphqlWorker),
    };
    const start = add('start', 'js', 'text/javascript', START_SCRIPT);
    return {
      paths: {
        css: add('graphiql', 'css', 'text/css', bundle.css),
        js: add('graphiql', 'js', 'text/javascript', bundle.js),
        start,
        workers,
      },
      assets,
      favicon: bundle.favicon,
    };
  })();
  return files;
}

/** Reads the options from the page (JSON, not script) and starts the explorer: no inline script needed. */
const START_SCRIPT = `(function () {
  var config = JSON.parse(document.getElementById('graphiql-config').textContent);
  self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: function (moduleId, label) { return config.workers[label]; } };
  YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), config.options);
})();`;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
/** JSON inside a <script type="application/json">: `<` escaped so nothing can close the tag. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The GraphiQL page: Coffer's files only. Headers typed into the explorer are not kept in the browser's storage. */
export async function renderGraphiQLPage(options: { title?: string | undefined }): Promise<string> {
  const { paths, favicon } = await graphiqlFiles();
  const config = { workers: paths.workers, options: { ...options, shouldPersistHeaders: false } };
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? 'Coffer')}</title>
    <link rel="icon" href="${escapeHtml(favicon)}" />
    <link rel="stylesheet" href="${paths.css}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-config">${scriptJson(config)}</script>
    <script src="${paths.js}"></script>
    <script src="${paths.start}"></script>
  </body>
</html>
`;
}

/** Serves the explorer's files (when GraphiQL is on) and puts the security headers on every HTML answer. */
export function useBrowserSurface({ graphiql }: { graphiql: boolean }): Plugin {
  return {
    async onRequest(payload) {
      const { request, url } = payload;
      if (!graphiql || !url.pathname.startsWith(ASSET_PREFIX) || request.method !== 'GET') return;
      const asset = (await graphiqlFiles()).assets.get(url.pathname);
      if (!asset) return payload.endResponse(new Response('Not found', { status: 404, headers: { 'content-type': 'text/plain' } }));
      const accepted = request.headers.get('accept-encoding') ?? '';
      const encoding = /\bbr\b/.test(accepted) ? 'br' : /\bgzip\b/.test(accepted) ? 'gzip' : null;
      const body = encoding === 'br' ? asset.brotli : encoding === 'gzip' ? asset.gzip : asset.raw;
      payload.endResponse(
        new Response(new Uint8Array(body), {
          headers: {
            'content-type': `${asset.type}; charset=utf-8`,
            'cache-control': 'public, max-age=31536000, immutable',
            vary: 'accept-encoding',
            'x-content-type-options': 'nosniff',
            ...(encoding ? { 'content-encoding': encoding } : {}),
          },
        }),
      );
    },
    onResponse({ response }) {
      if (!response.headers.get('content-type')?.startsWith('text/html')) return;
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
    },
  };
}

/** INTROSPECTION=false: the schema is not described to callers (field suggestions are off too, in the armor). */
export function useIntrospection(enabled: boolean): Plugin {
  if (enabled) return {};
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
