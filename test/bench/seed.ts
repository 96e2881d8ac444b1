/**
 * Test data for the HTTP rows, through Coffer's public GraphQL API and plain SQL only (no imports
 * from src/, whose layout changes): 100 real secrets via `upsertSecret`, and 100,000 rows in one
 * USER scope inserted in SQL while Coffer is stopped.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** A key in Coffer's format, registered for the first admin through COFFER_ADMIN_API_KEY. */
export function newApiKey(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const lookupId = Array.from({ length: 12 }, () => alphabet[randomInt(alphabet.length)]).join('');
  return `cof_${lookupId}_${randomBytes(32).toString('base64url')}`;
}

export const VAULT_SIZE = 100;
export const vaultValue = (i: number) => `value-${i}-${'x'.repeat(64)}`;

export const BULK_SIZE = 100_000;
export const BULK_USER = '11111111-1111-4111-8111-111111111111';
export const bulkScope = { type: 'USER', userId: BULK_USER };

export interface GraphQLBody {
  query: string;
  variables?: Record<string, unknown>;
}

export interface GraphQLReply {
  status: number;
  text: string;
  json: { data?: unknown; errors?: unknown[] } | null;
}

export async function post(url: string, body: GraphQLBody, headers: Record<string, string> = {}): Promise<GraphQLReply> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json: GraphQLReply['json'] = null;
  try {
    json = JSON.parse(text);
  } catch {
    // left null: callers report the text
  }
  return { status: response.status, text, json };
}

/** 100 ACCOUNT secrets with real encrypted values, ten requests at a time. */
export async function seedVault(graphqlUrl: string, apiKey: string): Promise<void> {
  const upsert = 'mutation Seed($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }';
  const one = async (i: number) => {
    const input = { name: `BENCH_SECRET_${i}`, value: vaultValue(i) };
    const reply = await post(graphqlUrl, { query: upsert, variables: { input } }, { 'x-api-key': apiKey });
    if (reply.status !== 200 || !reply.json || reply.json.errors) {
      throw new Error(`seeding ${input.name} failed: ${reply.status} ${reply.text.slice(0, 300)}`);
    }
  };
  for (let start = 0; start < VAULT_SIZE; start += 10) {
    await Promise.all(Array.from({ length: Math.min(10, VAULT_SIZE - start) }, (_, j) => one(start + j)));
  }
}

export type SqlTarget = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string };

/**
 * 100,000 secrets in one USER scope, newest BULK_1 to oldest BULK_100000, each with a version whose
 * ciphertext columns and key id are copied from a real one: listing never decrypts, and real key
 * ids keep start-up checks on stored keys meaningful. Needs the vault (a real version) first.
 */
export async function seedBulk(target: SqlTarget): Promise<void> {
  const statements = [
    `INSERT INTO users (id, email, role, created_at, updated_at)
     VALUES ('${BULK_USER}', 'bulk-scope@bench.invalid', 'DEVELOPER', now(), now())`,
    `INSERT INTO secrets (id, scope, owner_id, name, current_version, created_at, updated_at)
     SELECT gen_random_uuid(), 'USER', '${BULK_USER}', 'BULK_' || n, 1, now() - make_interval(secs => n), now()
     FROM generate_series(1, ${BULK_SIZE}) AS n`,
    `INSERT INTO secret_versions (secret_id, version, key_id, wrapped_key, iv, tag, ciphertext, created_at)
     SELECT s.id, 1, v.key_id, v.wrapped_key, v.iv, v.tag, v.ciphertext, s.created_at
     FROM secrets s CROSS JOIN (SELECT * FROM secret_versions ORDER BY created_at LIMIT 1) v
     WHERE s.scope = 'USER' AND s.owner_id = '${BULK_USER}'`,
    // Fresh statistics, as autovacuum would eventually give Coffer (PGlite has no autovacuum).
    'ANALYZE',
  ];
  const check = `SELECT count(*)::int AS n FROM secret_versions v JOIN secrets s ON s.id = v.secret_id WHERE s.owner_id = '${BULK_USER}'`;
  let copied: number;
  if (target.kind === 'postgres') {
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      for (const sql of statements) await client.query(sql);
      copied = (await client.query<{ n: number }>(check)).rows[0]!.n;
    } finally {
      await client.end();
    }
  } else {
    const pglite = await PGlite.create(target.dataDir);
    try {
      for (const sql of statements) await pglite.exec(sql);
      copied = (await pglite.query<{ n: number }>(check)).rows[0]!.n;
    } finally {
      await pglite.close();
    }
  }
  if (copied !== BULK_SIZE) throw new Error(`bulk seeding wrote ${copied} versions, expected ${BULK_SIZE} (is the vault seeded?)`);
}

/**
 * The cursor of the row at offset 50,000 (BULK_50001), found through the public API: a name
 * filter narrows the list to that row, and a cursor is the row's position whatever the filter.
 */
export async function deepCursor(graphqlUrl: string, apiKey: string): Promise<string> {
  const query =
    'query Find($scope: SecretScopeInput, $filter: SecretFilter) ' +
    '{ secrets(scope: $scope, filter: $filter, first: 1) { edges { cursor } } }';
  const variables = { scope: bulkScope, filter: { namePrefix: 'BULK_50001' } };
  const reply = await post(graphqlUrl, { query, variables }, { 'x-api-key': apiKey });
  const cursor = (reply.json?.data as { secrets?: { edges?: Array<{ cursor: string }> } } | undefined)?.secrets?.edges?.[0]?.cursor;
  if (!cursor) throw new Error(`no cursor for BULK_50001: ${reply.text.slice(0, 300)}`);
  return cursor;
}
