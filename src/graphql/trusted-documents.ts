import { readFileSync } from 'node:fs';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError, stripIgnoredCharacters } from 'graphql';
import type { Plugin } from 'graphql-yoga';

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
    const normalized = normalize(text);
    if (normalized === null) return 'TRUSTED_DOCUMENTS: a manifest document is not valid GraphQL';
    hashByText.set(normalized, hash);
  }
  return { byHash, hashByText };
}

export const persistedQueryOnly = () =>
  new GraphQLError('Only trusted documents are accepted: send a documentId from the manifest', {
    extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 403 } },
  });

interface OperationParams {
  query?: string;
  documentId?: unknown;
  extensions?: Record<string, unknown> | null;
}

/** The manifest hash a request names: `documentId`, APQ-style `extensions.persistedQuery.sha256Hash`, or exact text. */
export function trustedHashOf(documents: TrustedDocuments, params: OperationParams): string | null {
  if (typeof params.documentId === 'string') return params.documentId;
  const persisted = params.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
  if (typeof persisted?.sha256Hash === 'string') return persisted.sha256Hash;
  if (typeof params.query === 'string') return documents.hashByText.get(normalize(params.query) ?? '') ?? null;
  return null;
}

/**
 * Only manifest documents for non-admins. `isAdmin` authenticates the request (the app caches
 * the result so the context does not authenticate it again).
 */
export function useTrustedDocuments(documents: TrustedDocuments, isAdmin: (request: Request) => Promise<boolean>): Plugin[] {
  return [
    {
      // A codegen-typed client sending the full text of a manifest document is served as if it sent the hash.
      onParams({ params, setParams }) {
        const hash = typeof params.query === 'string' ? documents.hashByText.get(normalize(params.query) ?? '') : undefined;
        if (hash) setParams({ ...params, query: undefined, extensions: { ...params.extensions, persistedQuery: { version: 1, sha256Hash: hash } } });
      },
    },
    usePersistedOperations({
      extractPersistedOperationId: (params) => trustedHashOf(documents, { ...params, query: undefined }),
      getPersistedOperation: (hash) => documents.byHash.get(hash) ?? null,
      allowArbitraryOperations: (request) => isAdmin(request),
      customErrors: {
        persistedQueryOnly: persistedQueryOnly,
        notFound: persistedQueryOnly,
        keyNotFound: persistedQueryOnly,
      },
    }),
  ];
}

/** Whitespace, commas and comments do not make another document (clients print documents differently). */
function normalize(text: string): string | null {
  try {
    return stripIgnoredCharacters(text);
  } catch {
    return null;
  }
}
