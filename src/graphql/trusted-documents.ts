import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { normalizeDocument, trustedHashOf, type TrustedDocuments } from '../trusted-documents.js';

export { trustedHashOf };

export const persistedQueryOnly = () =>
  new GraphQLError('Only trusted documents are accepted: send a documentId from the manifest', {
    extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 403 } },
  });

/**
 * Only manifest documents for non-admins. `isAdmin` authenticates the request (the app caches
 * the result so the context does not authenticate it again).
 */
export function useTrustedDocuments<ServerContext extends object>(
  documents: TrustedDocuments,
  isAdmin: (initial: ServerContext & { request: Request }) => Promise<boolean>,
): Plugin<ServerContext>[] {
  // The callback below sees only the request; the server context (socket address) is kept for it.
  const serverContexts = new WeakMap<Request, ServerContext>();
  return [
    {
      // A codegen-typed client sending the full text of a manifest document is served as if it sent the hash.
      onParams({ params, setParams, request, context }) {
        serverContexts.set(request, context as ServerContext);
        const hash = typeof params.query === 'string' ? documents.hashByText.get(normalizeDocument(params.query) ?? '') : undefined;
        if (hash) {
          const persistedQuery = { version: 1, sha256Hash: hash };
          setParams({ ...params, query: undefined, extensions: { ...params.extensions, persistedQuery } });
        }
      },
    },
    usePersistedOperations({
      extractPersistedOperationId: (params) => trustedHashOf(documents, { ...params, query: undefined }),
      getPersistedOperation: (hash) => documents.byHash.get(hash) ?? null,
      allowArbitraryOperations: (request) => isAdmin({ ...(serverContexts.get(request) as ServerContext), request }),
      customErrors: {
        persistedQueryOnly: persistedQueryOnly,
        notFound: persistedQueryOnly,
        keyNotFound: persistedQueryOnly,
      },
    }),
  ];
}
