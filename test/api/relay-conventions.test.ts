import { readFile } from 'node:fs/promises';
import { getNamedType, isNonNullType, isObjectType, isScalarType, specifiedScalarTypes, type GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import codegen from '../../codegen.js';
import { buildSchema } from '../../src/schema.js';
import { createTestApp, errorCodes, type TestApp } from '../support/app.js';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe.js';

/**
 * What Relay (and any typed GraphQL client) relies on, checked for every type of the schema so a
 * new connection, mutation or scalar follows the conventions or fails here: connections named
 * after their node with totalCount and nodes, nullable mutation results, a Node interface with
 * node/nodes, and every scalar typed by codegen.
 */
describe('Relay conventions of the schema', () => {
  const schema = buildSchema();
  const objects = Object.values(schema.getTypeMap()).filter(
    (type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'),
  );
  const connections = objects.filter((type) => 'edges' in type.getFields() && 'pageInfo' in type.getFields());

  it('names every connection and edge after its node, with totalCount and nodes', () => {
    expect(connections.length).toBeGreaterThan(5);
    const problems: string[] = [];
    for (const connection of connections) {
      const fields = connection.getFields();
      const edge = getNamedType(fields.edges!.type) as GraphQLObjectType;
      const node = getNamedType(edge.getFields().node!.type);
      const stem = connection.name.replace(/Connection$/, '');
      if (!connection.name.endsWith('Connection') || /^(Query|Mutation|Subscription)[A-Z]/.test(connection.name))
        problems.push(`${connection.name}: not named after its node (${node.name})`);
      // SecretConnection lists SecretMetadata: the stem may leave off a suffix, never name another type.
      if (!node.name.startsWith(stem)) problems.push(`${connection.name}: lists ${node.name}`);
      if (edge.name !== `${stem}Edge`) problems.push(`${connection.name}: edge type ${edge.name}`);
      if (String(fields.totalCount?.type) !== 'Int!') problems.push(`${connection.name}: totalCount is ${String(fields.totalCount?.type)}`);
      if (getNamedType(fields.nodes?.type ?? fields.edges!.type) !== node) problems.push(`${connection.name}: no nodes list`);
    }
    expect(problems).toEqual([]);
  });

  it('lets every mutation result be null, so a failed alias does not erase its siblings', () => {
    const mutation = schema.getMutationType()!;
    expect(
      Object.values(mutation.getFields())
        .filter((field) => isNonNullType(field.type))
        .map((field) => field.name),
    ).toEqual([]);
  });

  it('has a Node interface, node(id:) and nodes(ids:)', () => {
    const query = schema.getQueryType()!.getFields();
    expect(String(query.node?.type)).toBe('Node');
    expect(String(query.nodes?.type)).toBe('[Node]!');
    expect(String(query.node?.args[0]?.type)).toBe('ID!');
    const implementations = schema.getImplementations(schema.getType('Node') as never).objects.map((type) => type.name);
    expect(implementations.sort()).toEqual([
      'ApiKey',
      'AuditEvent',
      'MachineIdentity',
      'Project',
      'SecretMetadata',
      'StripeSyncRun',
      'User',
    ]);
  });

  it('maps every custom scalar in codegen.ts, so generated types hold no unknown', async () => {
    const custom = Object.values(schema.getTypeMap())
      .filter((type) => isScalarType(type) && !specifiedScalarTypes.includes(type))
      .map((type) => type.name);
    expect(custom.length).toBeGreaterThan(0);
    const generates = Object.values(codegen.generates) as Array<{ config?: { scalars?: Record<string, string> } }>;
    for (const output of generates) {
      const scalars = output.config?.scalars ?? {};
      expect(Object.keys(scalars).sort(), 'scalars mapped by codegen.ts').toEqual(custom.sort());
      for (const [name, type] of Object.entries(scalars)) expect(type, name).not.toMatch(/\b(unknown|any)\b/);
    }
    // The test documents select DateTime and JSON fields: their result types must say what they hold.
    const generated = await readFile(new URL('../../src/generated/graphql/graphql.ts', import.meta.url), 'utf8');
    const resultTypes = generated.split('\n').filter((line) => /^export type \w+(Query|Mutation|Subscription|Fragment) = /.test(line));
    expect(resultTypes.length).toBeGreaterThan(0);
    expect(resultTypes.filter((line) => /\bunknown\b/.test(line)).map((line) => line.slice(0, 80))).toEqual([]);
  });
});

describe('Relay conventions over GraphQL', () => {
  let app: TestApp;
  let fake: FakeStripe;
  beforeAll(async () => {
    fake = await startFakeStripe();
    app = await createTestApp({ env: { STRIPE_API_BASE: fake.url, PUBLIC_URL: 'https://coffer.example.com' } });
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  const asOwner = () => ({ credential: app.owner.key });

  it('answers an aliased startStripeSync that conflicts with an error for it and the data of the one that started', async () => {
    const account = fake.addAccount({ name: 'Aliases' });
    const configure = await app.request(
      {
        query:
          'mutation($projectId: ID!, $key: String!) { configureStripe(projectId: $projectId, input: { testSecretKey: $key }) { config { id } } }',
        variables: { projectId: app.project.id, key: fake.addKey(account.id) },
      },
      { credential: app.admin.key },
    );
    expect(configure.json.errors, configure.text).toBeUndefined();
    // Configuring queued a first sync (no worker runs here): cancel it so the first alias can start one.
    const queued = await app.db.prisma.stripeSyncRun.findFirstOrThrow({ where: { projectId: app.project.id, activeSlot: 'active' } });
    const cancel = await app.request({ query: `mutation { cancelStripeSync(runId: "${queued.id}") { status } }` }, asOwner());
    expect(cancel.json.errors, cancel.text).toBeUndefined();

    const response = await app.request(
      {
        query: `mutation($projectId: ID!) {
          first: startStripeSync(projectId: $projectId, environment: TEST) { id status }
          second: startStripeSync(projectId: $projectId, environment: TEST) { id status }
        }`,
        variables: { projectId: app.project.id },
      },
      asOwner(),
    );
    const data = response.json.data as { first: { id: string; status: string } | null; second: unknown };
    expect(data.first).toMatchObject({ status: 'QUEUED' });
    expect(data.second).toBeNull();
    expect(errorCodes(response)).toEqual(['CONFLICT']);
    expect((response.json.errors as Array<{ path: string[] }>)[0]!.path).toEqual(['second']);
    const active = await app.db.prisma.stripeSyncRun.findFirstOrThrow({ where: { projectId: app.project.id, activeSlot: 'active' } });
    expect(active.id).toBe(data.first!.id);
  });

  it('counts totalCount under the filter, across pages, and lists nodes as the edges do', async () => {
    const scope = { type: 'PROJECT', projectId: app.project.id };
    for (const name of ['RELAY_A_1', 'RELAY_A_2', 'RELAY_A_3', 'RELAY_B_1']) {
      const upsert = await app.request(
        {
          query: 'mutation($input: UpsertSecretInput!) { upsertSecret(input: $input) { id } }',
          variables: { input: { name, value: 'v', scope } },
        },
        asOwner(),
      );
      expect(upsert.json.errors, upsert.text).toBeUndefined();
    }
    const page = await app.request(
      {
        query: `query($scope: SecretScopeInput) {
          secrets(scope: $scope, filter: { namePrefix: "RELAY_A" }, first: 2) { totalCount nodes { name } edges { node { name } } }
        }`,
        variables: { scope },
      },
      asOwner(),
    );
    expect(page.json.errors, page.text).toBeUndefined();
    const secrets = (
      page.json.data as { secrets: { totalCount: number; nodes: Array<{ name: string }>; edges: Array<{ node: { name: string } }> } }
    ).secrets;
    expect(secrets.totalCount).toBe(3);
    expect(secrets.nodes).toHaveLength(2);
    expect(secrets.nodes).toEqual(secrets.edges.map((edge) => edge.node));
  });

  it('refetches a listed object by node(id:) and nodes(ids:), with null for an unknown id', async () => {
    const listed = await app.request({ query: 'query { projects(first: 1) { nodes { id name } } }' }, asOwner());
    const project = (listed.json.data as { projects: { nodes: Array<{ id: string; name: string }> } }).projects.nodes[0]!;
    const refetched = await app.request(
      {
        query: `query($id: ID!, $ids: [ID!]!) {
          node(id: $id) { __typename id ... on Project { name } }
          nodes(ids: $ids) { __typename id }
        }`,
        variables: { id: project.id, ids: [project.id, '00000000-0000-4000-8000-000000000000', app.owner.user.id] },
      },
      asOwner(),
    );
    expect(refetched.json).toEqual({
      data: {
        node: { __typename: 'Project', id: project.id, name: project.name },
        nodes: [{ __typename: 'Project', id: project.id }, null, { __typename: 'User', id: app.owner.user.id }],
      },
    });
  });
});
