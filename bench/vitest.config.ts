import { defineConfig } from 'vitest/config';

// Benchmarks that need the TypeScript sources and test harnesses run through vitest, apart
// from `npm test`: they print figures and assert only correctness, never timings.
export default defineConfig({
  test: {
    include: ['bench/**/*.perf.ts'],
    testTimeout: 600_000,
    fileParallelism: false,
  },
});
