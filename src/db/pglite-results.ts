import { protocol, types, type ParserOptions } from '@electric-sql/pglite';

const ROW_DESCRIPTION = 0x54; // 'T'
const DATA_ROW = 0x44; // 'D'
const ERROR_RESPONSE = 0x45; // 'E'

interface Column {
  name: string;
  typeId: number;
}

/**
 * The rows of one extended-protocol exchange, read from PGlite's raw response bytes.
 *
 * PGlite's own reader copies every field into a fresh ArrayBuffer before decoding it and keeps its
 * state in WeakMap-backed private fields; on the list of 20 secrets that was a third of the
 * server's CPU, three times what PostgreSQL spent running the statement (README, Benchmarks).
 * This reads the same messages in place. Values are parsed by PGlite's own type parsers, so a row
 * is what `parse.parseResults` would give; messages other than a row description or a data row
 * (bind complete, command complete, notices, ready for query) carry nothing a caller reads here.
 * An error response is handed to PGlite's parser, which builds its DatabaseError (SQLSTATE,
 * constraint, detail) as every other statement reports it.
 */
export function decodeRows<Row>(bytes: Buffer, parsers: ParserOptions): Row[] {
  const rows: Row[] = [];
  let columns: Column[] = [];
  let offset = 0;
  while (offset + 5 <= bytes.length) {
    const type = bytes[offset]!;
    const end = offset + 1 + bytes.readInt32BE(offset + 1);
    let at = offset + 5;
    if (type === DATA_ROW) {
      const count = bytes.readInt16BE(at);
      at += 2;
      const row: Record<string, unknown> = {};
      for (let index = 0; index < count; index++) {
        const length = bytes.readInt32BE(at);
        at += 4;
        const column = columns[index]!;
        if (length === -1) row[column.name] = null;
        else {
          row[column.name] = types.parseType(bytes.toString('utf8', at, at + length), column.typeId, parsers);
          at += length;
        }
      }
      rows.push(row as Row);
    } else if (type === ROW_DESCRIPTION) {
      const count = bytes.readInt16BE(at);
      at += 2;
      columns = [];
      for (let index = 0; index < count; index++) {
        const nameEnd = bytes.indexOf(0, at);
        const name = bytes.toString('utf8', at, nameEnd);
        // Skipped: table OID (4), column number (2); read: type OID (4); skipped: size (2), modifier (4), format (2).
        columns.push({ name, typeId: bytes.readInt32BE(nameEnd + 7) });
        at = nameEnd + 19;
      }
    } else if (type === ERROR_RESPONSE) {
      throw databaseError(bytes.subarray(offset, end));
    }
    offset = end;
  }
  return rows;
}

function databaseError(message: Uint8Array): Error {
  let error: Error | undefined;
  new protocol.Parser().parse(message, (parsed) => {
    if (parsed instanceof protocol.messages.DatabaseError) error = parsed;
  });
  return error ?? new Error('The database answered with an error it did not describe');
}
