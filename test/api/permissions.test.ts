import { buildSchema, graphql } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { allow, rule } from 'graphql-shield';
import { describe, expect, it } from 'vitest';
import { admitsMachines, buildPermissions } from '../../src/graphql/permissions.js';

/**
 * Shield wraps only fields whose rule decides something; `allow` fields run unwrapped. A field
 * nobody gave a rule is still denied (shield's fallback), wrapped or not.
 */

const schema = buildSchema(`
  type Query { open: Item, guarded: Item, forgotten: String }
  type Mutation { forgottenToo: String }
  type Subscription { ticks: Int }
  type Item { id: String, secret: String }
`);
const signedIn = rule({ cache: 'no_cache' })((_parent, _args, ctx: { signedIn: boolean }) => ctx.signedIn);
const features = [{ Query: { open: allow, guarded: signedIn }, types: { Item: { secret: signedIn } } }];

describe('buildPermissions', () => {
  it('leaves allow fields unwrapped and wraps the rest, unruled root fields included', () => {
    const middleware = buildPermissions(schema, features) as Record<string, Record<string, unknown>>;
    expect(Object.keys(middleware).sort()).toEqual(['Item', 'Mutation', 'Query', 'Subscription']);
    expect(Object.keys(middleware.Query!).sort()).toEqual(['forgotten', 'guarded']);
    expect(Object.keys(middleware.Mutation!)).toEqual(['forgottenToo']);
    expect(Object.keys(middleware.Item!)).toEqual(['secret']);
  });

  it('an unruled field is denied; allow fields answer; rules decide the others', async () => {
    const guarded = applyMiddleware(schema, buildPermissions(schema, features));
    const item = { id: 'i', secret: 's' };
    const run = (source: string, signedIn: boolean) =>
      graphql({
        schema: guarded,
        source,
        rootValue: { open: item, guarded: item, forgotten: 'x', forgottenToo: 'y' },
        contextValue: { signedIn },
      });

    const anonymous = await run('{ open { id secret } guarded { id } forgotten }', false);
    expect(anonymous.data).toEqual({ open: { id: 'i', secret: null }, guarded: null, forgotten: null });
    expect(anonymous.errors?.map((error) => error.path?.join('.')).sort()).toEqual(['forgotten', 'guarded', 'open.secret']);

    const member = await run('{ open { id secret } guarded { id } forgotten }', true);
    expect(member.data).toEqual({ open: { id: 'i', secret: 's' }, guarded: { id: 'i' }, forgotten: null });
    expect(member.errors?.map((error) => error.path?.join('.'))).toEqual(['forgotten']);
    const mutation = await run('mutation { forgottenToo }', true);
    expect(mutation.data).toEqual({ forgottenToo: null });
    expect(mutation.errors?.map((error) => (error.originalError as { code?: string } | undefined)?.code)).toEqual(['FORBIDDEN']);
  });

  it('refuses a machine identity on every root field whose rule does not admit machines, before the rule runs', async () => {
    let ran = 0;
    const counted = rule({ cache: 'no_cache' })(() => {
      ran += 1;
      return true;
    });
    const machineAware = admitsMachines(
      rule({ cache: 'no_cache' })((_parent, _args, ctx: { viewer: { kind: string } }) => ctx.viewer.kind === 'machine'),
    );
    const guarded = applyMiddleware(
      schema,
      buildPermissions(schema, [{ Query: { open: allow, guarded: counted, forgotten: machineAware } }]),
    );
    const run = (kind: 'user' | 'machine') =>
      graphql({
        schema: guarded,
        source: '{ open { id } guarded { id } forgotten }',
        rootValue: { open: { id: 'o' }, guarded: { id: 'g' }, forgotten: 'f' },
        contextValue: { viewer: { kind } },
      });
    const machine = await run('machine');
    expect(machine.data).toEqual({ open: { id: 'o' }, guarded: null, forgotten: 'f' });
    expect(machine.errors?.map((error) => [error.path?.join('.'), (error.originalError as { code?: string } | undefined)?.code])).toEqual([
      ['guarded', 'FORBIDDEN'],
    ]);
    expect(ran).toBe(0);
    const user = await run('user');
    expect(user.data).toEqual({ open: { id: 'o' }, guarded: { id: 'g' }, forgotten: null });
    expect(ran).toBe(1);
  });
});
