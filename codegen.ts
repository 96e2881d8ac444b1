import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the tests (and any TypeScript client): write `graphql(\`query ...\`)`
// in a test, run `npm run codegen`, and results and variables are typed against schema.graphql.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', 'src/client/**/*.ts', '!src/generated/**'],
  ignoreNoDocuments: true,
  generates: {
    'src/generated/graphql/': {
      preset: 'client',
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        // Every custom scalar of the schema, so no field is typed `unknown` (test/api/relay-conventions.test.ts checks).
        scalars: {
          DateTime: 'string',
          JSON: 'import("../../graphql/json-value.js").JsonValue',
        },
        // NodeNext resolution needs explicit ESM imports in the generated files.
        emitLegacyCommonJSImports: false,
      },
      // persisted-documents.json (hash → text) is the manifest TRUSTED_DOCUMENTS reads.
      presetConfig: { fragmentMasking: false, persistedDocuments: true },
    },
  },
};

export default config;
