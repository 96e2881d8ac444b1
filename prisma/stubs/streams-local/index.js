// `prisma dev` (Prisma's local Postgres) is the only caller; Coffer uses PGlite or PostgreSQL instead.
export async function startLocalDurableStreamsServer() {
  throw new Error('`prisma dev` is not available in Coffer: its streams server needs Node >= 22. Use PGlite (default) or PostgreSQL.');
}
