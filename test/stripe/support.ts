import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { StripeEnvironment } from '../../src/generated/prisma/enums.js';
import { projectOwnedBy } from '../../src/features/projects/projects.factory.js';
import { revealCredential } from '../../src/features/stripe/config/credentials.repository.js';
import { graphql } from '../../src/generated/graphql/index.js';
import type { StripeCredentialsInput } from '../../src/generated/graphql/graphql.js';
import { createTestApp, type CallOptions } from '../support/app.js';
import { expectOk } from '../support/assertions.js';
import { startFakeStripe, type AddKeyOptions } from '../support/fake-stripe.js';

/**
 * Typed documents and a harness shared by the Stripe suites. The harness remembers every full
 * credential a test used and every response it saw, so each file can end with a leak canary.
 */

export const PUBLIC_URL = 'https://coffer.example.com';

export const StripeSuiteEnvironment = graphql(`
  fragment StripeSuiteEnvironment on StripeEnvironmentStatus {
    environment accountId accountName livemode configuredAt syncDue syncRequestedAt lastSyncSummary
    webhook { mode status endpointId url enabledEvents lastError signingSecret }
  }
`);

export const StripeSuiteConfig = graphql(`
  fragment StripeSuiteConfig on StripeConfig {
    id projectId isActive hasTestCredentials hasLiveCredentials
    testSecretKey testPublishableKey testWebhookSecret liveSecretKey livePublishableKey liveWebhookSecret
    testConfiguredAt liveConfiguredAt createdAt updatedAt
    keys { environment hasKey maskedKey }
    test { ...StripeSuiteEnvironment }
    live { ...StripeSuiteEnvironment }
  }
`);

export const ConfigureStripe = graphql(`
  mutation StripeSuiteConfigure($projectId: ID!, $input: StripeCredentialsInput!) {
    configureStripe(projectId: $projectId, input: $input) {
      config { ...StripeSuiteConfig }
      results { environment changedFields accountChanged syncDue syncRunId webhook { ok url endpointId error } }
    }
  }
`);

export const ReadStripeConfig = graphql(`
  query StripeSuiteReadConfig($projectId: ID!) {
    stripeConfig(projectId: $projectId) { ...StripeSuiteConfig }
  }
`);

export const ValidateStripe = graphql(`
  mutation StripeSuiteValidate($projectId: ID!, $input: StripeCredentialsInput!) {
    validateStripeCredentials(projectId: $projectId, input: $input) {
      valid
      accounts { environment accountId accountName livemode restrictedKey }
    }
  }
`);

export const RemoveStripe = graphql(`
  mutation StripeSuiteRemove($projectId: ID!, $environment: StripeEnvironment!) {
    removeStripeConfig(projectId: $projectId, environment: $environment) { ...StripeSuiteConfig }
  }
`);

export const RetryStripeWebhook = graphql(`
  mutation StripeSuiteRetryWebhook($projectId: ID!, $environment: StripeEnvironment!) {
    retryStripeWebhookSetup(projectId: $projectId, environment: $environment) { ok url endpointId error }
  }
`);

/** Anything shaped like a whole Stripe credential: a masked one has `...` right after the prefix. */
export const FULL_CREDENTIAL = /\b(?:(?:sk|rk|pk)_(?:test|live)_|whsec_)[A-Za-z0-9]{5,}/g;

/** What Coffer should show for a credential, written independently of src: prefix, `...`, last four. */
export function maskOf(value: string): string {
  const prefix = /^(?:(?:sk|rk|pk)_(?:test|live)_|whsec_)/.exec(value)?.[0];
  if (!prefix) throw new Error('maskOf: not a Stripe credential');
  return `${prefix}...${value.slice(-4)}`;
}

/** A random alphanumeric body for credentials that only need the right shape. */
export const randomBody = (bytes = 16) => randomBytes(bytes).toString('hex');

/** A URL where nothing listens: a port that was free a moment ago. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

interface GraphQLErrorShape {
  message: string;
  extensions?: Record<string, unknown>;
}

export interface StripeEvent {
  id?: string;
  type?: string;
  created?: number;
  livemode?: boolean;
  object: Record<string, unknown>;
}

export type StripeHarness = Awaited<ReturnType<typeof startStripeHarness>>;

export async function startStripeHarness({ env = {} }: { env?: Record<string, string> } = {}) {
  const fake = await startFakeStripe();
  const app = await createTestApp({ env: { STRIPE_API_BASE: fake.url, PUBLIC_URL, ...env } });
  const credentials = new Set<string>();
  const responses: string[] = [];
  const accounts: string[] = [];

  const remember = (value: string) => {
    if (value.length >= 12) credentials.add(value);
  };
  const rememberEndpointSecrets = () => {
    for (const accountId of accounts) for (const endpoint of fake.webhookEndpoints(accountId)) remember(endpoint.secret);
  };
  const clockSeconds = () => Math.floor(app.clock.current.getTime() / 1000);

  async function execute<Result, Variables>(
    document: TypedDocumentNode<Result, Variables>,
    variables: Variables,
    options: CallOptions = {},
  ) {
    const input = (variables as { input?: Record<string, unknown> }).input ?? {};
    for (const value of Object.values(input)) if (typeof value === 'string') remember(value);
    const response = await app.execute(document, variables, { credential: app.owner.key, ...options });
    responses.push(response.text);
    // Endpoints may be deleted later in a test: their secrets are collected while they exist.
    rememberEndpointSecrets();
    return response;
  }

  const configure = (projectId: string, input: StripeCredentialsInput, options?: CallOptions) =>
    execute(ConfigureStripe, { projectId, input }, options);
  const validate = (projectId: string, input: StripeCredentialsInput, options?: CallOptions) =>
    execute(ValidateStripe, { projectId, input }, options);

  async function readConfig(projectId: string) {
    return expectOk(await execute(ReadStripeConfig, { projectId })).stripeConfig ?? null;
  }

  /** The decrypted signing secret Coffer stored for an environment (null when none). */
  async function storedWebhookSecret(projectId: string, environment: StripeEnvironment = 'TEST') {
    const state = await app.db.prisma.stripeEnvironmentState.findFirst({
      where: { projectId, environment },
      include: { credentials: true },
    });
    const row = state?.credentials.find((credential) => credential.kind === 'WEBHOOK_SECRET');
    if (!row) return null;
    const secret = await revealCredential(app.services.keyring, projectId, environment, row);
    remember(secret);
    return secret;
  }

  function eventPayload({
    id = `evt_${randomBody(12)}`,
    type = 'customer.updated',
    created = clockSeconds(),
    livemode = false,
    object,
  }: StripeEvent) {
    return JSON.stringify({ id, object: 'event', api_version: '2026-10-28.endive', created, livemode, type, data: { object } });
  }

  /** POSTs an event to Coffer's webhook route, signed with `secret` (or with a given header). */
  async function sendWebhook(
    projectId: string,
    payload: string,
    {
      secret,
      environment = 'test',
      timestamp = clockSeconds(),
      body = payload,
      method = 'POST',
      signature,
    }: { secret?: string; environment?: string; timestamp?: number; body?: string; method?: string; signature?: string } = {},
  ) {
    const header = signature ?? (secret ? fake.signWebhook(payload, secret, timestamp) : undefined);
    const response = await app.yoga.fetch(`http://coffer.test/webhooks/stripe/${projectId}/${environment}`, {
      method,
      headers: header ? { 'stripe-signature': header } : {},
      ...(method === 'GET' ? {} : { body }),
    });
    const text = await response.text();
    responses.push(text);
    return { status: response.status, json: JSON.parse(text) as Record<string, unknown> };
  }

  /** Every remembered credential found where it must never be, masked so a failure does not print it. */
  async function leaks() {
    const secrets = [...credentials];
    const errors = responses.flatMap((text) => {
      try {
        return ((JSON.parse(text) as { errors?: GraphQLErrorShape[] }).errors ?? []).map((error) =>
          JSON.stringify({ message: error.message, extensions: error.extensions }),
        );
      } catch {
        return [];
      }
    });
    const audit = JSON.stringify(await app.db.prisma.auditEvent.findMany());
    const found = (texts: string[]) => secrets.filter((secret) => texts.some((text) => text.includes(secret))).map(maskOf);
    return {
      logs: found(app.logs),
      errors: found(errors),
      audit: found([audit]),
      responses: found(responses),
      unmaskedInResponses: responses.flatMap((text) => text.match(FULL_CREDENTIAL) ?? []).map((match) => `${match.slice(0, 12)}...`),
    };
  }

  return {
    fake,
    app,
    credentials,
    responses,
    clockSeconds,
    remember,
    account(name = 'Acme Books') {
      const account = fake.addAccount({ name });
      accounts.push(account.id);
      return account;
    },
    key(accountId: string, options: AddKeyOptions = {}) {
      const key = fake.addKey(accountId, options);
      remember(key);
      return key;
    },
    /** A signing secret typed in by hand (MANUAL mode). */
    manualWebhookSecret() {
      const secret = `whsec_${randomBody(20)}`;
      remember(secret);
      return secret;
    },
    project: () => projectOwnedBy({ db: app.db, ownerId: app.owner.user.id }),
    execute,
    configure,
    validate,
    readConfig,
    storedWebhookSecret,
    eventPayload,
    sendWebhook,
    leaks,
    async close() {
      await app.close();
      await fake.close();
    },
  };
}

export const NO_LEAKS = { logs: [], errors: [], audit: [], responses: [], unmaskedInResponses: [] };
