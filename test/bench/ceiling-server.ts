/**
 * The ceiling: bare graphql-yoga plus the list's essential work in ONE SQL statement per request
 * (find the API key by its lookup id with its user, then the scope's 20 newest secrets), on the
 * same kind of database as Coffer. Roughly the best any yoga server can do for `secrets(first: 20)`;
 * Coffer's rows are compared with it.
 *
 * Env: CEILING_DATABASE_URL (PostgreSQL, through a `pg` Pool as large as Coffer's default) or
 * CEILING_PGLITE_DIR (its own copy of Coffer's data directory: PGlite is one process's database);
 * COFFER_TOKEN_SECRET, the same as Coffer's, to check the key's HMAC as Coffer does.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { PGlite } from '@electric-sql/pglite';
import { GraphQLError } from 'graphql';
import { createSchema, createYoga, type YogaInitialContext } from 'graphql-yoga';
import pg from 'pg';
import { listenAndReport } from './reference-server.js';

interface Row {
  secret_hash: Uint8Array;
  role: string;
  id: string | null;
  name: string;
  current_version: number;
  created_at: Date;
  updated_at: Date;
}

// ACCOUNT secrets are owned by the nil UUID; the lateral join runs only for an admin's key.
const STATEMENT = `
  WITH viewer AS (
    SELECT k.secret_hash, u.role
    FROM api_keys k JOIN users u ON u.id = k.user_id
    WHERE k.lookup_id = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()) AND u.disabled_at IS NULL
  )
  SELECT viewer.secret_hash, viewer.role, s.id, s.name, s.current_version, s.created_at, s.updated_at
  FROM viewer LEFT JOIN LATERAL (
    SELECT id, name, current_version, created_at, updated_at FROM secrets
    WHERE viewer.role = 'ADMIN' AND scope = 'ACCOUNT' AND owner_id = '00000000-0000-0000-0000-000000000000'
      AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now() OR is_reserved)
    ORDER BY created_at DESC, id DESC
    LIMIT $2
  ) s ON true`;

const postgresUrl = process.env.CEILING_DATABASE_URL;
const pgliteDir = process.env.CEILING_PGLITE_DIR;
const tokenSecret = process.env.COFFER_TOKEN_SECRET;
if ((!postgresUrl && !pgliteDir) || !tokenSecret) {
  throw new Error('CEILING_DATABASE_URL or CEILING_PGLITE_DIR, and COFFER_TOKEN_SECRET, are required');
}

let query: (params: unknown[]) => Promise<Row[]>;
let close: () => Promise<void>;
if (postgresUrl) {
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
  query = async (params) => (await pool.query<Row>(STATEMENT, params)).rows;
  close = () => pool.end();
} else {
  const pglite = await PGlite.create(pgliteDir!);
  query = async (params) => (await pglite.query<Row>(STATEMENT, params)).rows;
  close = () => pglite.close();
}

// Coffer stores HMAC-SHA-256(key) under a key derived from COFFER_TOKEN_SECRET with HKDF (a stored
// format: changing it would invalidate every issued API key, so mirroring it here is stable).
const hmacKey = Buffer.from(hkdfSync('sha256', Buffer.from(tokenSecret), 'coffer', 'coffer/api-key-hmac', 32));
const API_KEY = /^cof_([A-Za-z0-9]{12})_[A-Za-z0-9_-]{43}$/;
const unauthenticated = () => new GraphQLError('The API key is not valid.', { extensions: { code: 'UNAUTHENTICATED' } });
const cursorOf = (row: Row) => Buffer.from(`k1:${row.created_at.toISOString()}:${row.id}`).toString('base64url');

const typeDefs = /* GraphQL */ `
  type Query {
    secrets(first: Int = 10): SecretConnection!
  }
  type SecretConnection {
    edges: [SecretEdge!]!
    pageInfo: PageInfo!
  }
  type SecretEdge {
    cursor: String!
    node: Secret!
  }
  type Secret {
    name: String!
    currentVersion: Int!
    updatedAt: String!
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
`;

const resolvers = {
  Query: {
    async secrets(_root: unknown, args: { first: number }, ctx: YogaInitialContext) {
      const key = ctx.request.headers.get('x-api-key') ?? '';
      const lookupId = API_KEY.exec(key)?.[1];
      if (!lookupId) throw unauthenticated();
      const first = Math.min(Math.max(args.first, 1), 100);
      // One row more than the page tells whether there is a next page.
      const rows = await query([lookupId, first + 1]);
      const viewer = rows[0];
      const expected = createHmac('sha256', hmacKey).update(key).digest();
      if (!viewer || !timingSafeEqual(expected, Buffer.from(viewer.secret_hash))) throw unauthenticated();
      if (viewer.role !== 'ADMIN') throw new GraphQLError('Only admins can use ACCOUNT secrets.', { extensions: { code: 'FORBIDDEN' } });
      const secrets = rows.filter((row) => row.id !== null);
      const page = secrets.slice(0, first);
      return {
        edges: page.map((row) => ({
          cursor: cursorOf(row),
          node: { name: row.name, currentVersion: row.current_version, updatedAt: row.updated_at.toISOString() },
        })),
        pageInfo: { hasNextPage: secrets.length > first, endCursor: page.length > 0 ? cursorOf(page[page.length - 1]!) : null },
      };
    },
  },
};

const yoga = createYoga({ schema: createSchema({ typeDefs, resolvers }), graphiql: false, logging: false });
await listenAndReport(
  createServer((req, res) => void yoga(req, res)),
  close,
);
