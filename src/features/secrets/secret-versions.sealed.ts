import { sealedOf, storedOf } from '../../crypto/index.js';
import { keyIdQueries, type SealedRows } from '../../keyring/index.js';
import { versionAad } from './secrets.service.js';

/** Secret versions hold data keys wrapped by keyring terms: how the keyring checks and rotates them. */
export const secretVersionRows: SealedRows = {
  name: 'secret versions',
  ...keyIdQueries((db) => db.secretVersion),
  async rewrapBatch(prisma, rewrap, termId, limit) {
    const rows = await prisma.secretVersion.findMany({
      where: { keyId: { not: termId } },
      orderBy: [{ secretId: 'asc' }, { version: 'asc' }],
      take: limit,
      include: { secret: { select: { id: true, scope: true, ownerId: true, name: true } } },
    });
    if (rows.length === 0) return 0;
    await prisma.$transaction(async (tx) => {
      for (const row of rows) {
        const moved = rewrap(sealedOf(row), versionAad(row.secret, row.version));
        // Only if still under the old term: a concurrent write may have replaced the row meanwhile.
        await tx.secretVersion.updateMany({
          where: { secretId: row.secretId, version: row.version, keyId: row.keyId },
          data: { keyId: moved.keyId, wrappedKey: storedOf(moved).wrappedKey },
        });
      }
    });
    return rows.length;
  },
};
