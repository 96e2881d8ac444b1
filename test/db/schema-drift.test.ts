import { describe, expect, it } from 'vitest';
import { diffMigrationsToSchema, isEmptyMigration } from '../../src/db/migration-writer.js';

describe('prisma/schema.prisma and prisma/migrations', () => {
  it('agree (otherwise run `npm run db:migration -- <name>`)', async () => {
    const sql = await diffMigrationsToSchema();
    // In sync the engine answers with comments only ("-- This is an empty migration.").
    expect(isEmptyMigration(sql), `the migrations lack:\n${sql}`).toBe(true);
  }, 120_000);
});
