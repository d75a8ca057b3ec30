// Every JS handle owns exactly one fd. Closing it (close(), `using`, or the
// garbage collector through the FinalizationRegistry) releases the kernel
// reference. For a link that is not pinned, that reference was the last one:
// the program detaches. Pinned objects live on in bpffs until unpinned.
import { constants } from 'node:os';
import { BpfError } from './errors.js';
import { native } from './native.js';

const finalizer = new FinalizationRegistry<number>((fd) => {
  try {
    native.close(fd);
  } catch {
    // Nothing to tell: the owner is gone.
  }
});

export class FdHandle {
  #fd: number;
  constructor(fd: number, readonly label: string) {
    this.#fd = fd;
    finalizer.register(this, fd, this);
  }

  get fd(): number {
    if (this.#fd < 0) throw new BpfError('use', constants.errno.EBADF, this.label, 'the handle is closed');
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  close(): void {
    if (this.#fd < 0) return;
    finalizer.unregister(this);
    const fd = this.#fd;
    this.#fd = -1;
    native.close(fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
