import { defineConfig } from 'prisma/config';

// Only used by the Prisma CLI (generate; migrate where its engine can be downloaded).
// Coffer itself applies migrations at start-up: see src/db/migrate.ts.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/coffer' },
});
