import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Node loads graphql's CJS build for yoga/shield; vitest would load the ESM one for our code.
    // Two GraphQLError classes would turn coded errors into masked ones in tests only.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest's default on 2 cores is one worker; most slow files wait on child processes, so two overlap that.
    maxWorkers: 2,
    globalSetup: ['test/support/build.global.ts'],
  },
});
