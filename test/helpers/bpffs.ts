// A private bpffs per test file, mounted outside /sys so that neither
// `ip netns exec` nor another test run can see or disturb its pins.
import { mkdirSync, rmSync } from 'node:fs';
import { sh } from './lab.js';

export class TempBpffs {
  readonly dir = `/run/xvtep-test-${process.pid}`;
  constructor() {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    sh('mount', ['-t', 'bpf', 'bpf', this.dir]);
  }
  path(name: string): string {
    return `${this.dir}/${name}`;
  }
  destroy(): void {
    sh('umount', [this.dir], { allowFail: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
