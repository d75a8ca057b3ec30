// A test-only kill switch: the apply runs in a child process that a kill
// (the OOM killer, an operator) can end between any two steps, and the
// tests must be able to end it at a chosen one. XVTEP_TEST_KILL_AT names a
// file holding a step name; the process that reaches that step removes the
// file (one shot) and SIGKILLs itself. Unset (always, outside tests): nothing.
import { readFileSync, unlinkSync } from 'node:fs';

export function faultPoint(step: string): void {
  const file = process.env.XVTEP_TEST_KILL_AT;
  if (!file) return;
  let want: string;
  try {
    want = readFileSync(file, 'utf8').trim();
  } catch {
    return;
  }
  if (want !== step) return;
  unlinkSync(file);
  process.kill(process.pid, 'SIGKILL');
}
