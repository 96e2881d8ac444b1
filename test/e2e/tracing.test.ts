import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.js';
import { findTrace } from '../support/leaks.js';
import { cleanUpProcesses, graphqlAt, startCoffer, tempDir, type CofferProcess } from '../support/processes.js';
import { createScratchDatabase } from '../support/database.js';
import type { ScratchDatabase } from '../support/scratch-database.js';

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT set: a real server process exports its spans over OTLP/HTTP (JSON)
 * to a receiver started here. The operation, its root fields with shield's decision, the database
 * statements and the Stripe calls nest as one trace; no secret value or key is in any attribute.
 */

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

const SPAN_KIND_SERVER = 2;
const SPAN_KIND_CLIENT = 3;

function adminApiKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const lookup = Array.from({ length: 12 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `cof_${lookup}_${randomBytes(32).toString('base64url')}`;
}

let receiver: Server;
const bodies: string[] = [];
const spans: ReceivedSpan[] = [];
let fake: FakeStripe;
let proc: CofferProcess;
let url: string;
let scratch: ScratchDatabase | undefined;
const admin = adminApiKey();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      bodies.push(body);
      if (req.url === '/v1/traces') {
        const message = JSON.parse(body) as {
          resourceSpans: Array<{
            scopeSpans: Array<{
              spans: Array<Omit<ReceivedSpan, 'attributes'> & { attributes?: Array<{ key: string; value: OtlpValue }> }>;
            }>;
          }>;
        };
        for (const resource of message.resourceSpans)
          for (const scope of resource.scopeSpans)
            for (const span of scope.spans)
              spans.push({
                ...span,
                attributes: Object.fromEntries((span.attributes ?? []).map(({ key, value }) => [key, Object.values(value)[0]])),
              });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  fake = await startFakeStripe();
  if (process.env.TEST_DATABASE_URL) scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL);
  proc = startCoffer({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    DATA_DIR: await tempDir(),
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    COFFER_ADMIN_API_KEY: admin,
    COFFER_TOKEN_SECRET: randomBytes(32).toString('hex'),
    COFFER_ROOT_KEY: randomBytes(32).toString('base64'),
    PUBLIC_URL: 'https://coffer.example.com',
    STRIPE_API_BASE: fake.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
  url = await proc.ready();
}, 90_000);

afterAll(async () => {
  await proc?.stop().catch(() => undefined);
  await cleanUpProcesses();
  await fake?.close();
  await scratch?.drop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

async function waitForSpan(predicate: (span: ReceivedSpan) => boolean, what: string): Promise<ReceivedSpan> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const found = spans.find(predicate);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${what} span within 30 s; received: ${spans.map((span) => span.name).join(', ')}`);
}

/** The span's ancestors, nearest first. */
function ancestorsOf(span: ReceivedSpan): ReceivedSpan[] {
  const chain: ReceivedSpan[] = [];
  let current: ReceivedSpan | undefined = span;
  while (current?.parentSpanId) {
    const parentId: string = current.parentSpanId;
    current = spans.find((candidate) => candidate.spanId === parentId && candidate.traceId === span.traceId);
    if (current) chain.push(current);
  }
  return chain;
}

describe('tracing over OTLP/HTTP', () => {
  it('nests operation, root field (with the shield decision), database statements and Stripe calls, with no value or key', async () => {
    const value = `canary-${randomBytes(16).toString('hex')}`;
    const account = fake.addAccount({ name: 'Traced' });
    const keyValue = fake.addKey(account.id);

    const upserted = await graphqlAt(
      url,
      'mutation Store($value: String!) { upsertSecret(input: { name: "TRACED", value: $value }) { name } }',
      {
        key: admin,
        variables: { value },
      },
    );
    expect(upserted.errors).toBeUndefined();
    const revealed = await graphqlAt(url, 'query Reveal { secret(name: "TRACED") { value } }', { key: admin });
    expect(revealed.data?.secret?.value).toBe(value);
    const project = await graphqlAt(url, 'mutation { createProject(input: { name: "traced" }) { id } }', { key: admin });
    const validated = await graphqlAt(
      url,
      'mutation Validate($projectId: ID!, $key: String!) { validateStripeCredentials(projectId: $projectId, input: { testSecretKey: $key }) { valid } }',
      { key: admin, variables: { projectId: project.data!.createProject.id, key: keyValue } },
    );
    expect(validated.errors).toBeUndefined();
    const denied = await graphqlAt(url, 'query Denied { me { id } }');
    expect(denied.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const operation = await waitForSpan((span) => span.name === 'query Reveal', 'operation');
    expect(operation.kind).toBe(SPAN_KIND_SERVER);
    expect(operation.attributes).toMatchObject({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'Reveal',
      'coffer.outcome': 'OK',
    });
    const field = await waitForSpan((span) => span.name === 'Query.secret' && span.traceId === operation.traceId, 'root field');
    expect(field.parentSpanId).toBe(operation.spanId);
    expect(field.attributes['coffer.shield']).toBe('allow');
    const statement = await waitForSpan(
      (span) => /^(prisma:|db\.query$)/.test(span.name) && span.traceId === operation.traceId && ancestorsOf(span).includes(field),
      'database statement under Query.secret',
    );
    expect(statement.name).toMatch(/^(prisma:|db\.query$)/);

    const stripeCall = await waitForSpan((span) => span.name.startsWith('stripe '), 'Stripe call');
    expect(stripeCall.kind).toBe(SPAN_KIND_CLIENT);
    expect(stripeCall.attributes['http.response.status_code']).toBe(200);
    expect(ancestorsOf(stripeCall).map((span) => span.name)).toEqual(
      expect.arrayContaining(['Mutation.validateStripeCredentials', 'mutation Validate']),
    );

    // Without a credential, shield refuses `me`: the resolver never runs.
    const refused = await waitForSpan((span) => span.name === 'query Denied', 'refused operation');
    expect(refused.attributes['coffer.outcome']).toBe('UNAUTHENTICATED');
    const refusedField = await waitForSpan(
      (span) => span.name === 'Query.me' && span.parentSpanId === refused.spanId,
      'refused root field',
    );
    expect(refusedField.attributes).toMatchObject({ 'coffer.shield': 'deny', 'coffer.outcome': 'UNAUTHENTICATED' });

    const exported = bodies.join('\n');
    for (const secret of [value, keyValue, admin]) expect(findTrace(exported, secret)).toBeNull();
  });
});
