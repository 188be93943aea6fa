import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'adapters/**/*.test.ts', 'src/**/*.test.ts'],
    // The soak runs on its own (npm run test:soak, vitest.soak.config.ts): it keeps both cores busy
    // for minutes, and beside it the tests that start processes would miss their timeouts.
    exclude: ['**/node_modules/**', 'test/soak/**'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup.ts'],
    // Each file gets its own database, so files run in parallel safely.
    pool: 'forks',
    // Tests that run the real command start Node processes; on 2 busy cores one takes 3–10 s.
    testTimeout: 60_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
  },
});
