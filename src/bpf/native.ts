// The addon's surface, typed. Everything here takes and returns raw fds and
// Buffers; ownership and policy live in the classes of this folder.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeMapDesc {
  name: string; type: number; keySize: number; valueSize: number;
  maxEntries: number; flags: number; internal: boolean; fd: number;
}
export interface NativeProgDesc {
  name: string; section: string; type: number; expectedAttachType: number; autoload: boolean; fd: number;
}
export interface NativeBpfObject {
  programs(): NativeProgDesc[];
  maps(): NativeMapDesc[];
  setRodata(name: string, value: Uint8Array): void;
  setMaxEntries(map: string, n: number): void;
  reuseFd(map: string, fd: number): void;
  setAutoload(prog: string, on: boolean): void;
  load(): Promise<void>;
  loadSync(): void;
  close(): void;
}
/** A libbpf ring_buffer over one ringbuf map fd; records come back as copies. */
export interface NativeRingBuffer {
  start(cb: (err: Error | null, records: Buffer[]) => void): void;
  consume(): Buffer[];
  ref(): void;
  unref(): void;
  close(): void;
}
export interface NativeTestRunArgs {
  data?: Uint8Array; dataOutSize?: number; ctx?: Uint8Array; ctxOutSize?: number;
  repeat?: number; flags?: number; cpu?: number; batchSize?: number; netnsFd?: number;
}
export interface NativeTestRunResult { retval: number; duration: number; data?: Buffer; ctx?: Buffer }
export interface NativeMapInfo { id: number; type: number; name: string; keySize: number; valueSize: number; maxEntries: number; flags: number }
export interface NativeProgInfo { id: number; type: number; name: string; tag: string; runTimeNs: number; runCount: number; jitedLen: number; xlatedLen: number }
export interface NativeLinkInfo { id: number; type: number; progId: number; ifindex: number; attachType: number }
export interface NativeXdpQuery { progId: number; drvProgId: number; skbProgId: number; hwProgId: number; attachMode: number }

export interface Native {
  BpfObject: new (source: string | Uint8Array, name?: string) => NativeBpfObject;
  RingBuffer: new (mapFd: number) => NativeRingBuffer;
  mapLookup(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): boolean;
  mapUpdate(fd: number, key: Uint8Array | null, value: Uint8Array, flags: number): void;
  mapDelete(fd: number, key: Uint8Array): boolean;
  mapLookupAndDelete(fd: number, key: Uint8Array | null, value: Uint8Array): boolean;
  mapGetNextKey(fd: number, key: Uint8Array | null, next: Uint8Array): boolean;
  mapLookupBatch(fd: number, inToken: Uint8Array | null, outToken: Uint8Array, keys: Uint8Array, values: Uint8Array,
    count: number, elemFlags: number, del: boolean): { count: number; done: boolean };
  mapUpdateBatch(fd: number, keys: Uint8Array, values: Uint8Array, count: number, elemFlags: number): number;
  mapDeleteBatch(fd: number, keys: Uint8Array, count: number): number;
  mapCreate(type: number, name: string, keySize: number, valueSize: number, maxEntries: number, flags: number, innerFd: number): number;
  mapFreeze(fd: number): void;
  progTestRun(fd: number, args: NativeTestRunArgs): NativeTestRunResult;
  progTestRunAsync(fd: number, args: NativeTestRunArgs): Promise<NativeTestRunResult>;
  linkCreate(progFd: number, target: number, attachType: number, flags: number): number;
  linkUpdate(linkFd: number, progFd: number, oldProgFd: number): void;
  linkDetach(linkFd: number): void;
  xdpQuery(ifindex: number, flags: number): NativeXdpQuery;
  tcHookCreate(ifindex: number, point: number): boolean;
  tcHookDestroy(ifindex: number, point: number): void;
  tcAttach(ifindex: number, point: number, progFd: number, handle: number, priority: number, replace: boolean):
    { handle: number; priority: number; progId: number };
  tcDetach(ifindex: number, point: number, handle: number, priority: number): boolean;
  tcQuery(ifindex: number, point: number, handle: number, priority: number): number;
  progQuery(target: number, attachType: number): number[];
  probeHelper(progType: number, expectedAttachType: number, helperId: number): number;
  probeProgLoad(progType: number, progFlags: number, expectedAttachType: number): number;
  probeAdjustRoomDecap(): number;
  probeXdpAttach(ifindex: number): number;
  objPin(fd: number, path: string): void;
  objGet(path: string): number;
  progInfo(fd: number): NativeProgInfo;
  mapInfo(fd: number): NativeMapInfo;
  progMapIds(fd: number): number[];
  linkInfo(fd: number): NativeLinkInfo;
  getFdById(kind: 'prog' | 'map' | 'link', id: number): number;
  nextId(kind: 'prog' | 'map' | 'link', start: number): number;
  close(fd: number): void;
  dup(fd: number): number;
  openRead(path: string): number;
  setns(fd: number, nstype: number): void;
  fsMagic(path: string): number;
  ifNameToIndex(name: string): number;
  ifIndexToName(index: number): string;
  ifDriver(name: string): string;
  numPossibleCpus(): number;
}

function findAddon(): string {
  // dist/bpf/native.js and src/bpf/native.ts both sit two levels under the root.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const path = join(root, 'native', 'build', 'Release', 'xvtep_native.node');
  if (!existsSync(path)) throw new Error(`native addon not built: ${path} is missing (run \`make\`)`);
  return path;
}

export const native: Native = createRequire(import.meta.url)(findAddon()) as Native;
