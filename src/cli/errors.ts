// Exit codes and one-line error messages, iproute2/bpftool style:
// 0 ok, 1 usage or config error, 2 kernel or system error.
import { BpfError } from '../bpf/index.js';
import { ConfigError } from '../config/index.js';
import { ManagerError } from '../reconcile/index.js';

export const EXIT_OK = 0, EXIT_USAGE = 1, EXIT_SYSTEM = 2;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function exitCodeOf(e: unknown): number {
  if (e instanceof ConfigError || e instanceof UsageError) return EXIT_USAGE;
  if (e instanceof ManagerError) return e.exitCode;
  if (e instanceof BpfError) return EXIT_SYSTEM;
  return EXIT_SYSTEM;
}

/** ConfigError keeps one line per issue (each names its path); anything else is one line. */
export function messageOf(e: unknown): string {
  if (e instanceof ConfigError) return e.message;
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
}
