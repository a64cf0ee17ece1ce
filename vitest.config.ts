import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Wire-level tests start real servers; isolation by file keeps their ports and state apart.
    pool: 'forks',
  },
});
