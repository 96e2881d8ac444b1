import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/app.js';
import { createTestApp, type TestApp } from '../support/app.js';

/**
 * What a browser may do with Coffer: read nothing cross-origin unless the origin is allowed by
 * name; get security headers on every page; run GraphiQL from Coffer's own compressed, cacheable
 * files under a strict Content-Security-Policy, without keeping pasted keys in its storage.
 */

const CHROMIUM = '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && !process.env.CI;
const ME = JSON.stringify({ query: '{ me { email } }' });

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A page of another origin that tries to read Coffer's answer with the admin's key. */
function foreignPage(): Server {
  return createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>elsewhere</title>');
  });
}

async function readFrom(browser: Browser, pageOrigin: string, endpoint: string, key: string): Promise<string> {
  const page = await browser.newPage();
  try {
    await page.goto(pageOrigin);
    return await page.evaluate(
      async ([url, body, apiKey]) => {
        try {
          const response = await fetch(url!, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': apiKey! },
            body,
          });
          return `read: ${await response.text()}`;
        } catch (error) {
          return `refused: ${String(error)}`;
        }
      },
      [endpoint, ME, key],
    );
  } finally {
    await page.close();
  }
}

describe.skipIf(skip)('the browser surface', () => {
  let browser: Browser;
  let foreign: Server;
  let foreignOrigin: string;
  const opened: Array<{ app: TestApp; close(): Promise<void> }> = [];

  async function serve(env: Record<string, string> = {}) {
    const app = await createTestApp({ env });
    const http = createHttpServer(app.yoga);
    const origin = await listen(http.server);
    opened.push({ app, close: () => http.close() });
    return { app, origin, endpoint: `${origin}/graphql` };
  }

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-sync',
      ],
    });
    foreign = foreignPage();
    foreignOrigin = await listen(foreign);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => foreign?.close(resolve));
    for (const { app, close } of opened) {
      await close();
      await app.close();
    }
  });

  it('CORS is off by default: a page of another origin cannot read an answer, even with a key', async () => {
    const { app, endpoint } = await serve();
    const outcome = await readFrom(browser, foreignOrigin, endpoint, app.admin.key);
    expect(outcome).toMatch(/^refused: TypeError/);
    expect(outcome).not.toContain(app.admin.user.email);
    const preflight = await fetch(endpoint, { method: 'OPTIONS', headers: { origin: 'null', 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('CORS_ORIGINS lets exactly the listed origins read (no credentials), and no other', async () => {
    const { app, endpoint } = await serve({ CORS_ORIGINS: foreignOrigin });
    expect(await readFrom(browser, foreignOrigin, endpoint, app.admin.key)).toContain(app.admin.user.email);
    const other = await fetch(endpoint, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await fetch(endpoint, {
      method: 'OPTIONS',
      headers: { origin: foreignOrigin, 'access-control-request-method': 'POST' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(foreignOrigin);
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it(
    'GraphiQL: security headers, only its own compressed and cacheable files, no CSP violation, no key kept in storage',
    { timeout: 90_000 },
    async () => {
      const { app, endpoint } = await serve();
      const page = await browser.newPage();
      try {
        const violations: string[] = [];
        const foreignRequests: string[] = [];
        page.on('console', (message) => {
          if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
        });
        page.on('request', (request) => {
          if (!request.url().startsWith(new URL(endpoint).origin) && !request.url().startsWith('data:'))
            foreignRequests.push(request.url());
        });
        const landing = await page.goto(endpoint);
        const headers = landing!.headers();
        expect(headers['content-security-policy']).toMatch(/script-src 'self'/);
        expect(headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
        expect(headers['content-security-policy']).not.toMatch(/script-src[^;]*unsafe-inline/);
        expect(headers['x-frame-options']).toBe('DENY');
        expect(headers['x-content-type-options']).toBe('nosniff');
        expect(headers['referrer-policy']).toBe('no-referrer');

        await page.locator('.graphiql-execute-button').waitFor({ state: 'visible', timeout: 60_000 });
        await page.getByText('Headers', { exact: true }).click();
        await page.locator('.graphiql-editor-tool .graphiql-editor:visible').click();
        await page.keyboard.insertText(JSON.stringify({ 'x-api-key': app.admin.key }));
        await page.locator('.graphiql-execute-button').click();
        await expect
          .poll(async () => (await page.locator('.graphiql-response').innerText()).replace(/\s+/g, ''), { timeout: 20_000 })
          .toContain(app.admin.user.email);

        const stored = await page.evaluate(() =>
          Object.entries(localStorage)
            .map(([key, value]) => `${key}=${value}`)
            .join('\n'),
        );
        expect(stored).not.toContain(app.admin.key);
        expect(violations).toEqual([]);
        expect(foreignRequests).toEqual([]);

        const scripts = await page.evaluate(() =>
          [...document.querySelectorAll('script[src], link[rel=stylesheet]')].map(
            (node) => (node as HTMLScriptElement).src || (node as HTMLLinkElement).href,
          ),
        );
        expect(scripts.length).toBeGreaterThanOrEqual(3);
        for (const url of scripts) {
          const asset = await fetch(url, { headers: { 'accept-encoding': 'br, gzip' } });
          expect(asset.status).toBe(200);
          expect(asset.headers.get('cache-control')).toContain('immutable');
          expect(['br', 'gzip']).toContain(asset.headers.get('content-encoding'));
        }
      } finally {
        await page.close();
      }
    },
  );

  it('GRAPHIQL=false and INTROSPECTION=false: no explorer, no schema described, no field suggestions', async () => {
    const { app, endpoint } = await serve({ GRAPHIQL: 'false', INTROSPECTION: 'false' });
    const page = await fetch(endpoint, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('graphiql');
    const introspect = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': app.admin.key },
      body: JSON.stringify({ query: '{ __schema { types { name } } }' }),
    });
    const answer = (await introspect.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    expect(answer.data).toBeUndefined();
    expect(answer.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const typo = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': app.admin.key },
      body: JSON.stringify({ query: '{ mee { id } }' }),
    });
    expect(await typo.text()).not.toMatch(/Did you mean/);
  });
});
