import { parse } from 'dotenv';
import { stringify as toYaml } from 'yaml';

/**
 * .env files: read with dotenv's own parser (what applications will read them with); written so
 * that dotenv parses every value back exactly, which each write checks.
 */

// dotenv's line grammar (dotenv/lib/main.js), used only to find names and their lines for the
// duplicate report; the values always come from dotenv.parse.
const LINE =
  // eslint-disable-next-line max-len -- verbatim
  /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;

export interface ParsedDotenv {
  values: Record<string, string>;
  /** Names given more than once, with the lines they are on (the last one wins in dotenv). */
  duplicates: Array<{ name: string; lines: number[] }>;
}

export function parseDotenv(text: string): ParsedDotenv {
  const normalized = text.replace(/\r\n?/g, '\n');
  const seen = new Map<string, number[]>();
  for (const match of normalized.matchAll(LINE)) {
    const line = normalized.slice(0, match.index + match[0].search(/\S|$/)).split('\n').length;
    seen.set(match[1]!, [...(seen.get(match[1]!) ?? []), line]);
  }
  const duplicates = [...seen].filter(([, lines]) => lines.length > 1).map(([name, lines]) => ({ name, lines }));
  return { values: parse(normalized), duplicates };
}

export class UnwritableValue extends Error {}

/** One `NAME=value` line (or several, for a multi-line value) that dotenv reads back as `value`. */
export function dotenvEntry(name: string, value: string): string {
  const candidates = [
    // Single quotes: literal, line breaks kept; cannot hold ' (dotenv has no escape there).
    `'${value}'`,
    // Double quotes: dotenv turns \n and \r back into line breaks; cannot hold " (it keeps \" as is).
    `"${value.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`,
    `\`${value}\``,
  ];
  for (const quoted of candidates) {
    const line = `${name}=${quoted}`;
    const back = parse(line);
    if (Object.keys(back).length === 1 && back[name] === value) return line;
  }
  throw new UnwritableValue(`${name}: its value cannot be written so that dotenv reads it back (use --format json)`);
}

export function formatDotenv(values: Record<string, string>): string {
  const text = Object.entries(values)
    .map(([name, value]) => `${dotenvEntry(name, value)}\n`)
    .join('');
  // Entries that parse alone could still run into each other; check the file as a whole.
  const back = parse(text);
  const same =
    Object.keys(values).length === Object.keys(back).length && Object.entries(values).every(([name, value]) => back[name] === value);
  if (!same) throw new UnwritableValue('the values cannot be written as one .env file that reads back the same (use --format json)');
  return text;
}

export type ExportFormat = 'dotenv' | 'json' | 'yaml';

export function formatValues(values: Record<string, string>, format: ExportFormat): string {
  if (format === 'json') return `${JSON.stringify(values, null, 2)}\n`;
  if (format === 'yaml') return toYaml(values, { lineWidth: 0 });
  return formatDotenv(values);
}
