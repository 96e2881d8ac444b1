import { describe, expect, it } from 'vitest';
import { isCofferError } from '../../src/errors.js';
import {
  addressKey,
  expandValues,
  MAX_EXPANDED_BYTES,
  MAX_REFERENCE_DEPTH,
  parseValue,
  referenceSyntaxProblem,
  referencesIn,
  type LoadOutcome,
  type LoadRequest,
  type SecretAddress,
} from '../../src/features/secrets/references.js';

/**
 * The grammar and the expansion on their own, with an in-memory vault standing in for the
 * database. The GraphQL behaviour (permissions, audit, both databases) is in references-api.test.ts.
 */

const at = (environment: string | null, name: string): SecretAddress => ({ environment, name });

/** A vault of `environment.NAME` (or bare `NAME`) → stored text, and a log of every load. */
function vault(entries: Record<string, string>, refused: Record<string, LoadOutcome> = {}) {
  const loads: LoadRequest[][] = [];
  const keyOf = (label: string) => {
    const dot = label.indexOf('.');
    return addressKey(dot === -1 ? at(null, label) : at(label.slice(0, dot), label.slice(dot + 1)));
  };
  const stored = new Map(Object.entries(entries).map(([label, text]) => [keyOf(label), { value: text } as LoadOutcome]));
  for (const [label, outcome] of Object.entries(refused)) stored.set(keyOf(label), outcome);
  const load = async (requests: LoadRequest[]) => {
    loads.push(requests);
    const found = new Map<string, LoadOutcome>();
    for (const { address } of requests) {
      const outcome = stored.get(addressKey(address));
      if (outcome) found.set(addressKey(address), outcome);
    }
    return found;
  };
  return { load, loads };
}

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  if (!isCofferError(error)) throw new Error(`expected a coded error, got ${String(error)}`);
  return { code: error.code, message: error.message, ...error.details } as { code: string; message: string; chain?: string[] } & Record<
    string,
    unknown
  >;
}

describe('reference grammar', () => {
  it('parses same-environment and cross-environment references between text', () => {
    expect(parseValue('postgres://${DB_USER}:${production.DB_PASSWORD}@db')).toEqual([
      'postgres://',
      { environment: null, name: 'DB_USER' },
      ':',
      { environment: 'production', name: 'DB_PASSWORD' },
      '@db',
    ]);
  });

  it('reads `$${` as a literal `${`, also right before a reference', () => {
    expect(parseValue('a$${B}c')).toEqual(['a${B}c']);
    expect(parseValue('$${${B}')).toEqual(['${', { environment: null, name: 'B' }]);
    expect(parseValue('cost: $$5')).toEqual(['cost: $$5']);
    expect(referencesIn('$${NOT_A_REFERENCE}')).toEqual([]);
  });

  it('keeps a `${` that forms no reference as text when reading (values from before references existed)', () => {
    expect(parseValue('pa${ss')).toEqual(['pa${ss']);
    expect(parseValue('${lower}')).toEqual(['${lower}']);
    expect(parseValue('${Production.A}')).toEqual(['${Production.A}']);
    expect(parseValue('${}')).toEqual(['${}']);
  });

  it('refuses a `${` that forms no reference when writing, without quoting the value', () => {
    const problem = referenceSyntaxProblem('hunter2${oops', { environments: true });
    expect(problem).toMatch(/\$\$\{/);
    expect(problem).not.toContain('hunter2');
    expect(referenceSyntaxProblem('${A} and $${literal', { environments: true })).toBeNull();
    expect(referenceSyntaxProblem('no references', { environments: false })).toBeNull();
  });

  it('refuses `${environment.NAME}` where the scope has no environments', () => {
    expect(referenceSyntaxProblem('${A}', { environments: false })).toBeNull();
    expect(referenceSyntaxProblem('${staging.A}', { environments: false })).toMatch(/only project secrets/);
    expect(referenceSyntaxProblem('${staging.A}', { environments: true })).toBeNull();
  });
});

describe('reference expansion', () => {
  it('leaves values without references alone and loads nothing', async () => {
    const { load, loads } = vault({});
    expect(await expandValues([{ address: at('dev', 'A'), text: 'plain $${x}' }], load)).toEqual(['plain ${x}']);
    expect(loads).toEqual([]);
  });

  it('expands nested references, relative to the environment of the secret that holds each one', async () => {
    const { load } = vault({
      'production.URL': 'postgres://${USER}:${PASSWORD}@${staging.HOST}',
      'production.USER': 'app',
      'production.PASSWORD': 'p$${w}',
      'staging.HOST': '${DOMAIN}',
      'staging.DOMAIN': 'db.staging',
    });
    const values = await expandValues([{ address: at('development', 'X'), text: '[${production.URL}]' }], load);
    expect(values).toEqual(['[postgres://app:p${w}@db.staging]']);
  });

  it('loads one batch per level, each secret once, and never a root again', async () => {
    const { load, loads } = vault({ 'dev.B': '${C}${D}', 'dev.C': '${D}', 'dev.D': 'd', 'dev.E': '${D}' });
    const values = await expandValues(
      [
        { address: at('dev', 'A'), text: '${B}${E}${B}${ROOT}' },
        { address: at('dev', 'ROOT'), text: 'r' },
      ],
      load,
    );
    expect(values).toEqual(['dddddr', 'r']);
    expect(loads.map((level) => level.map(({ address }) => address.name))).toEqual([
      ['B', 'E'],
      ['C', 'D'],
    ]);
    expect(loads[1]![0]!.referrer).toEqual(at('dev', 'B'));
  });

  it('refuses a missing target, naming the chain', async () => {
    const { load } = vault({ 'dev.B': 'x${C}' });
    expect(await failure(expandValues([{ address: at('dev', 'A'), text: '${B}' }], load))).toEqual({
      code: 'UNRESOLVED_REFERENCE',
      reason: 'MISSING',
      chain: ['dev.A', 'dev.B', 'dev.C'],
      message: 'Cannot expand dev.A: dev.B references dev.C, which does not exist (dev.A → dev.B → dev.C).',
    });
  });

  it('passes on why the loader refused a target, and stops loading', async () => {
    const { load, loads } = vault(
      { 'dev.B': '${C}' },
      { 'dev.OFF': { refused: 'INACTIVE' }, 'prod.SECRET': { refused: 'FORBIDDEN' }, 'nope.X': { refused: 'UNKNOWN_ENVIRONMENT' } },
    );
    const root = (text: string) => [{ address: at('dev', 'A'), text }];
    expect(await failure(expandValues(root('${OFF}${B}'), load))).toMatchObject({ reason: 'INACTIVE', chain: ['dev.A', 'dev.OFF'] });
    expect(loads).toHaveLength(1);
    expect(await failure(expandValues(root('${prod.SECRET}'), load))).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'REFERENCE_NOT_ALLOWED',
      chain: ['dev.A', 'prod.SECRET'],
    });
    expect(await failure(expandValues(root('${nope.X}'), load))).toMatchObject({ reason: 'UNKNOWN_ENVIRONMENT' });
  });

  it('refuses a cycle, naming the chain from the secret asked for', async () => {
    const { load } = vault({ 'dev.B': '${C}', 'dev.C': '${prod.D}', 'prod.D': '${dev.B}' });
    expect(await failure(expandValues([{ address: at('dev', 'A'), text: '${B}' }], load))).toMatchObject({
      code: 'UNRESOLVED_REFERENCE',
      reason: 'CYCLE',
      chain: ['dev.A', 'dev.B', 'dev.C', 'prod.D', 'dev.B'],
      message: 'Cannot expand dev.A: prod.D references dev.B, closing a cycle (dev.A → dev.B → dev.C → prod.D → dev.B).',
    });
    expect(await failure(expandValues([{ address: at(null, 'SELF'), text: 'x${SELF}' }], load))).toMatchObject({
      reason: 'CYCLE',
      chain: ['SELF', 'SELF'],
    });
  });

  it(`follows ${MAX_REFERENCE_DEPTH} references deep and refuses one more`, async () => {
    const chainOf = (hops: number) => {
      const entries: Record<string, string> = {};
      for (let i = 1; i < hops; i++) entries[`N${i}`] = `\${N${i + 1}}`;
      entries[`N${hops}`] = 'end';
      return entries;
    };
    const deepEnough = vault(chainOf(MAX_REFERENCE_DEPTH));
    expect(await expandValues([{ address: at(null, 'N0'), text: '${N1}' }], deepEnough.load)).toEqual(['end']);

    const tooDeep = vault(chainOf(MAX_REFERENCE_DEPTH + 1));
    const error = await failure(expandValues([{ address: at(null, 'N0'), text: '${N1}' }], tooDeep.load));
    expect(error).toMatchObject({ code: 'UNRESOLVED_REFERENCE', reason: 'TOO_DEEP' });
    expect(error.chain).toEqual(Array.from({ length: MAX_REFERENCE_DEPTH + 2 }, (_, i) => `N${i}`));
  });

  it('measures depth along every path, also through a secret first reached by a short one', async () => {
    // N1 is reached directly (depth 1) and at the end of a long path: the long path is too deep.
    const entries: Record<string, string> = { N1: '${N2}', N2: 'end' };
    const last = MAX_REFERENCE_DEPTH - 1;
    for (let i = 1; i <= last; i++) entries[`L${i}`] = i === last ? '${N1}' : `\${L${i + 1}}`;
    const { load } = vault(entries);
    const error = await failure(expandValues([{ address: at(null, 'ROOT'), text: '${N1}${L1}' }], load));
    expect(error).toMatchObject({ reason: 'TOO_DEEP' });
    expect(error.chain).toEqual(['ROOT', ...Array.from({ length: last }, (_, i) => `L${i + 1}`), 'N1', 'N2']);
  });

  it('refuses `${environment.NAME}` from a scope without environments', async () => {
    const { load } = vault({ B: '${prod.C}' });
    expect(await failure(expandValues([{ address: at(null, 'A'), text: '${B}' }], load))).toMatchObject({
      reason: 'NO_ENVIRONMENTS',
      chain: ['A', 'B', 'prod.C'],
    });
  });

  it('bounds what references can multiply a value into', async () => {
    const big = 'x'.repeat(60 * 1024);
    const doubling: Record<string, string> = { L0: big };
    for (let i = 1; i <= 6; i++) doubling[`L${i}`] = `\${L${i - 1}}\${L${i - 1}}`;
    const { load } = vault(doubling);
    expect(60 * 1024 * 2 ** 6).toBeGreaterThan(MAX_EXPANDED_BYTES);
    expect(await failure(expandValues([{ address: at(null, 'A'), text: '${L6}' }], load))).toMatchObject({ reason: 'TOO_LARGE' });
  });
});
