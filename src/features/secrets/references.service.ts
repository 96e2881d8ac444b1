import type { Actor } from '../../auth/index.js';
import type { Database } from '../../db/database.js';
import { forbidden, isCofferError } from '../../errors.js';
import type { Secret } from '../../generated/prisma/client.js';
import type { KeyringStore } from '../../keyring/index.js';
import { auditRow, recordAudit } from '../audit/index.js';
import * as referencesRepository from './references.repository.js';
import {
  addressKey,
  expandValues,
  labelOf,
  mayHoldReferences,
  type LoadOutcome,
  type LoadRequest,
  type SecretAddress,
} from './references.js';
import { readRefusal } from './secrets.rules.js';
import type { SecretRow } from './secrets.repository.js';
import { environmentIdOf, type ScopeRef } from './secrets.scope.js';
import { decrypt, isHidden, recordDenial } from './secrets.service.js';
import { secretReveals } from '../../metrics.js';

const NO_VIEWER = { error: forbidden(), reason: 'no viewer' };

/**
 * Expanding revealed values for the reader who asked: every referenced secret is loaded with the
 * reader's permissions checked on its scope, is not served when inactive, and is audited as
 * revealed (its value leaves the vault inside the expanded one).
 */

export interface Expansion {
  db: Database;
  keyring: KeyringStore;
  actor: Actor;
  now: Date;
}

/** A value already revealed (and audited) to the reader, as stored. */
export interface Revealed {
  secret: SecretRow;
  text: string;
}

const REVEAL = 'secret.reveal';

/** References see a secret as its environment and name; scopes without environments have none. */
const addressOf = (secret: SecretRow): SecretAddress => ({
  environment: secret.scope === 'PROJECT' ? secret.environment : null,
  name: secret.name,
});

const refOf = (secret: SecretRow): ScopeRef => ({
  scope: secret.scope,
  ownerId: secret.ownerId,
  environment: secret.scope === 'PROJECT' ? secret.environment : null,
  environmentId: secret.scope === 'PROJECT' ? secret.environmentId : null,
});

/**
 * The stored texts of `roots` (all of one scope, which the field's rule let the reader use),
 * expanded. Values without `${` come back as they are, without a statement.
 */
export async function expandRevealed(expansion: Expansion, roots: readonly Revealed[]): Promise<string[]> {
  if (!roots.some(({ text }) => mayHoldReferences(text))) return roots.map(({ text }) => text);
  const home = refOf(roots[0]!.secret);
  try {
    return await expandValues(
      roots.map(({ secret, text }) => ({ address: addressOf(secret), text })),
      (requests) => loadReferenced(expansion, home, requests),
    );
  } catch (error) {
    if (isCofferError(error) && error.code === 'UNRESOLVED_REFERENCE') await recordUnresolved(expansion, roots, error);
    throw error;
  }
}

/** The scope of `environment` in the home's project (its id is resolved by the permission check); null reaches no scope. */
function scopeOf(home: ScopeRef, environment: string | null): ScopeRef | null {
  if (environment === home.environment) return home;
  if (home.scope !== 'PROJECT' || environment === null) return null;
  return { scope: 'PROJECT', ownerId: home.ownerId, environment, environmentId: null };
}

/** One level of referenced secrets: two statements (find, then reveal with audit), plus one permission check per other scope. */
async function loadReferenced(expansion: Expansion, home: ScopeRef, requests: LoadRequest[]): Promise<Map<string, LoadOutcome>> {
  const { db, keyring, actor, now } = expansion;
  const outcomes = new Map<string, LoadOutcome>();
  const refused = (request: LoadRequest, outcome: LoadOutcome) => outcomes.set(addressKey(request.address), outcome);

  const byScope = new Map<string, { ref: ScopeRef; requests: LoadRequest[] }>();
  for (const request of requests) {
    const ref = scopeOf(home, request.address.environment);
    if (!ref) {
      refused(request, { refused: 'UNKNOWN_ENVIRONMENT' });
      continue;
    }
    const key = `${ref.scope}/${ref.ownerId}/${ref.environment ?? ''}`;
    const group = byScope.get(key) ?? { ref, requests: [] };
    group.requests.push(request);
    byScope.set(key, group);
  }

  const allowed: Array<{ ref: ScopeRef; requests: LoadRequest[] }> = [];
  for (const group of byScope.values()) {
    // The home scope passed the field's rule; any other is checked like a request of its own.
    const refusal = group.ref === home ? null : actor.viewer ? await readRefusal(db, actor.viewer, group.ref) : NO_VIEWER;
    if (!refusal) {
      allowed.push(group);
      continue;
    }
    // Only a reader allowed in the project learns that an environment does not exist (as with the field rules).
    const unknown = refusal.error.code === 'BAD_USER_INPUT';
    for (const request of group.requests) {
      refused(request, { refused: unknown ? 'UNKNOWN_ENVIRONMENT' : 'FORBIDDEN' });
      if (unknown) continue;
      const reason = `through a reference from ${labelOf(request.referrer)}; ${refusal.reason}`;
      await recordDenial({ db, actor, ref: group.ref, name: request.address.name, action: REVEAL, reason });
    }
  }
  if (allowed.length === 0) return outcomes;

  const rows = await referencesRepository.findNamed(
    db.prisma,
    allowed.map(({ ref, requests: named }) => ({ ref, names: named.map((request) => request.address.name) })),
  );
  const rowAt = new Map(rows.map((row) => [`${row.scope}/${row.ownerId}/${row.environmentId}/${row.name}`, row]));
  const served: Array<{ request: LoadRequest; secret: Secret }> = [];
  for (const { ref, requests: named } of allowed) {
    for (const request of named) {
      const secret = rowAt.get(`${ref.scope}/${ref.ownerId}/${environmentIdOf(ref)}/${request.address.name}`);
      if (!secret || isHidden(secret, now)) refused(request, { refused: 'MISSING' });
      else if (!secret.isActive) refused(request, { refused: 'INACTIVE' });
      else served.push({ request, secret });
    }
  }
  if (served.length === 0) return outcomes;

  const { reason: _reason, outcome: _outcome, ...audit } = auditRow(actor, { action: REVEAL, outcome: 'SUCCESS', targetType: 'secret' });
  const versions = await referencesRepository.revealCurrentVersions(db.prisma, {
    reveals: served.map(({ request, secret }) => ({
      secretId: secret.id,
      environment: request.address.environment,
      referrer: labelOf(request.referrer),
    })),
    now,
    audit,
  });
  for (const { request, secret } of served) {
    const version = versions.get(secret.id);
    // Deleted between the two statements (a concurrent destroy): as good as missing.
    if (!version) refused(request, { refused: 'MISSING' });
    else {
      outcomes.set(addressKey(request.address), { value: await decrypt(keyring, secret, version) });
      secretReveals.inc({ kind: 'reference' });
    }
  }
  return outcomes;
}

/** A reveal whose references could not be followed is on record too, with the chain (names only). */
async function recordUnresolved({ db, actor }: Expansion, roots: readonly Revealed[], error: Error) {
  const chain = (isCofferError(error) ? error.details.chain : undefined) as string[] | undefined;
  const root = roots.find(({ secret }) => labelOf(addressOf(secret)) === chain?.[0]) ?? roots[0]!;
  await recordAudit(db.prisma, actor, {
    action: REVEAL,
    outcome: 'FAILED',
    reason: error.message,
    targetType: 'secret',
    targetId: root.secret.id,
    targetName: root.secret.name,
    scope: root.secret.scope,
    scopeOwnerId: root.secret.ownerId,
    environment: root.secret.scope === 'PROJECT' ? root.secret.environment : null,
  });
}
