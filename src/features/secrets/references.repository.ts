import type { Prisma, PrismaClient, SecretVersion } from '../../generated/prisma/client.js';
import type { RevealAudit } from './secrets.repository.js';
import { environmentIdOf, type ScopeRef } from './secrets.scope.js';

/** The statements references add: one level of referenced secrets is found in one, and revealed in another. */

type Db = PrismaClient | Prisma.TransactionClient;

/** The rows of these names in these scopes (deleted, expired and inactive ones too: the caller says why they are not served). */
export const findNamed = (db: Db, wanted: Array<{ ref: ScopeRef; names: string[] }>) =>
  db.secret.findMany({
    where: {
      OR: wanted.map(({ ref, names }) => ({
        scope: ref.scope,
        ownerId: ref.ownerId,
        environmentId: environmentIdOf(ref),
        name: { in: names },
      })),
    },
  });

/** A referenced secret to reveal, its environment's name, and the label of the secret whose value named it (for its audit record). */
export interface ReferencedReveal {
  secretId: string;
  environment: string | null;
  referrer: string;
}

interface RevealedRow {
  secret_id: string;
  version: number;
  key_id: string;
  wrapped_key: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
  ciphertext: Uint8Array;
  created_at: Date;
  created_by_id: string | null;
}

type BatchAudit = Omit<RevealAudit, 'targetId' | 'targetName' | 'scope' | 'scopeOwnerId' | 'environment' | 'reasonFound' | 'reasonMissing'>;

/**
 * `revealVersion` for many secrets at their current versions, in one statement: reads each
 * current version, records one audit event per secret revealed ("version N, through a reference
 * from A") and moves last_used_at forward (at most once a minute). All of it commits or none:
 * nothing is decrypted before its reveal is on record.
 */
export async function revealCurrentVersions(
  db: Db,
  { reveals, now, audit }: { reveals: ReferencedReveal[]; now: Date; audit: BatchAudit },
) {
  const rows = await db.$queryRaw<RevealedRow[]>`
    WITH wanted AS (
      SELECT * FROM unnest(${reveals.map((reveal) => reveal.secretId)}::uuid[], ${reveals.map((reveal) => reveal.environment)}::text[],
                           ${reveals.map((reveal) => reveal.referrer)}::text[])
        AS w(secret_id, environment, referrer)
    ), v AS (
      SELECT sv.secret_id, sv.version, sv.key_id, sv.wrapped_key, sv.iv, sv.tag, sv.ciphertext, sv.created_at, sv.created_by_id,
             s.name, s.scope, s.owner_id, w.environment, w.referrer
      FROM wanted w
      JOIN secrets s ON s.id = w.secret_id
      JOIN secret_versions sv ON sv.secret_id = s.id AND sv.version = s.current_version
    ), audit AS (
      INSERT INTO audit_events (id, actor_id, actor_via, action, target_type, target_id, target_name, scope, scope_owner_id,
                                environment, outcome, reason, request_id, client_address, actor_machine_identity_id)
      SELECT gen_random_uuid(), ${audit.actorId}::uuid, ${audit.actorVia}, ${audit.action}, ${audit.targetType},
             v.secret_id::text, v.name, v.scope, v.owner_id, v.environment, 'SUCCESS'::"AuditOutcome",
             'version ' || v.version || ', through a reference from ' || v.referrer, ${audit.requestId}, ${audit.clientAddress},
             ${audit.actorMachineIdentityId}::uuid
      FROM v
    ), used AS (
      UPDATE secrets SET last_used_at = ${now}
      WHERE id IN (SELECT secret_id FROM v) AND (last_used_at IS NULL OR last_used_at < ${now}::timestamptz - interval '1 minute')
    )
    SELECT secret_id, version, key_id, wrapped_key, iv, tag, ciphertext, created_at, created_by_id FROM v`;
  return new Map(
    rows.map((row) => [
      row.secret_id,
      {
        secretId: row.secret_id,
        version: row.version,
        keyId: row.key_id,
        wrappedKey: row.wrapped_key,
        iv: row.iv,
        tag: row.tag,
        ciphertext: row.ciphertext,
        createdAt: row.created_at,
        createdById: row.created_by_id,
      } as SecretVersion,
    ]),
  );
}
