// This host's own learned MACs as they change, from xv_learn_ring
// (bpf/include/xvtep_abi.h): one event per new, moved or departed local
// learned entry, in batches as the data path writes them. Lost events (a
// full ring) are counted in xv_config.learnRingDrops: a consumer that sees
// that count move must walk the FDB to catch up.
import { RingBuffer, type BpfMap } from '../bpf/index.js';
import { LearnKind, learnEventCodec } from './layout.js';

export type LearnEventKind = 'new' | 'move' | 'left';

export interface LearnEvent {
  vni: number;
  mac: string;
  /** The endpoint it is learned on; 0 for 'left' (now behind a remote VTEP). */
  ifindex: number;
  kind: LearnEventKind;
}

const kinds = new Map<number, LearnEventKind>([[LearnKind.NEW, 'new'], [LearnKind.MOVE, 'move'], [LearnKind.LEFT, 'left']]);

/** One record of xv_learn_ring, or a string saying why it is not one. */
export function decodeLearnEvent(b: Buffer): LearnEvent | string {
  if (b.length !== learnEventCodec.size) return `record of ${b.length} bytes, expected ${learnEventCodec.size}`;
  const v = learnEventCodec.decode(b, 0);
  const kind = kinds.get(v.kind);
  if (!kind) return `unknown kind ${v.kind}`;
  return { vni: v.vni, mac: v.mac, ifindex: v.ifindex, kind };
}

export class LearnEvents {
  readonly #ring: RingBuffer;
  readonly #drops: () => number;
  /** Records that did not decode (a data path of another build): counted, never guessed at. */
  malformed = 0;

  constructor(ring: BpfMap, drops: () => number) {
    this.#ring = new RingBuffer(ring);
    this.#drops = drops;
  }

  /** Events lost to a full ring so far (the data path's count, never reset). */
  drops(): number {
    return this.#drops();
  }

  #decode(records: Buffer[]): LearnEvent[] {
    const out: LearnEvent[] = [];
    for (const r of records) {
      const e = decodeLearnEvent(r);
      if (typeof e === 'string') this.malformed++;
      else out.push(e);
    }
    return out;
  }

  /** Calls onEvents with each batch as the kernel signals it (see RingBuffer.start). */
  start(onEvents: (events: LearnEvent[]) => void, onError: (e: Error) => void): void {
    this.#ring.start((records) => onEvents(this.#decode(records)), onError);
  }

  /** Takes the events ready now. */
  take(): LearnEvent[] {
    return this.#decode(this.#ring.consume());
  }

  unref(): void {
    this.#ring.unref();
  }

  close(): void {
    this.#ring.close();
  }
}
