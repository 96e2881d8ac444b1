import type { KeyringTerm, Prisma, PrismaClient } from '../generated/prisma/client.js';

/** Every statement on `keyring_terms`, the database keyring. */

type Db = PrismaClient | Prisma.TransactionClient;

export type TermRow = KeyringTerm;

export const listTerms = (db: Db): Promise<TermRow[]> => db.keyringTerm.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });

/** Adds a term; an active one takes the active slot from the term holding it (one transaction). */
export async function insertTerm(
  tx: Prisma.TransactionClient,
  term: { id: string; rootKeyId: string; sealedKey: Buffer; active: boolean; now: Date },
) {
  if (term.active) await tx.keyringTerm.updateMany({ where: { activeSlot: 'active' }, data: { activeSlot: null } });
  await tx.keyringTerm.create({
    data: {
      id: term.id,
      rootKeyId: term.rootKeyId,
      sealedKey: new Uint8Array(term.sealedKey),
      activeSlot: term.active ? 'active' : null,
      createdAt: term.now,
      activatedAt: term.active ? term.now : null,
    },
  });
}

/**
 * Locks a term against retirement until the transaction ends, if it may still take writes.
 * False when it was retired meanwhile: the writer must move to the active term.
 */
export async function holdWritableTerm(tx: Prisma.TransactionClient, id: string): Promise<boolean> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM keyring_terms WHERE id = ${id} AND retired_at IS NULL FOR SHARE`;
  return rows.length > 0;
}

/** The term, locked against writers taking it up meanwhile (see holdWritableTerm). */
export async function lockTerm(
  tx: Prisma.TransactionClient,
  id: string,
): Promise<{ id: string; active: boolean; retired: boolean } | null> {
  const [row] = await tx.$queryRaw<Array<{ id: string; active: boolean; retired: boolean }>>`
    SELECT id, active_slot IS NOT NULL AS active, retired_at IS NOT NULL AS retired FROM keyring_terms WHERE id = ${id} FOR UPDATE`;
  return row ?? null;
}

export const markRetired = (tx: Prisma.TransactionClient, id: string, now: Date) =>
  tx.keyringTerm.update({ where: { id }, data: { retiredAt: now } });

export const deleteTerms = (tx: Prisma.TransactionClient, ids: string[]) => tx.keyringTerm.deleteMany({ where: { id: { in: ids } } });

export const resealTerm = (tx: Prisma.TransactionClient, id: string, rootKeyId: string, sealedKey: Buffer) =>
  tx.keyringTerm.update({ where: { id }, data: { rootKeyId, sealedKey: new Uint8Array(sealedKey) } });

export async function lockRetiredTerms(tx: Prisma.TransactionClient): Promise<string[]> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`SELECT id FROM keyring_terms WHERE retired_at IS NOT NULL ORDER BY id FOR UPDATE`;
  return rows.map((row) => row.id);
}
