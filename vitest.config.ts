import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-build.ts'],
    // Namespace tests share the kernel's netns list and the CPU: run files one at a time
    // within a worker pool of two so integration tests never race on names or cores.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
