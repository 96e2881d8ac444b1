import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/app.js';
import { createTestApp, type TestApp } from '../support/app.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const chromiumMissing = !existsSync(CHROMIUM);
// Locally a missing browser is a reason to skip; in CI (.ci/run installs it) it is a failure.
const skip = chromiumMissing && !process.env.CI;
if (skip) process.stderr.write(`graphiql.test.ts skipped: ${CHROMIUM} is not installed (apt-get install chromium) and CI is not set\n`);

/** GraphiQL as a person uses it: a real browser against a real socket. */
describe.skipIf(skip)('GraphiQL in a browser', () => {
  let app: TestApp;
  let http: ReturnType<typeof createHttpServer>;
  let endpoint: string;
  let browser: Browser;

  beforeAll(async () => {
    if (chromiumMissing) throw new Error(`${CHROMIUM} is required when CI is set (apt-get install chromium)`);
    app = await createTestApp();
    http = createHttpServer(app.yoga);
    await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}/graphql`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await http?.close();
    await app?.close();
  });

  it('runs `me` with an API key and shows the admin in the result pane', { timeout: 90_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      const failed: string[] = [];
      const consoleErrors: string[] = [];
      // GraphiQL's scripts and styles may come from another host (yoga's default renders them from
      // unpkg.com): when one cannot load, say so at once instead of timing out on a blank page.
      let assetFailed: (reason: Error) => void = () => undefined;
      const assetFailure = new Promise<never>((_, reject) => (assetFailed = reject));
      assetFailure.catch(() => undefined);
      page.on('requestfailed', (request) => {
        failed.push(`${request.url()} (${request.failure()?.errorText})`);
        if (['script', 'stylesheet'].includes(request.resourceType()) || request.url().includes('worker')) {
          assetFailed(new Error(`GraphiQL could not load its assets, so the page stays blank:\n  ${failed.join('\n  ')}`));
        }
      });
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });

      const landing = await page.goto(endpoint);
      expect(landing?.status()).toBe(200);
      expect(landing?.headers()['content-type']).toContain('text/html');

      const run = page.locator('.graphiql-execute-button');
      const rendered = run.waitFor({ state: 'visible', timeout: 30_000 }).catch(() => {
        throw new Error(
          `GraphiQL did not render within 30 s.\nFailed requests:\n  ${failed.join('\n  ') || 'none'}\nConsole errors:\n  ${consoleErrors.join('\n  ') || 'none'}`,
        );
      });
      rendered.catch(() => undefined); // whichever loses the race must not surface as unhandled
      await Promise.race([rendered, assetFailure]);

      // GraphiQL's default document (set in src/app.ts) is the query to run; make sure it is there.
      const editor = page.locator('.graphiql-query-editor');
      await expect.poll(() => editor.innerText(), { timeout: 10_000 }).toMatch(/me\s*\{[^}]*email[^}]*role/);

      // The key goes in GraphiQL's headers editor, as a person would put it; insertText rather than
      // typing, so the editor's bracket and quote auto-closing does not garble the JSON.
      await page.getByText('Headers', { exact: true }).click();
      await page.locator('.graphiql-editor-tool .graphiql-editor:visible').click();
      await page.keyboard.insertText(JSON.stringify({ 'x-api-key': app.admin.key }));

      await run.click();
      // The editor soft-wraps long lines, so compare without whitespace.
      const resultText = async () => (await page.locator('.graphiql-response').innerText()).replace(/\s+/g, '');
      await expect.poll(resultText, { timeout: 20_000 }).toContain(app.admin.user.email);
      expect(await resultText()).toContain('"role":"ADMIN"');
      expect(await resultText()).not.toContain('UNAUTHENTICATED');

      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}graphiql.png`, fullPage: true });
    } catch (error) {
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}graphiql-failure.png`, fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await page.close();
    }
  });
});
