// Runs synchronous code with the calling thread inside a network namespace.
// Only network-scoped things change (interface names, ifindexes, routes);
// bpffs paths stay those of the process's mount namespace, which is why labs
// can pin under /sys/fs/bpf from here but not from `ip netns exec`.
import { CLONE_NEWNET } from './constants.js';
import { call } from './errors.js';
import { FdHandle } from './handle.js';
import { native } from './native.js';

export class Netns {
  readonly #handle: FdHandle;
  private constructor(fd: number, readonly name: string) {
    this.#handle = new FdHandle(fd, `netns ${name}`);
  }

  /** A namespace made by `ip netns add NAME`, or any path to an nsfs file. */
  static open(nameOrPath: string): Netns {
    const path = nameOrPath.includes('/') ? nameOrPath : `/run/netns/${nameOrPath}`;
    return new Netns(call(`netns ${nameOrPath}`, () => native.openRead(path), 'open'), nameOrPath);
  }

  get fd(): number {
    return this.#handle.fd;
  }

  /** fn must be synchronous: awaiting inside would run other code in this netns. */
  run<T>(fn: () => T): T {
    const orig = call('netns', () => native.openRead('/proc/thread-self/ns/net'), 'open current');
    try {
      call(`netns ${this.name}`, () => native.setns(this.fd, CLONE_NEWNET), 'enter');
      const out = fn();
      if (out instanceof Promise) throw new TypeError('Netns.run takes a synchronous function');
      return out;
    } finally {
      native.setns(orig, CLONE_NEWNET);
      native.close(orig);
    }
  }

  close(): void {
    this.#handle.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

export function inNetns<T>(name: string, fn: () => T): T {
  const ns = Netns.open(name);
  try {
    return ns.run(fn);
  } finally {
    ns.close();
  }
}
