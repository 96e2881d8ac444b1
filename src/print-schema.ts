import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { printSchemaSDL } from './schema.js';

/** `npm run schema:print` writes schema.graphql; `--check` fails when the committed file is stale. */
const target = fileURLToPath(new URL('../schema.graphql', import.meta.url));
const sdl = printSchemaSDL();

if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== sdl) {
    process.stderr.write('schema.graphql is stale: run `npm run schema:print` and commit it.\n');
    process.exit(1);
  }
  process.stdout.write('schema.graphql is up to date.\n');
} else {
  await writeFile(target, sdl);
  process.stdout.write(`wrote ${target}\n`);
}
