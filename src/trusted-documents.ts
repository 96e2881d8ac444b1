import { readFileSync } from 'node:fs';
import { stripIgnoredCharacters } from 'graphql';

// The trusted-documents manifest (TRUSTED_DOCUMENTS), read with the configuration at start-up.

/** Hash → document text, as codegen's `persisted-documents.json`; plus the reverse for clients sending full text. */
export interface TrustedDocuments {
  byHash: Map<string, string>;
  hashByText: Map<string, string>;
}

/** Reads the manifest; returns a problem sentence (never the file's content) when it cannot be used. */
export function readTrustedDocuments(path: string): TrustedDocuments | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return `TRUSTED_DOCUMENTS: cannot read a JSON manifest at ${path} (${(error as NodeJS.ErrnoException).code ?? 'invalid JSON'})`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return 'TRUSTED_DOCUMENTS: the manifest must be a JSON object of hash → document text';
  }
  const byHash = new Map<string, string>();
  const hashByText = new Map<string, string>();
  for (const [hash, text] of Object.entries(parsed)) {
    if (typeof text !== 'string') return 'TRUSTED_DOCUMENTS: every manifest value must be a document text';
    byHash.set(hash, text);
    const normalized = normalizeDocument(text);
    if (normalized === null) return 'TRUSTED_DOCUMENTS: a manifest document is not valid GraphQL';
    hashByText.set(normalized, hash);
  }
  return { byHash, hashByText };
}

export interface OperationParams {
  query?: string;
  documentId?: unknown;
  extensions?: Record<string, unknown> | null;
}

/** The manifest hash a request names: `documentId`, APQ-style `extensions.persistedQuery.sha256Hash`, or exact text. */
export function trustedHashOf(documents: TrustedDocuments, params: OperationParams): string | null {
  if (typeof params.documentId === 'string') return params.documentId;
  const persisted = params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
  if (typeof persisted?.sha256Hash === 'string') return persisted.sha256Hash;
  if (typeof params.query === 'string') return documents.hashByText.get(normalizeDocument(params.query) ?? '') ?? null;
  return null;
}

/** Whitespace, commas and comments do not make another document (clients print documents differently). */
export function normalizeDocument(text: string): string | null {
  try {
    return stripIgnoredCharacters(text);
  } catch {
    return null;
  }
}
