import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const features = readdirSync(new URL('./src/features', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

const COMPOSITION = ['./src/cli', './src/app.ts', './src/server.ts', './src/services.ts', './src/schema.ts', './src/print-schema.ts'];
const INFRASTRUCTURE = ['./src/auth', './src/graphql', './src/events', './src/keyring'];
const FOUNDATIONS = ['./src/db', './src/crypto', './src/config.ts', './src/logger.ts', './src/errors.ts', './src/metrics.ts'];

/** Dependencies point one way (src/README.md): composition → features → infrastructure → foundations. */
const layers = [
  { target: FOUNDATIONS, from: [...INFRASTRUCTURE, './src/features', ...COMPOSITION], message: 'Foundations import nothing above them.' },
  { target: INFRASTRUCTURE, from: ['./src/features', ...COMPOSITION], message: 'Infrastructure imports no feature and no composition code.' },
  { target: './src/features', from: COMPOSITION, message: 'Features import no composition code.' },
  // A feature reaches another only through its index.ts, its one door.
  ...features.map((feature) => ({
    target: `./src/features/${feature}`,
    from: './src/features',
    except: [`./${feature}`, ...features.filter((other) => other !== feature).map((other) => `./${other}/index.ts`)],
    message: "Features use each other only through the other feature's index.ts.",
  })),
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'src/generated/', 'test/artifacts/', '.coffer/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly',
        fetch: 'readonly', AbortController: 'readonly', Request: 'readonly', Response: 'readonly',
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      // Without a parser for .ts files import-x cannot read the modules it follows, and no-cycle sees none.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      // The machine catches what a reviewer would otherwise have to: a promise nobody awaits.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeCheckedOnly],
    rules: {
      'max-len': ['error', { code: 140, ignoreUrls: true }],
      'import-x/no-restricted-paths': ['error', { zones: layers }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
);
