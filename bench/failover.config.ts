import { defineConfig } from 'vitest/config';

// `npm run bench:failover` (bench/failover.mjs): the fail-over benchmark, apart from `npm test`.
export default defineConfig({
  test: {
    include: ['bench/failover.run.ts'],
    globalSetup: ['test/helpers/global-build.ts'],
    fileParallelism: false,
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
  },
});
