import { parse } from 'dotenv';
import { describe, expect, it } from 'vitest';
import { dotenvEntry, formatDotenv, formatValues, parseDotenv, UnwritableValue } from '../../src/cli/dotenv.js';

/** The .env writer against dotenv's own parser: what it writes reads back exactly, or it refuses. */
describe('dotenv writer and reader', () => {
  const hostile: Record<string, string> = {
    PLAIN: 'simple',
    EQUALS: 'a=b=c==',
    SINGLE_QUOTE: "it's",
    DOUBLE_QUOTE: 'say "hi"',
    BOTH_QUOTES: `it's "both"`,
    NEWLINES: 'line1\nline2\n',
    NEWLINE_AND_SINGLE: "it's\nmulti",
    LITERAL_BACKSLASH_N: 'C:\\new\\table',
    CARRIAGE_RETURN: 'a\r\nb',
    HASH: 'value # not a comment',
    PADDED: '  spaces  ',
    UNICODE: 'héllo ✓ 日本語 🎉',
    DOLLARS: '$HOME ${OTHER}',
    TRAILING_BACKSLASH: 'ends with \\',
    LEADING_EQUALS: '=x',
    EXPORT_LOOKALIKE: 'export X=1',
  };

  it('round-trips every hostile value through dotenv.parse', () => {
    const text = formatDotenv(hostile);
    expect(parse(text)).toEqual(hostile);
    for (const [name, value] of Object.entries(hostile)) expect(parse(dotenvEntry(name, value)), name).toEqual({ [name]: value });
  });

  it('refuses a value no dotenv quoting can hold, rather than writing it wrong', () => {
    // Every quote, a line break and a literal backslash-n: no quoting keeps both apart.
    expect(() => dotenvEntry('IMPOSSIBLE', 'all \' " ` quotes \\n\nand a line break')).toThrow(UnwritableValue);
    // Quotes of every kind without that still round-trip.
    expect(parse(dotenvEntry('POSSIBLE', 'all \' " ` quotes\nand a line break'))).toEqual({
      POSSIBLE: 'all \' " ` quotes\nand a line break',
    });
    // JSON and YAML hold anything.
    expect(JSON.parse(formatValues({ IMPOSSIBLE: 'all \' " ` quotes\n' }, 'json'))).toEqual({ IMPOSSIBLE: 'all \' " ` quotes\n' });
  });

  it('reads export prefixes, comments and multi-line values, and reports duplicate names with their lines', () => {
    const parsed = parseDotenv('# comment\nexport A=1\nB="x\ny"\n\nA=2 # again\nC=3\r\nC=4\n');
    expect(parsed.values).toEqual({ A: '2', B: 'x\ny', C: '4' });
    expect(parsed.duplicates).toEqual([
      { name: 'A', lines: [2, 6] },
      { name: 'C', lines: [7, 8] },
    ]);
  });
});
