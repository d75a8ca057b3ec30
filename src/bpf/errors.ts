// One error type for everything the kernel or libbpf refuses. It keeps the
// errno and its name, the operation and the object it was about, and a hint
// when the cure is known (privileges, bpffs).
import { constants } from 'node:os';

const errnoNames = new Map<number, string>(
  Object.entries(constants.errno).map(([name, n]) => [n as number, name]),
);
errnoNames.set(524, 'ENOTSUPP'); // kernel-internal, leaks out of the bpf syscall

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export class BpfError extends Error {
  override name = 'BpfError';
  constructor(
    readonly op: string,
    readonly errno: number,
    readonly object?: string,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(formatMessage(op, errno, object, hint), options);
  }
  /** The errno name, e.g. "ENOENT". */
  get code(): string {
    return errnoName(this.errno);
  }
  /** True when the kernel or the object does not support the operation. */
  get notSupported(): boolean {
    return this.errno === constants.errno.EOPNOTSUPP || this.errno === 524 || this.errno === constants.errno.ENOTSUP;
  }
}

export class VerifierError extends BpfError {
  override name = 'VerifierError';
  constructor(
    op: string,
    errno: number,
    readonly program: string | undefined,
    readonly log: string,
    readonly libbpfLog: string,
  ) {
    super(op, errno, program, lastLines(log, 3));
  }
}

function formatMessage(op: string, errno: number, object?: string, hint?: string): string {
  const what = object ? `${object}: ${op}` : op;
  return `${what}: ${errnoName(errno)} (${describe(errno)})${hint ? `: ${hint}` : ''}`;
}

function describe(errno: number): string {
  if (errno === 524) return 'operation not supported';
  const key = errnoName(errno);
  const text: Record<string, string> = {
    EPERM: 'operation not permitted', EACCES: 'permission denied', ENOENT: 'no such entry',
    EEXIST: 'already exists', E2BIG: 'too big or map full', EINVAL: 'invalid argument',
    ENOSPC: 'no space', EBUSY: 'busy', EBADF: 'bad file descriptor', EOPNOTSUPP: 'operation not supported',
    ENODEV: 'no such device', ENOMEM: 'out of memory', ENOTSUP: 'operation not supported',
  };
  return text[key] ?? key.toLowerCase();
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join(' | ');
}

const privilegeHint =
  'this needs CAP_BPF and CAP_NET_ADMIN (CAP_SYS_ADMIN on older kernels): run as root or grant the capabilities';

interface NativeErrorShape { errno?: number; op?: string; log?: string; libbpfLog?: string }

/** Turns an error thrown by the addon into a BpfError naming `object`. */
export function wrapNative(e: unknown, object?: string, op?: string): Error {
  const ne = e as NativeErrorShape & Error;
  if (typeof ne?.errno !== 'number') return e as Error;
  const operation = op ?? ne.op ?? 'bpf';
  const hint = ne.errno === constants.errno.EPERM ? privilegeHint : undefined;
  return new BpfError(operation, ne.errno, object, hint, { cause: e });
}

/** Runs a native call, rethrowing its error as a BpfError about `object`. */
export function call<T>(object: string | undefined, fn: () => T, op?: string): T {
  try {
    return fn();
  } catch (e) {
    throw wrapNative(e, object, op);
  }
}

/** Which program a failed load was about, from libbpf's own messages. */
export function failedProgram(libbpfLog: string): string | undefined {
  const m = /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(libbpfLog);
  return m?.[1];
}
