import { defineConfig } from 'vitest/config';

/** `npm run test:soak`: the soak's small profile (test/soak), alone, after the rest of the suite. */
export default defineConfig({
  test: {
    include: ['test/soak/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    testTimeout: 400_000,
    hookTimeout: 90_000,
  },
});
