-- Mirrored Stripe objects (a page of 100 invoices is ~320 KiB of JSON) are compressed with lz4
-- where the server has it: PostgreSQL's default, pglz, cost about a third of a page's upsert
-- (measured: 14.4 ms with pglz, 9.5 ms with lz4 for 100 invoices). PGlite has only pglz: this
-- changes nothing there. Not in schema.prisma (Prisma does not model compression); a new mirror
-- table's migration repeats it for its `data` column.
DO $$
BEGIN
  IF 'lz4' = ANY ((SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression')::text[]) THEN
    EXECUTE (
      SELECT string_agg(format('ALTER TABLE %I ALTER COLUMN data SET COMPRESSION lz4', table_name), '; ')
      FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name LIKE 'stripe\_%' AND column_name = 'data' AND data_type = 'jsonb'
    );
  END IF;
END
$$;
