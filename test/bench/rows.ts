/**
 * What the HTTP part of `npm run bench` measures. A row is one GraphQL request sent over and over
 * to one server; adding a measurement means adding an entry to `HTTP_ROWS` (and, if it needs data,
 * a seed in seed.ts named in `needs`). Rows on the `bare` and `ceiling` servers are the references
 * every Coffer row is divided by, round by round.
 */
import { bulkScope, type GraphQLBody } from './seed.js';

/** bare: bare-server.ts; ceiling: ceiling-server.ts; coffer: the real server. */
export type ServerName = 'bare' | 'ceiling' | 'coffer';
/** vault: 100 ACCOUNT secrets written through the API; bulk: 100,000 secrets in one USER scope (SQL). */
export type Seed = 'vault' | 'bulk';

export interface RowContext {
  adminKey: string;
  /** Cursor of the row at offset 50,000 of the bulk scope (set when a row needs 'bulk'). */
  deepCursor: string | null;
}

/** Per-round ratios a goal can be stated on (medians over rounds). */
export type GoalMetric = 'vsBare' | 'vsCeiling' | 'p99VsBare';

export interface Goal {
  metric: GoalMetric;
  /** Met when the measured ratio is at least `min` / at most `max`. */
  min?: number;
  max?: number;
  /** Only judged at this connection count (default: at every one the row runs at). */
  connections?: number;
}

export interface HttpRow {
  name: string;
  server: ServerName;
  /** Default: settings.CONNECTIONS (10 and 50). */
  connections?: readonly number[];
  needs?: readonly Seed[];
  body(ctx: RowContext): GraphQLBody;
  /** Sent as x-api-key: the admin's key. */
  authenticated?: boolean;
  /** Checked before and after every run, so an error path is never what gets measured. Returns a problem or null. */
  expect(data: unknown): string | null;
  goals?: readonly Goal[];
  /** Also shows req/s relative to this row at the same connection count (same rounds). */
  compareWith?: string;
}

const LIST =
  'query List { secrets(first: 20) { edges { cursor node { name currentVersion updatedAt } } pageInfo { hasNextPage endCursor } } }';

const pick = (data: unknown, path: string[]): unknown =>
  path.reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), data);
const shown = (data: unknown) => JSON.stringify(data)?.slice(0, 200);
const equals = (path: string[], expected: unknown) => (data: unknown) =>
  pick(data, path) === expected ? null : `expected ${path.join('.')} = ${JSON.stringify(expected)}, got ${shown(data)}`;
const twentyEdges = (data: unknown) => {
  const edges = pick(data, ['secrets', 'edges']);
  return Array.isArray(edges) && edges.length === 20 ? null : `expected 20 edges, got ${shown(data)}`;
};

export const BARE = 'bare yoga `{ __typename }`';
export const CEILING = 'ceiling: yoga + one SQL statement, `secrets(first: 20)`';
const BULK_FIRST = 'Coffer `secrets(first: 20)`, 100,000 secrets, first page';

export const HTTP_ROWS: readonly HttpRow[] = [
  { name: BARE, server: 'bare', body: () => ({ query: '{ __typename }' }), expect: equals(['__typename'], 'Query') },
  {
    name: CEILING,
    server: 'ceiling',
    needs: ['vault'],
    authenticated: true,
    body: () => ({ query: LIST }),
    expect: twentyEdges,
  },
  {
    name: 'Coffer `{ __typename }`, anonymous',
    server: 'coffer',
    body: () => ({ query: '{ __typename }' }),
    expect: equals(['__typename'], 'Query'),
  },
  {
    name: 'Coffer `me`, x-api-key',
    server: 'coffer',
    authenticated: true,
    body: () => ({ query: 'query Me { me { id email role } }' }),
    expect: equals(['me', 'role'], 'ADMIN'),
    goals: [{ metric: 'vsBare', min: 0.7 }],
  },
  {
    name: 'Coffer `secrets(first: 20)`, 100 secrets',
    server: 'coffer',
    needs: ['vault'],
    authenticated: true,
    body: () => ({ query: LIST }),
    expect: twentyEdges,
    goals: [
      { metric: 'vsCeiling', min: 1.0 },
      { metric: 'p99VsBare', max: 3, connections: 50 },
    ],
  },
  {
    name: 'Coffer reveal one value (`secret { value }`, audited)',
    server: 'coffer',
    needs: ['vault'],
    authenticated: true,
    body: () => ({ query: 'query Reveal { secret(name: "BENCH_SECRET_42") { value } }' }),
    expect: (data) => (String(pick(data, ['secret', 'value'])).startsWith('value-42-') ? null : `got ${shown(data)}`),
    goals: [{ metric: 'vsCeiling', min: 0.6 }],
  },
  {
    name: 'Coffer `secretValues`, 50 secrets (bulk read, 50 audit records)',
    server: 'coffer',
    needs: ['vault'],
    authenticated: true,
    body: () => ({
      query: 'query Values($names: [String!]) { secretValues(scope: { type: ACCOUNT }, names: $names) { name value version } }',
      variables: { names: Array.from({ length: 50 }, (_, i) => `BENCH_SECRET_${i}`) },
    }),
    expect: (data) => {
      const values = pick(data, ['secretValues']);
      if (!Array.isArray(values) || values.length !== 50) return `expected 50 values, got ${shown(data)}`;
      const wrong = (values as Array<{ name: string; value: string }>).find(
        (entry) => !entry.value.startsWith(`value-${entry.name.slice('BENCH_SECRET_'.length)}-`),
      );
      return wrong ? `${wrong.name} holds another value` : null;
    },
    compareWith: 'Coffer reveal one value (`secret { value }`, audited)',
  },
  {
    name: BULK_FIRST,
    server: 'coffer',
    connections: [10],
    needs: ['vault', 'bulk'],
    authenticated: true,
    body: () => ({
      query: 'query Bulk($scope: SecretScopeInput) { secrets(scope: $scope, first: 20) { edges { cursor node { name } } } }',
      variables: { scope: bulkScope },
    }),
    expect: twentyEdges,
  },
  {
    name: 'Coffer `secrets(first: 20)`, 100,000 secrets, page at 50,000',
    server: 'coffer',
    connections: [10],
    needs: ['vault', 'bulk'],
    authenticated: true,
    body: ({ deepCursor }) => ({
      query:
        'query Deep($scope: SecretScopeInput, $after: String) ' +
        '{ secrets(scope: $scope, first: 20, after: $after) { edges { cursor node { name } } } }',
      variables: { scope: bulkScope, after: deepCursor },
    }),
    // Keyset pagination: the page after BULK_50001 starts at BULK_50002, and costs what the first page costs.
    expect: (data) => twentyEdges(data) ?? equals(['secrets', 'edges', '0', 'node', 'name'], 'BULK_50002')(data),
    compareWith: BULK_FIRST,
  },
];

/** Not HTTP rows, but filtered by name the same way. */
export const STARTUP_ROW = 'Coffer start-up to ready, existing data';
/** Idle RSS of Coffer and of the references (and Coffer's RSS after the rounds). */
export const MEMORY_ROW = 'idle memory (RSS)';
export const STARTUP_GOAL_MS = 2_000;
/** The secret change-stream fan-out (change-stream.ts), run in-process after the HTTP rows. */
export const CHANGE_STREAM_ROW = 'change-stream fan-out';

/** The rows to run: those selected, plus the references a selected Coffer row is divided by. */
export function chooseRows(selected: (name: string) => boolean): HttpRow[] {
  const chosen = new Set(HTTP_ROWS.filter((row) => selected(row.name)));
  for (const row of [...chosen]) {
    if (row.server !== 'coffer') continue;
    for (const reference of HTTP_ROWS) if (reference.server !== 'coffer') chosen.add(reference);
    const other = HTTP_ROWS.find((candidate) => candidate.name === row.compareWith);
    if (other) chosen.add(other);
  }
  return HTTP_ROWS.filter((row) => chosen.has(row));
}

export const connectionsOf = (row: HttpRow, fallback: readonly number[]) => row.connections ?? fallback;

export const describeGoal = (goal: Goal) => {
  const bound = goal.min !== undefined ? `≥ ${goal.min.toFixed(1)}×` : `≤ ${goal.max!.toFixed(1)}×`;
  const what = goal.metric === 'vsBare' ? 'bare req/s' : goal.metric === 'vsCeiling' ? 'ceiling req/s' : "bare's p99";
  return `${goal.metric === 'p99VsBare' ? 'p99 ' : ''}${bound} ${what}${goal.connections ? ` at ${goal.connections} conns` : ''}`;
};

export const goalMet = (goal: Goal, value: number) => (goal.min !== undefined ? value >= goal.min : value <= goal.max!);
