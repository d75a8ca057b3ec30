// Output buffers kept from one scrape to the next. A 4096-VNI scrape writes
// about a megabyte; fresh buffers every time were freed only when the GC got
// to them, and the allocator's arenas grew by tens of megabytes of RSS until
// they held several scrapes' worth. Chunks go back to the pool once the
// response that carried them is finished.
export const CHUNK_BYTES = 64 * 1024;

export class ChunkPool {
  readonly #free: Buffer[] = [];
  /** keep: how many free chunks to hold at most (beyond: left to the GC). */
  constructor(private readonly keep = 32) {}

  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
  }

  /** Returns chunks (or views of them) that were taken from this pool; other buffers are ignored. */
  give(chunks: readonly Buffer[]): void {
    for (const c of chunks) {
      if (c.buffer.byteLength !== CHUNK_BYTES || this.#free.length >= this.keep) continue;
      const whole = Buffer.from(c.buffer, 0, CHUNK_BYTES);
      if (!this.#free.some((f) => f.buffer === whole.buffer)) this.#free.push(whole);
    }
  }

  get free(): number {
    return this.#free.length;
  }
}
