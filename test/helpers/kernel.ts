// Kernel tests need root (CAP_BPF, CAP_NET_ADMIN, netns). Without it they
// skip with a loud reason, unless XVTEP_REQUIRE_KERNEL_TESTS=1 (CI sets it):
// then the missing privilege is a failure, so CI can never pass by skipping.
import { describe, it } from 'vitest';

export const isRoot = process.getuid?.() === 0;
export const kernelTestsRequired = process.env.XVTEP_REQUIRE_KERNEL_TESTS === '1';

export function describeKernel(name: string, fn: () => void): void {
  if (isRoot) {
    describe(name, fn);
    return;
  }
  if (kernelTestsRequired) {
    describe(name, () => {
      it('runs as root', () => {
        throw new Error(`kernel test "${name}" needs root and XVTEP_REQUIRE_KERNEL_TESTS=1 forbids skipping it`);
      });
    });
    return;
  }
  console.warn(`SKIPPED kernel tests "${name}": not root (run as root to execute them)`);
  describe.skip(name, fn);
}

