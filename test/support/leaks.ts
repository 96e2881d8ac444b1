import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The forms a secret value could take where it leaks: its bytes as UTF-8 and UTF-16LE (what
 * databases and JS engines store text as) and the hex and base64 text of those bytes (what
 * drivers, logs and JSON make of binary).
 */
export function tracesOf(value: string | Buffer): Buffer[] {
  const utf8 = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const forms = [utf8, ...(typeof value === 'string' ? [Buffer.from(value, 'utf16le')] : [])];
  return forms.flatMap((bytes) => [
    bytes,
    Buffer.from(bytes.toString('hex'), 'latin1'),
    Buffer.from(bytes.toString('hex').toUpperCase(), 'latin1'),
    Buffer.from(bytes.toString('base64').replace(/=+$/, ''), 'latin1'),
    Buffer.from(bytes.toString('base64url'), 'latin1'),
  ]);
}

/**
 * How `haystack` can be looked at: as it is, and as the hex and base64 text a driver or a log
 * would render it in. A value hidden by one rendering is still found in the others.
 */
function renderingsOf(haystack: string | Uint8Array): Buffer[] {
  const raw = typeof haystack === 'string' ? Buffer.from(haystack, 'utf8') : Buffer.from(haystack);
  return [
    raw,
    Buffer.from(raw.toString('hex'), 'latin1'),
    Buffer.from(raw.toString('base64'), 'latin1'),
    Buffer.from(raw.toString('base64url'), 'latin1'),
  ];
}

/** Names the first form of `value` found in `haystack` (in any rendering), or null. */
export function findTrace(haystack: string | Uint8Array, value: string | Buffer): string | null {
  const traces = tracesOf(value);
  for (const [renderingIndex, rendering] of renderingsOf(haystack).entries()) {
    for (const [traceIndex, trace] of traces.entries()) {
      if (trace.length > 0 && rendering.includes(trace)) return `trace #${traceIndex} in rendering #${renderingIndex}`;
    }
  }
  return null;
}

/** Every regular file under `dir`, recursively. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return filesUnder(path);
      return entry.isFile() ? [path] : [];
    }),
  );
  return nested.flat();
}

/** The files under `dir` holding `needle` as raw bytes. */
export async function filesContaining(dir: string, needle: Buffer): Promise<string[]> {
  const hits: string[] = [];
  for (const path of await filesUnder(dir)) {
    if ((await readFile(path)).includes(needle)) hits.push(path);
  }
  return hits;
}
