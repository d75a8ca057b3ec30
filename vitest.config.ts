import { defineConfig } from 'vitest/config';

// Kernel tests change the calling thread's network namespace and attach to
// interfaces, so every test file runs in its own process (forks), one at a
// time: two cores and labs that count packets do not share well. --expose-gc
// lets the link-lifetime test prove that a collected link detaches.
export default defineConfig({
  test: {
    pool: 'forks',
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    include: ['test/**/*.test.ts'],
  },
});
