// `make demo-cluster`: the cluster demo runs as a vitest file so it reuses
// the lab and etcd helpers of test/ (it prints as it goes).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { pool: 'forks', fileParallelism: false, testTimeout: 300_000, hookTimeout: 300_000, include: ['scripts/demo-cluster/*.demo.ts'], reporters: ['verbose'] },
});
