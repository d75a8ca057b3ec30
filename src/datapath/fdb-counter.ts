// Static and learned FDB entries counted by a BPF program (bpf/count.bpf.c,
// bpf_for_each_map_elem over xv_fdb) instead of a batch walk: the walk copies
// every 44-byte entry to user space to read one flag bit, which was most of
// a 4096-VNI scrape with 100k entries. The program is a separate object that
// borrows the data path's xv_fdb by fd, so a manager adopting pinned state
// loads it without touching the data path's programs.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';
import { BpfError, ObjectSpec, type Collection, type MapBase } from '../bpf/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const defaultCounterObjectPath = join(here, '..', '..', 'build', 'bpf', 'count.bpf.o');

export interface FdbCounts { static: number; learned: number }

export class FdbCounter {
  private constructor(private readonly coll: Collection) {}

  /** Loads the counting program over `fdb` (the data path's xv_fdb). */
  static async load(fdb: MapBase<unknown>, objectPath = defaultCounterObjectPath): Promise<FdbCounter> {
    const coll = await ObjectSpec.open(objectPath, 'xvcount').reuseMap('xv_fdb', fdb).load();
    try {
      coll.program('xv_count_fdb');
    } catch (e) {
      coll.close();
      throw e;
    }
    return new FdbCounter(coll);
  }

  count(): FdbCounts {
    // Syscall programs get their context copied in and written back in place.
    const r = this.coll.program('xv_count_fdb').testRun({ ctx: Buffer.alloc(16), ctxOutSize: 0 });
    const out = r.ctxIn;
    if (!out || out.length < 16) throw new BpfError('test run', constants.errno.EPROTO, 'program xv_count_fdb', 'no context came back');
    return { static: Number(out.readBigUInt64LE(0)), learned: Number(out.readBigUInt64LE(8)) };
  }

  /** Closes the program and its duplicate of the xv_fdb fd (the map lives on with the data path). */
  close(): void {
    this.coll.close();
  }
}
