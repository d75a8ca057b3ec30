// `make bench-cluster`: the cluster benchmarks run as vitest files (they
// reuse the lab and etcd helpers of test/), outside `make test`'s include.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 300_000,
    include: ['bench/cluster/*.bench-test.ts'],
  },
});
