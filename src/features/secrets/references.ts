import { CofferError } from '../../errors.js';

/**
 * References between secrets: `${NAME}` (the same environment, or the same scope where there are
 * no environments), `${environment.NAME}` (another environment of the same project), and `$${`
 * for a literal `${`. Pure: loading and permission checks come in through a `Loader`.
 */

/** How deep references may nest: a value may reach at most this many hops away. */
export const MAX_REFERENCE_DEPTH = 8;
/** An expanded value stays within this many bytes of UTF-8 (references must not multiply a value without bound). */
export const MAX_EXPANDED_BYTES = 1024 * 1024;
/** Secrets loaded through references for one request, beyond the ones asked for. */
export const MAX_REFERENCED_SECRETS = 1000;

/** Where a secret is, as references see it: its environment (null where its scope has none) and name. */
export interface SecretAddress {
  environment: string | null;
  name: string;
}

/** A reference as written: `environment` is null for `${NAME}`. */
export type Reference = SecretAddress;

/** A parsed value: literal text and references, in order. */
export type Part = string | Reference;

const ENVIRONMENT = '[a-z][a-z0-9-]{0,31}';
const NAME = '[A-Z0-9_]{1,255}';
/** `${` followed by a whole reference, matched at the position just after `${`. */
const REFERENCE_BODY = new RegExp(`(?:(${ENVIRONMENT})\\.)?(${NAME})\\}`, 'y');

export const addressKey = (address: SecretAddress) => `${address.environment ?? ''}/${address.name}`;

/** How chains name secrets: `production.DB_URL`, or the bare name where there are no environments. */
export const labelOf = (address: SecretAddress) => (address.environment ? `${address.environment}.${address.name}` : address.name);

/** Whether `text` needs parsing at all: without `${` a value is exactly its stored text. */
export const mayHoldReferences = (text: string) => text.includes('${');

/**
 * Splits a value into text and references. A `${` that does not form a reference is kept as
 * written: values stored before references existed must read as they did (writes refuse it, see
 * `referenceSyntaxProblem`).
 */
export function parseValue(text: string): Part[] {
  return scan(text).parts;
}

function scan(text: string): { parts: Part[]; unclosed: boolean } {
  const parts: Part[] = [];
  let literal = '';
  let unclosed = false;
  let at = 0;
  while (at < text.length) {
    const next = text.indexOf('${', at);
    if (next === -1) break;
    if (next > at && text[next - 1] === '$') {
      // `$${`: a literal `${`. The first `$` was already copied as text.
      literal += text.slice(at, next - 1) + '${';
      at = next + 2;
      continue;
    }
    literal += text.slice(at, next);
    REFERENCE_BODY.lastIndex = next + 2;
    const match = REFERENCE_BODY.exec(text);
    if (!match) {
      unclosed = true;
      literal += '${';
      at = next + 2;
      continue;
    }
    if (literal) parts.push(literal);
    literal = '';
    parts.push({ environment: match[1] ?? null, name: match[2]! });
    at = REFERENCE_BODY.lastIndex;
  }
  literal += text.slice(at);
  if (literal) parts.push(literal);
  return { parts, unclosed };
}

/** The references a value makes, in order (repeats included). */
export const referencesIn = (text: string): Reference[] =>
  mayHoldReferences(text) ? parseValue(text).filter((part): part is Reference => typeof part !== 'string') : [];

/**
 * Why a value about to be written cannot be stored, or null. A `${` must start a whole reference
 * (or be written `$${`), so a mistyped reference is caught when it is written rather than served
 * as text; `${environment.NAME}` needs a scope with environments. Never quotes the value.
 */
export function referenceSyntaxProblem(text: string, { environments }: { environments: boolean }): string | null {
  if (!mayHoldReferences(text)) return null;
  const { parts, unclosed } = scan(text);
  if (unclosed) {
    return '`${` must start a reference such as `${NAME}` or `${environment.NAME}`; write `$${` for a literal `${`';
  }
  if (!environments && parts.some((part) => typeof part !== 'string' && part.environment !== null)) {
    return 'only project secrets have environments: use `${NAME}` for a secret of the same scope';
  }
  return null;
}

/** Why a reference could not be followed; `extensions.reason` of an UNRESOLVED_REFERENCE error. */
export type UnresolvedReason =
  'MISSING' | 'INACTIVE' | 'UNKNOWN_ENVIRONMENT' | 'NO_ENVIRONMENTS' | 'CYCLE' | 'TOO_DEEP' | 'TOO_LARGE' | 'TOO_MANY';

/** What the loader found at an address: the stored (unexpanded) text, or why it is not served. */
export type LoadOutcome = { value: string } | { refused: 'MISSING' | 'INACTIVE' | 'UNKNOWN_ENVIRONMENT' | 'FORBIDDEN' };

export interface LoadRequest {
  address: SecretAddress;
  /** The secret whose value names it (the first one found, for audit records). */
  referrer: SecretAddress;
}

/**
 * Loads one level of referenced secrets in one go, checking the reader's permission on each.
 * Answers keyed by `addressKey`; an address left out counts as MISSING.
 */
export type Loader = (requests: LoadRequest[]) => Promise<Map<string, LoadOutcome>>;

export interface Root {
  address: SecretAddress;
  /** The stored text. */
  text: string;
}

const DESCRIPTION: Record<UnresolvedReason, string> = {
  MISSING: 'which does not exist',
  INACTIVE: 'which is inactive',
  UNKNOWN_ENVIRONMENT: 'in an environment this project does not have',
  NO_ENVIRONMENTS: 'with an environment, but only project secrets have environments',
  CYCLE: 'closing a cycle',
  TOO_DEEP: `more than ${MAX_REFERENCE_DEPTH} references deep`,
  TOO_LARGE: `making the value longer than ${MAX_EXPANDED_BYTES} bytes`,
  TOO_MANY: `one of more than ${MAX_REFERENCED_SECRETS} secrets the value reaches`,
};

/** "Cannot expand A: B references C, which does not exist (A → B → C)." Names only, never a value. */
const describe = (chain: string[], what: string) =>
  `Cannot expand ${chain[0]}: ${chain.at(-2) ?? chain[0]} references ${chain.at(-1)}, ${what} (${chain.join(' → ')}).`;

/**
 * The coded error of a reference that cannot be followed: `extensions.reason` and
 * `extensions.chain` (names from the secret asked for to the one at fault).
 */
export const unresolvedReference = (reason: UnresolvedReason, chain: string[]) =>
  new CofferError('UNRESOLVED_REFERENCE', describe(chain, DESCRIPTION[reason]), { reason, chain });

/** The reader may read the referencing secret but not the referenced one: a reference never widens access. */
const referenceNotAllowed = (chain: string[]) =>
  new CofferError('FORBIDDEN', describe(chain, 'which you are not allowed to read'), { reason: 'REFERENCE_NOT_ALLOWED', chain });

interface Node {
  address: SecretAddress;
  key: string;
  parts: Part[];
  /** How it was first reached (null for a root): for the chain of a refusal. */
  parent: Node | null;
}

const chainOf = (node: Node | null): string[] => (node ? [...chainOf(node.parent), labelOf(node.address)] : []);

const targetOf = (from: SecretAddress, reference: Reference): SecretAddress => ({
  environment: reference.environment ?? from.environment,
  name: reference.name,
});

interface Expanded {
  text: string;
  bytes: number;
  /** The longest chain of references below it, by label. */
  deepest: string[];
}

/**
 * The values of `roots`, expanded, in the same order. Referenced secrets are loaded level by level
 * (one `load` per level, only what the roots need, never a root again); then each value is
 * expanded once, whatever reaches it. Throws UNRESOLVED_REFERENCE or FORBIDDEN naming the chain.
 */
export async function expandValues(roots: readonly Root[], load: Loader): Promise<string[]> {
  const nodes = new Map<string, Node>();
  const rootNodes = roots.map(({ address, text }) => {
    const node: Node = { address, key: addressKey(address), parts: parseValue(text), parent: null };
    if (!nodes.has(node.key)) nodes.set(node.key, node);
    return node;
  });
  const literal = (node: Node) => (node.parts.every((part) => typeof part === 'string') ? node.parts.join('') : null);
  const literals = rootNodes.map(literal);
  if (literals.every((text) => text !== null)) return literals;

  let frontier = rootNodes;
  let loaded = 0;
  for (let level = 1; level <= MAX_REFERENCE_DEPTH && frontier.length > 0; level++) {
    const wanted = new Map<string, { request: LoadRequest; parent: Node }>();
    for (const node of frontier) {
      for (const part of node.parts) {
        if (typeof part === 'string') continue;
        if (node.address.environment === null && part.environment !== null) {
          throw unresolvedReference('NO_ENVIRONMENTS', [...chainOf(node), labelOf(part)]);
        }
        const address = targetOf(node.address, part);
        const key = addressKey(address);
        if (!nodes.has(key) && !wanted.has(key)) wanted.set(key, { request: { address, referrer: node.address }, parent: node });
      }
    }
    if (wanted.size === 0) break;
    if (loaded + wanted.size > MAX_REFERENCED_SECRETS) {
      const { request, parent } = wanted.values().next().value!;
      throw unresolvedReference('TOO_MANY', [...chainOf(parent), labelOf(request.address)]);
    }
    loaded += wanted.size;
    const outcomes = await load([...wanted.values()].map(({ request }) => request));
    frontier = [];
    for (const [key, { request, parent }] of wanted) {
      const outcome = outcomes.get(key) ?? { refused: 'MISSING' };
      const node: Node = { address: request.address, key, parts: [], parent };
      if ('refused' in outcome) {
        // Nothing more is loaded once a request is bound to fail.
        if (outcome.refused === 'FORBIDDEN') throw referenceNotAllowed(chainOf(node));
        throw unresolvedReference(outcome.refused, chainOf(node));
      }
      node.parts = parseValue(outcome.value);
      nodes.set(key, node);
      frontier.push(node);
    }
  }

  const done = new Map<string, Expanded>();
  const onPath: Node[] = [];
  const expand = (node: Node): Expanded => {
    const known = done.get(node.key);
    if (known) return known;
    onPath.push(node);
    const labels = () => onPath.map((step) => labelOf(step.address));
    let text = '';
    let bytes = 0;
    let deepest: string[] = [];
    for (const part of node.parts) {
      let piece: Expanded;
      if (typeof part === 'string') {
        piece = { text: part, bytes: Buffer.byteLength(part, 'utf8'), deepest: [] };
      } else {
        const address = targetOf(node.address, part);
        const key = addressKey(address);
        if (onPath.some((step) => step.key === key)) throw unresolvedReference('CYCLE', [...labels(), labelOf(address)]);
        if (onPath.length >= MAX_REFERENCE_DEPTH + 1) throw unresolvedReference('TOO_DEEP', [...labels(), labelOf(address)]);
        const target = nodes.get(key);
        // Every node within reach was loaded above; only one past the depth bound is not, and that was refused just now.
        if (!target) throw new Error(`reference target ${labelOf(address)} was not loaded`);
        const below = expand(target);
        piece = { ...below, deepest: [labelOf(address), ...below.deepest] };
        if (onPath.length + piece.deepest.length > MAX_REFERENCE_DEPTH + 1) {
          throw unresolvedReference('TOO_DEEP', [...labels(), ...piece.deepest.slice(0, MAX_REFERENCE_DEPTH + 2 - onPath.length)]);
        }
      }
      bytes += piece.bytes;
      if (bytes > MAX_EXPANDED_BYTES) throw unresolvedReference('TOO_LARGE', [...labels(), ...piece.deepest.slice(0, 1)]);
      text += piece.text;
      if (piece.deepest.length > deepest.length) deepest = piece.deepest;
    }
    onPath.pop();
    const expanded = { text, bytes, deepest };
    done.set(node.key, expanded);
    return expanded;
  };
  return rootNodes.map((node) => expand(node).text);
}
