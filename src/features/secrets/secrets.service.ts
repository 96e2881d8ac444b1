import { userIdOf as userIdOfViewer, type Actor } from '../../auth/index.js';
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
  ifExists: 'REPLACE' | 'FAIL';
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

/**
 * Decrypts one version. The audit record and last-used time are written first, in one
 * statement, and decryption starts only once that is committed: a reveal that cannot be audited
 * does not happen.
 */
export async function revealValue({ db, keyring, actor, now, secret, version }: Reveal) {
  const {
    reason: _reason,
    outcome: _outcome,
    ...audit
  } = auditRow(actor, {
    action: 'secret.reveal',
    outcome: 'SUCCESS',
    ...targetOf(secret, secret),
  });
  const row = await secretsRepository.revealVersion(db, {
    secretId: secret.id,
    version,
    now,
    audit: { ...audit, reasonFound: `version ${version}`, reasonMissing: `version ${version} is not kept` },
  });
  if (!row) throw notFound(`Version ${version} of ${secret.name}`);
  return decrypt(keyring, secret, row);
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
