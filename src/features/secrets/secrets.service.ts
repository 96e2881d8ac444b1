import { timingSafeEqual } from 'node:crypto';
import { userIdOf as userIdOfViewer, type Actor, type Viewer } from '../../auth/index.js';
import { decryptValue, sealedOf, storedOf } from '../../crypto/index.js';
import type { Database } from '../../db/database.js';
import type { EventBus } from '../../events/event-bus.js';
import { planPage, toConnection, type PageArgs } from '../../db/pagination.js';
import { badInput, conflict, forbidden, isCofferError, notFound, type FieldProblem } from '../../errors.js';
import type { Prisma, Secret, SecretVersion } from '../../generated/prisma/client.js';
import type { KeyringStore } from '../../keyring/index.js';
import { auditRow, recordAudit } from '../audit/index.js';
import { referenceSyntaxProblem } from './references.js';
import { withSecretChanges, type ChangeNote, type SecretChangeLog } from '../secret-changes/index.js';
import * as secretsRepository from './secrets.repository.js';
import type { ScopeRef } from './secrets.scope.js';
import { secretReveals } from '../../metrics.js';

type Tx = Prisma.TransactionClient;

/** Name rule: the environment-variable one. */
export const SECRET_NAME = /^[A-Z0-9_]{1,255}$/;
const MAX_VALUE_BYTES = 64 * 1024;

/** Which secret, and who acts on it. */
interface Target {
  db: Database;
  actor: Actor;
  ref: ScopeRef;
  name: string;
  /** Where project secrets' change events are published once committed (features/secret-changes). */
  events?: EventBus;
}

/** Changes are stamped with when. */
interface Change extends Target {
  now: Date;
}

/** Changes that write a value also seal it, and drop versions beyond what is kept. */
interface ValueChange extends Change {
  keyring: KeyringStore;
  versionsKept: number;
}

const userIdOf = (actor: Actor) => userIdOfViewer(actor.viewer);

function validateValue(value: string, field: string, ref: ScopeRef): FieldProblem[] {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < 1) return [{ field, message: 'must not be empty' }];
  if (bytes > MAX_VALUE_BYTES) return [{ field, message: `must be at most ${MAX_VALUE_BYTES} bytes of UTF-8` }];
  if (!value.isWellFormed()) return [{ field, message: 'must be valid UTF-8 text' }];
  const references = referenceSyntaxProblem(value, { environments: ref.scope === 'PROJECT' });
  if (references) return [{ field, message: references }];
  return [];
}

function validateExpiry(expiresAt: Date | null | undefined, now: Date): FieldProblem[] {
  return expiresAt && expiresAt <= now ? [{ field: 'input.expiresAt', message: 'must be in the future' }] : [];
}

function ensureValid(problems: FieldProblem[]) {
  if (problems.length > 0) throw badInput(problems);
}

function expectVersion(current: number, expected: number | null | undefined) {
  if (expected != null && expected !== current) throw conflict(`The secret is at version ${current}, not ${expected}.`);
}

/** Deleted, or expired and not reserved: gone for every read (expired ones wait for the sweeper). */
export const isHidden = (secret: Secret, now: Date) =>
  secret.deletedAt !== null || (!secret.isReserved && secret.expiresAt !== null && secret.expiresAt <= now);

/** Which rows an operation acts on: live ones, soft-deleted ones (restore), or both (history). */
type Wanted = 'live' | 'deleted' | 'live or deleted';

function wanted<Row extends Secret>(secret: Row | null, name: string, now: Date, want: Wanted): Row {
  const live = secret !== null && !isHidden(secret, now);
  const deleted = secret?.deletedAt != null;
  const fits = { live, deleted, 'live or deleted': live || deleted }[want];
  if (!secret || !fits) throw notFound(want === 'deleted' ? `Deleted secret ${name}` : `Secret ${name}`);
  return secret;
}

const targetOf = (secret: Secret, ref: Pick<ScopeRef, 'environment'>) => ({
  targetType: 'secret',
  targetId: secret.id,
  targetName: secret.name,
  scope: secret.scope,
  scopeOwnerId: secret.ownerId,
  environment: ref.environment,
});

interface Denial extends Omit<Target, 'name'> {
  name: string | null;
  action: string;
  reason: string;
}

/** A denied attempt on a named secret, for the audit trail (the rules record theirs with it too). */
/**
 * Every denial is audited, whatever was sent as the name. A name that is no valid secret name is
 * not recorded (it may be a value pasted into the wrong field, or 900 KB): only that it was invalid.
 */
export const recordDenial = ({ db, actor, ref, name, action, reason }: Denial) => {
  const valid = name === null || SECRET_NAME.test(name);
  return recordAudit(db.prisma, actor, {
    action,
    outcome: 'DENIED',
    reason: valid ? reason : `${reason}; the name given is not a valid secret name (${name.length} characters, not recorded)`,
    targetType: 'secret',
    targetName: valid ? name : null,
    scope: ref.scope,
    scopeOwnerId: ref.ownerId,
    environment: ref.environment,
  });
};

/**
 * A FORBIDDEN that the row's state causes (a reserved secret) is audited as DENIED. Written after
 * the operation's transaction rolled back, so the record stays.
 */
async function auditingRefusal<T>(target: Target, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isCofferError(error) && error.code === 'FORBIDDEN') await recordDenial({ ...target, action, reason: error.message });
    throw error;
  }
}

type SecretChanges = Prisma.SecretUncheckedUpdateInput;

/** How a change is audited: its action, and why in words where the action alone does not say. */
interface Audited {
  action: string;
  reason?: string;
}

// --- Change events (features/secret-changes): which kind of change each audited action is.
const CHANGE_KINDS: Record<string, ChangeNote['kind']> = {
  'secret.create': 'CREATED',
  'secret.replace': 'VERSION_CREATED',
  'secret.delete': 'DELETED',
  'secret.restore': 'RESTORED',
  'secret.rollback': 'ROLLED_BACK',
};

const changeKind = (action: string, before: Secret, after: Secret): ChangeNote['kind'] =>
  CHANGE_KINDS[action] ?? (after.currentVersion !== before.currentVersion ? 'VERSION_CREATED' : 'METADATA_UPDATED');

/** Stamps a change to a locked secret with who and when, audits it and records its change event, in the change's transaction. */
async function save(tx: Tx, changes: SecretChangeLog, { actor, now, ref }: Change, secret: Secret, data: SecretChanges, audited: Audited) {
  const { action, reason } = audited;
  const updated = await secretsRepository.updateSecret(tx, secret.id, { ...data, updatedAt: now, updatedById: userIdOf(actor) });
  await recordAudit(tx, actor, { action, outcome: 'SUCCESS', reason: reason ?? null, ...targetOf(updated, ref) });
  const kind = changeKind(action, secret, updated);
  await changes.record(tx, { kind, secret: updated, environment: ref.environment, version: updated.currentVersion, actor, at: now });
  return updated;
}

/** Locks the secret, lets `decide` check it and say what changes, and saves that: one transaction. */
function changeSecret(change: Change, audited: Audited & { want: Wanted }, decide: (tx: Tx, secret: Secret) => Promise<SecretChanges>) {
  const { ref, name, now } = change;
  return withSecretChanges(change, async (tx, changes) => {
    const secret = wanted(await secretsRepository.lockSecret(tx, ref, name), name, now, audited.want);
    return save(tx, changes, change, secret, await decide(tx, secret), audited);
  });
}

/** Appends a new version holding `value`, and drops versions beyond what is kept. */
async function writeVersion(tx: Tx, { keyring, versionsKept, actor }: ValueChange, secret: Secret, value: string) {
  const version = secret.currentVersion + 1;
  const sealed = await keyring.seal(tx, value, secretsRepository.versionAad(secret, version));
  await secretsRepository.insertVersion(tx, { secretId: secret.id, version, ...storedOf(sealed), createdById: userIdOf(actor) });
  await secretsRepository.deleteVersionsUpTo(tx, secret.id, version - versionsKept);
  return version;
}

/** Pass `tx` inside a transaction: a term the process does not hold yet is then read in it. */
export async function decrypt(keyring: KeyringStore, secret: Secret, row: SecretVersion, tx?: Tx) {
  const ring = await keyring.holding(row.keyId, tx);
  return decryptValue(ring, sealedOf(row), secretsRepository.versionAad(secret, row.version)).toString('utf8');
}

interface OptionalFields {
  description?: string | null;
  isActive?: boolean | null;
  isReserved?: boolean | null;
  expiresAt?: Date | null;
}

/** Absent fields stay as they are; `description` and `expiresAt` may be cleared with null. */
const optionalChanges = (input: OptionalFields) => ({
  ...(input.description !== undefined ? { description: input.description } : {}),
  ...(input.isActive != null ? { isActive: input.isActive } : {}),
  ...(input.isReserved != null ? { isReserved: input.isReserved } : {}),
  ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
});

/** A name revived after deletion or expiry starts afresh, as a create would. */
const afresh = (actor: Actor, now: Date) => ({
  createdAt: now,
  createdById: userIdOf(actor),
  isActive: true,
  isReserved: false,
  expiresAt: null,
  description: null,
  lastUsedAt: null,
});

interface UpsertInput extends OptionalFields {
  value: string;
  ifExists?: 'REPLACE' | 'FAIL' | null;
  expectedVersion?: number | null;
}

/**
 * Create-or-replace. The row is locked for the whole write, so concurrent writers of one name
 * line up: every write gets its own version, none is lost, and `ifExists: FAIL` lets one win.
 */
export function upsertSecret({ input, ...change }: ValueChange & { input: UpsertInput }) {
  const { keyring, actor, now, ref, name } = change;
  ensureValid([...validateValue(input.value, 'input.value', ref), ...validateExpiry(input.expiresAt, now)]);
  // A rotation elsewhere may retire the term this write started under: it is then written again.
  return keyring.retrying(() =>
    withSecretChanges(change, async (tx, changes) => {
      const { secret, created } = await secretsRepository.lockOrCreate(tx, ref, name, userIdOf(actor), now);
      const existed = !created && !isHidden(secret, now);
      if (existed && input.ifExists === 'FAIL') throw conflict(`A secret named ${name} already exists in this scope.`);
      expectVersion(existed ? secret.currentVersion : 0, input.expectedVersion);
      const currentVersion = await writeVersion(tx, change, secret, input.value);
      const revived = !existed && !created;
      const data = { currentVersion, deletedAt: null, ...(revived ? afresh(actor, now) : {}), ...optionalChanges(input) };
      return save(tx, changes, change, secret, data, { action: existed ? 'secret.replace' : 'secret.create' });
    }),
  );
}

interface UpdateInput extends OptionalFields {
  value?: string | null;
  expectedVersion?: number | null;
}

/** Changes what is given; a new value makes a new version. `expiresAt: null` clears the expiry. */
export function updateSecret({ input, ...change }: ValueChange & { input: UpdateInput }) {
  const newValue = input.value;
  ensureValid([
    ...(newValue != null ? validateValue(newValue, 'input.value', change.ref) : []),
    ...validateExpiry(input.expiresAt, change.now),
  ]);
  return change.keyring.retrying(() =>
    changeSecret(change, { action: 'secret.update', want: 'live' }, async (tx, secret) => {
      expectVersion(secret.currentVersion, input.expectedVersion);
      const currentVersion = newValue != null ? await writeVersion(tx, change, secret, newValue) : secret.currentVersion;
      return { currentVersion, ...optionalChanges(input) };
    }),
  );
}

/** Soft delete: restoreSecret brings it back. Reserved secrets are refused (and the refusal audited). */
export function deleteSecret(change: Change) {
  const action = 'secret.delete';
  return auditingRefusal(change, action, () =>
    changeSecret(change, { action, want: 'live' }, async (_tx, secret) => {
      if (secret.isReserved) throw forbidden(`${change.name} is reserved and cannot be deleted. An admin can clear isReserved first.`);
      return { deletedAt: change.now };
    }),
  );
}

export function restoreSecret(change: Change) {
  return changeSecret(change, { action: 'secret.restore', want: 'deleted' }, async () => ({ deletedAt: null }));
}

interface Rollback extends ValueChange {
  version: number;
  expectedVersion?: number | null;
}

/** Makes a kept version current again, as a new version (history only grows). */
export function rollbackSecret({ version, expectedVersion, ...change }: Rollback) {
  const audited = { action: 'secret.rollback', reason: `to version ${version}`, want: 'live' } as const;
  return change.keyring.retrying(() =>
    changeSecret(change, audited, async (tx, secret) => {
      expectVersion(secret.currentVersion, expectedVersion);
      const old = await secretsRepository.findVersion(tx, secret.id, version);
      if (!old) throw notFound(`Version ${version} of ${change.name}`);
      const currentVersion = await writeVersion(tx, change, secret, await decrypt(change.keyring, secret, old, tx));
      return { currentVersion };
    }),
  );
}

/** Permanent: the row and every version are gone. Reserved secrets must be released first. */
export function destroySecret(target: Target & { now?: Date }) {
  const { actor, ref, name } = target;
  return auditingRefusal(target, 'secret.destroy', () =>
    withSecretChanges(target, async (tx, changes) => {
      const secret = await secretsRepository.lockSecret(tx, ref, name);
      if (!secret) throw notFound(`Secret ${name}`);
      if (secret.isReserved) throw forbidden(`${name} is reserved: clear isReserved before destroying it.`);
      await secretsRepository.deleteSecret(tx, secret.id);
      await recordAudit(tx, actor, { action: 'secret.destroy', outcome: 'SUCCESS', ...targetOf(secret, ref) });
      const at = target.now ?? new Date();
      await changes.record(tx, { kind: 'DESTROYED', secret, environment: ref.environment, version: null, actor, at });
      return secret;
    }),
  );
}

type Lookup = Pick<Change, 'db' | 'now' | 'ref' | 'name'>;

async function findWanted({ db, now, ref, name }: Lookup, want: Wanted) {
  return wanted(await secretsRepository.findSecret(db, ref, name), name, now, want);
}

/** Metadata of one live secret, or NOT_FOUND. */
export const findSecret = (lookup: Lookup) => findWanted(lookup, 'live');

/**
 * The secret `secret(name:)` answers to `viewer`: an inactive one is not served to a machine
 * identity (NOT_FOUND, as if it did not exist), while its owners and admins still read it.
 */
export async function findReadableSecret(lookup: Lookup, viewer: Viewer | null) {
  const secret = await findSecret(lookup);
  if (viewer?.kind === 'machine' && !secret.isActive) throw notFound(`Secret ${lookup.name}`);
  return secret;
}

/** The kept versions, newest first; also after a soft delete, so history can be read. */
export async function listVersions(lookup: Lookup) {
  const secret = await findWanted(lookup, 'live or deleted');
  return secretsRepository.listVersions(lookup.db.prisma, secret.id);
}

interface Reveal {
  db: Database;
  keyring: KeyringStore;
  actor: Actor;
  now: Date;
  secret: secretsRepository.SecretRow;
  version: number;
}

/** The columns of a reveal's audit records; the statement that reveals writes each outcome and reason itself. */
function revealAuditOf(actor: Actor, target: Omit<Parameters<typeof auditRow>[1], 'action' | 'outcome'>) {
  const { reason: _reason, outcome: _outcome, ...audit } = auditRow(actor, { ...target, action: 'secret.reveal', outcome: 'SUCCESS' });
  return audit;
}

/**
 * Decrypts one version. The audit record and last-used time are written first, in one
 * statement, and decryption starts only once that is committed: a reveal that cannot be audited
 * does not happen.
 */
export async function revealValue({ db, keyring, actor, now, secret, version }: Reveal) {
  const audit = revealAuditOf(actor, targetOf(secret, secret));
  const row = await secretsRepository.revealVersion(db, {
    secretId: secret.id,
    version,
    now,
    audit: { ...audit, reasonFound: `version ${version}`, reasonMissing: `version ${version} is not kept` },
  });
  if (!row) throw notFound(`Version ${version} of ${secret.name}`);
  const value = await decrypt(keyring, secret, row);
  secretReveals.inc({ kind: 'single' });
  return value;
}

interface Listing extends Omit<Lookup, 'name'> {
  filter: secretsRepository.SecretFilter;
  page: PageArgs;
}

/** Metadata only, newest first, keyset-paginated (no duplicates or gaps while secrets are added). */
export async function listSecrets({ db, now, ref, filter, page }: Listing) {
  const plan = planPage(page);
  return toConnection(await secretsRepository.listSecrets(db, ref, filter, now, plan), plan, {
    count: () => secretsRepository.countSecrets(db.prisma, ref, filter, now),
  });
}

/** The name of a PROJECT secret's environment. */
export const environmentName = (db: Database, environmentId: string) => secretsRepository.environmentName(db.prisma, environmentId);

export type { SecretRow } from './secrets.repository.js';

// --- Whole environments: bulk reads, copies and comparisons ---

/** What bulk reads and copies serve: active, not deleted, not expired (reserved or not: an expired credential is never injected). */
const isServed = (secret: Secret, now: Date) =>
  secret.deletedAt === null && secret.isActive && (secret.expiresAt === null || secret.expiresAt > now);

/** Secrets one bulk read (`secretValues`) reveals, and one copy writes, at most. */
export const MAX_BULK_SECRETS = 500;

interface BulkRead {
  db: Database;
  keyring: KeyringStore;
  actor: Actor;
  now: Date;
  ref: ScopeRef;
  /** Only these names (unknown ones are left out); null: every secret served. */
  names: readonly string[] | null;
}

/**
 * The stored texts of every secret a bulk read serves (ACTIVE, not deleted, not expired), by name.
 * One statement reads them and audits each reveal; decryption starts once that is committed.
 * More than MAX_BULK_SECRETS: BAD_USER_INPUT, and nothing is revealed or recorded.
 */
export async function revealServedValues({ db, keyring, actor, now, ref, names }: BulkRead) {
  const wanted = names === null ? null : [...new Set(names)];
  const audit = revealAuditOf(actor, { targetType: 'secret', scope: ref.scope, scopeOwnerId: ref.ownerId, environment: ref.environment });
  const served = await secretsRepository.revealServedSecrets(db, { ref, names: wanted, now, cap: MAX_BULK_SECRETS, audit });
  if (served.length > MAX_BULK_SECRETS) {
    throw badInput(
      [{ field: 'names', message: `the scope serves more than ${MAX_BULK_SECRETS} secrets: name at most ${MAX_BULK_SECRETS} per request` }],
      `secretValues returns at most ${MAX_BULK_SECRETS} secrets per request.`,
    );
  }
  const texts = await Promise.all(served.map(async (secret) => ({ secret, text: await decrypt(keyring, secret, secret.version) })));
  secretReveals.inc({ kind: 'bulk' }, texts.length);
  return texts;
}

/** Two environments of one project, as the field's rule resolved them. */
interface EnvironmentPair {
  db: Database;
  keyring: KeyringStore;
  actor: Actor;
  now: Date;
  a: ScopeRef;
  b: ScopeRef;
}

function differentEnvironments(a: ScopeRef, b: ScopeRef, field: string) {
  if (a.environmentId === b.environmentId) throw badInput([{ field, message: `must name another environment than ${a.environment}` }]);
}

/** The current versions of `rows`, decrypted (in `tx`), keyed by secret id. */
async function currentTexts(tx: Tx, keyring: KeyringStore, rows: readonly Secret[]) {
  const versions = await secretsRepository.currentVersions(tx, rows);
  const byId = new Map(rows.map((row) => [row.id, row]));
  const texts = new Map<string, string>();
  for (const version of versions) texts.set(version.secretId, await decrypt(keyring, byId.get(version.secretId)!, version, tx));
  return texts;
}

export type ComparisonStatus = 'ONLY_IN_A' | 'ONLY_IN_B' | 'SAME' | 'DIFFERENT';

/**
 * Per name: in a only, in b only, the same stored text, or different text. Every live secret
 * counts (inactive ones too: owners see those). Stored texts are compared, references as written:
 * `${DB_HOST}` is the same text in both even though each environment's DB_HOST may differ (that
 * name is then compared on its own). Values are decrypted and compared in memory only; the answer
 * and the audit record hold names and outcomes, never a value or a digest of one.
 */
export async function compareEnvironments({ db, keyring, actor, now, a, b }: EnvironmentPair) {
  differentEnvironments(a, b, 'b');
  return inTransaction(db, async (tx) => {
    const [inA, inB] = [await secretsRepository.liveSecretsIn(tx, a, now), await secretsRepository.liveSecretsIn(tx, b, now)];
    const texts = await currentTexts(tx, keyring, [...inA, ...inB]);
    const bByName = new Map(inB.map((secret) => [secret.name, secret]));
    const entries: Array<{ name: string; status: ComparisonStatus; versionInA: number | null; versionInB: number | null }> = [];
    for (const secret of inA) {
      const other = bByName.get(secret.name);
      bByName.delete(secret.name);
      if (!other) entries.push({ name: secret.name, status: 'ONLY_IN_A', versionInA: secret.currentVersion, versionInB: null });
      else {
        const same = sameText(texts.get(secret.id), texts.get(other.id));
        const status = same ? 'SAME' : 'DIFFERENT';
        entries.push({ name: secret.name, status, versionInA: secret.currentVersion, versionInB: other.currentVersion });
      }
    }
    for (const other of bByName.values())
      entries.push({ name: other.name, status: 'ONLY_IN_B', versionInA: null, versionInB: other.currentVersion });
    entries.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    const counts = (status: ComparisonStatus) => entries.filter((entry) => entry.status === status).length;
    await recordAudit(tx, actor, {
      action: 'secret.compareEnvironments',
      outcome: 'SUCCESS',
      targetType: 'environment',
      targetName: b.environment,
      scope: 'PROJECT',
      scopeOwnerId: a.ownerId,
      environment: a.environment,
      reason:
        `${a.environment} vs ${b.environment}: ${counts('SAME')} same, ${counts('DIFFERENT')} different, ` +
        `${counts('ONLY_IN_A')} only in ${a.environment}, ${counts('ONLY_IN_B')} only in ${b.environment}`,
    });
    return { a: a.environment!, b: b.environment!, entries };
  });
}

/** Constant-time equality of two texts (their lengths aside). */
function sameText(x: string | undefined, y: string | undefined) {
  if (x === undefined || y === undefined) return false;
  const [left, right] = [Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8')];
  return left.length === right.length && timingSafeEqual(left, right);
}

const inTransaction = <T>(db: Database, work: (tx: Tx) => Promise<T>) => secretsRepository.inTransaction(db.prisma, work);

interface Copy extends Omit<EnvironmentPair, 'a' | 'b'> {
  from: ScopeRef;
  to: ScopeRef;
  /** Only these (each must be served in `from`); null: every secret `from` serves. */
  names: readonly string[] | null;
  overwrite: boolean;
  /** Check-and-set per name: the target's current version (0: must not exist there). */
  expectedVersions: ReadonlyArray<{ name: string; version: number }>;
  events?: EventBus;
  versionsKept: number;
}

/**
 * Copies (promotes) the values `from` serves (ACTIVE, live) into `to`, in one transaction: each
 * becomes a new version there (a new secret where the name is free), audited and announced on the
 * change stream like any write. The stored text is copied, references as written: promoted to
 * production, `${DB_HOST}` names production's DB_HOST. Without `overwrite`, names that exist in
 * `to` are a CONFLICT naming them, and nothing changes; so is a failed check-and-set.
 */
export function copySecrets({ names, overwrite, expectedVersions, ...copy }: Copy) {
  const { from, to, now, actor, keyring } = copy;
  differentEnvironments(from, to, 'to');
  const wanted = names === null ? null : [...new Set(names)];
  return keyring.retrying(() =>
    withSecretChanges(copy, async (tx, changes) => {
      const sources = (await secretsRepository.liveSecretsIn(tx, from, now, wanted)).filter((secret) => isServed(secret, now));
      const found = new Set(sources.map((secret) => secret.name));
      const missing = (wanted ?? []).filter((name) => !found.has(name));
      if (missing.length > 0) {
        throw badInput([
          { field: 'names', message: `not served in ${from.environment} (missing, deleted, expired or inactive): ${missing.join(', ')}` },
        ]);
      }
      const unknownExpectations = expectedVersions.filter(({ name }) => !found.has(name)).map(({ name }) => name);
      if (unknownExpectations.length > 0) {
        throw badInput([{ field: 'expectedVersions', message: `names no secret being copied: ${unknownExpectations.join(', ')}` }]);
      }
      if (sources.length > MAX_BULK_SECRETS) {
        throw badInput([{ field: 'names', message: `at most ${MAX_BULK_SECRETS} secrets per copy: name them` }]);
      }
      sources.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      const texts = await currentTexts(tx, keyring, sources);
      // Locked in name order, so two copies into one environment cannot deadlock.
      const targets = [];
      for (const source of sources) {
        const { secret, created } = await secretsRepository.lockOrCreate(tx, to, source.name, userIdOf(actor), now);
        targets.push({ source, secret, created, existed: !created && !isHidden(secret, now) });
      }
      const taken = targets.filter((target) => target.existed).map((target) => target.secret.name);
      if (taken.length > 0 && !overwrite) {
        throw conflict(`${to.environment} already has ${taken.join(', ')}: pass overwrite: true to replace them.`, { names: taken });
      }
      const expected = new Map(expectedVersions.map(({ name, version }) => [name, version]));
      for (const target of targets) {
        const current = target.existed ? target.secret.currentVersion : 0;
        const version = expected.get(target.secret.name);
        if (version !== undefined && version !== current) {
          throw conflict(`${target.secret.name} is at version ${current} in ${to.environment}, not ${version}.`, {
            names: [target.secret.name],
          });
        }
      }
      const copied = [];
      for (const { source, secret, existed, created } of targets) {
        const change = { ...copy, ref: to, name: secret.name };
        const currentVersion = await writeVersion(tx, change, secret, texts.get(source.id)!);
        const revived = !existed && !created;
        const data = { currentVersion, deletedAt: null, ...(revived ? afresh(actor, now) : {}) };
        const reason = `copied from ${from.environment} (version ${source.currentVersion})`;
        await save(tx, changes, change, secret, data, { action: existed ? 'secret.replace' : 'secret.create', reason });
        copied.push({ name: secret.name, version: currentVersion, created: !existed, environment: to.environment! });
      }
      return copied;
    }),
  );
}

/** One secret of a bulk write (`upsertSecrets`). */
export interface BulkUpsertItem {
  name: string;
  value: string;
  /** Check-and-set: the current version (0: must not exist); null or absent: write whatever it is. */
  expectedVersion?: number | null;
}

/** Long enough for MAX_BULK_SECRETS writes on the embedded database (each seals a value and writes ~8 rows). */
const BULK_WRITE_TIMEOUT_MS = 120_000;

/**
 * Create-or-replace of many secrets of one scope, all or nothing: every name and value is checked
 * before anything is written (BAD_USER_INPUT naming every item at fault), then one transaction
 * locks the secrets in name order, checks every expected version (CONFLICT naming each secret whose
 * version moved) and writes a new version of each, audited and recorded on the change stream as
 * upsertSecret does; change events are published once committed. Answers the secrets written, by name.
 */
export function upsertSecrets({ items, ...change }: Omit<ValueChange, 'name'> & { items: readonly BulkUpsertItem[] }) {
  const { keyring, actor, now, ref } = change;
  const problems: FieldProblem[] = [];
  if (items.length > MAX_BULK_SECRETS) problems.push({ field: 'secrets', message: `at most ${MAX_BULK_SECRETS} secrets per request` });
  const seen = new Map<string, number>();
  const duplicates = new Set<string>();
  items.forEach((item, index) => {
    if (!SECRET_NAME.test(item.name))
      problems.push({ field: `secrets.${index}.name`, message: 'must be 1-255 characters of A-Z, 0-9 and _' });
    problems.push(...validateValue(item.value, `secrets.${index}.value`, ref));
    if (seen.has(item.name)) duplicates.add(item.name);
    else seen.set(item.name, index);
  });
  if (duplicates.size > 0) problems.push({ field: 'secrets', message: `names given more than once: ${[...duplicates].join(', ')}` });
  if (problems.length > 0) throw badInput(problems, 'Invalid secrets: nothing was written.');
  const sorted = [...items].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  const reason = `bulk write of ${items.length}`;
  return keyring.retrying(() =>
    withSecretChanges(
      change,
      async (tx, changes) => {
        // Locked in name order, so two bulk writes into one scope cannot deadlock.
        const targets = [];
        for (const item of sorted) {
          const { secret, created } = await secretsRepository.lockOrCreate(tx, ref, item.name, userIdOf(actor), now);
          targets.push({ item, secret, created, existed: !created && !isHidden(secret, now) });
        }
        const moved = targets.filter(
          ({ item, secret, existed }) => item.expectedVersion != null && item.expectedVersion !== (existed ? secret.currentVersion : 0),
        );
        if (moved.length > 0) {
          const names = moved.map(({ secret }) => secret.name);
          const at = moved.map(({ secret, existed }) => `${secret.name} at ${existed ? secret.currentVersion : 0}`).join(', ');
          throw conflict(`Secrets changed since the versions expected (${at}): nothing was written.`, { names });
        }
        const written = [];
        for (const { item, secret, existed, created } of targets) {
          const one = { ...change, name: secret.name };
          const currentVersion = await writeVersion(tx, one, secret, item.value);
          const revived = !existed && !created;
          const data = { currentVersion, deletedAt: null, ...(revived ? afresh(actor, now) : {}) };
          const saved = await save(tx, changes, one, secret, data, { action: existed ? 'secret.replace' : 'secret.create', reason });
          written.push({ ...saved, environment: ref.environment });
        }
        return written;
      },
      { timeoutMs: BULK_WRITE_TIMEOUT_MS },
    ),
  );
}
