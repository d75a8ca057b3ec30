// The control plane's view of the ABI (src/datapath/layout.ts: codecs, enum
// tables, constants) against the built data path object's BTF and the ABI
// header's macros: every struct field's name, offset, size and byte order,
// every enum name and value. Needs no root: it reads files.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ABI } from '../../src/datapath/index.js';
import { checkAbi, readBtf, readMacros, type BtfType } from '../helpers/abi.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const object = join(root, 'build', 'bpf', 'xvtep.bpf.o');
const header = join(root, 'bpf', 'include', 'xvtep_abi.h');

describe('ABI: layout.ts against the object BTF and xvtep_abi.h', () => {
  if (!existsSync(object)) throw new Error(`${object} missing: run make`);
  const btf = readBtf(object);
  const macros = readMacros(header, [join(root, 'bpf', 'include'), '/usr/include/x86_64-linux-gnu']);

  it('every struct, enum and constant layout.ts mirrors agrees', () => {
    expect(checkAbi(ABI, btf, macros)).toEqual([]);
  });

  it('covers the whole ABI: every map key/value struct and both enums', () => {
    expect(Object.keys(ABI.structs).sort()).toEqual([
      'xv_addr_key', 'xv_bum', 'xv_config', 'xv_ep_info', 'xv_fdb_entry', 'xv_fdb_key', 'xv_learn_event', 'xv_neigh_val',
      'xv_peer_val', 'xv_stats', 'xv_vni_info',
    ]);
    expect(ABI.enums.xv_drop_reason.names.length).toBeGreaterThan(10);
    expect(macros.get('XV_VNI_F_PROXY_ND')).toBe(8);
  });

  // The check can fail: the same BTF with two fields swapped, an enum
  // reordered, a constant changed must each be reported.
  const mutated = (f: (t: BtfType) => BtfType | undefined) =>
    new Map([...btf].map(([id, t]) => [id, f(structuredClone(t)) ?? t]));

  it('reports swapped struct fields (xv_config.ttl and tos)', () => {
    const broken = mutated((t) => {
      if (t.kind !== 'STRUCT' || t.name !== 'xv_config') return undefined;
      const m = t.members!;
      const a = m.findIndex((x) => x.name === 'ttl'), b = m.findIndex((x) => x.name === 'tos');
      [m[a]!.name, m[b]!.name] = [m[b]!.name, m[a]!.name];
      return t;
    });
    expect(checkAbi(ABI, broken, macros)).toEqual([
      'xv_config.tos: member 6 is tos in BTF, ttl in the codec',
      'xv_config.ttl: member 7 is ttl in BTF, tos in the codec',
    ]);
  });

  it('reports a field that moved or changed size, and a byte-order mismatch', () => {
    const broken = mutated((t) => {
      if (t.kind !== 'STRUCT' || t.name !== 'xv_fdb_entry') return undefined;
      t.members!.find((x) => x.name === 'updated_ns')!.bits_offset += 64;
      return t;
    });
    expect(checkAbi(ABI, broken, macros)).toEqual(['xv_fdb_entry.updated_ns: offset 32 in BTF, 24 in the codec']);
    const be = [...btf.values()].find((t) => t.kind === 'TYPEDEF' && t.name === '__be16')!;
    const u16 = [...btf.values()].find((t) => t.kind === 'TYPEDEF' && t.name === '__u16')!;
    const swapped = mutated((t) => {
      if (t.kind !== 'STRUCT' || t.name !== 'xv_config') return undefined;
      t.members!.find((x) => x.name === 'udp_port')!.type_id = u16.id;
      t.members!.find((x) => x.name === 'underlay_mtu')!.type_id = be.id;
      return t;
    });
    expect(checkAbi(ABI, swapped, macros)).toEqual([
      'xv_config.udp_port: __u16 in C, the codec reads BE',
      'xv_config.underlay_mtu: __be16 in C, the codec reads LE',
    ]);
  });

  it('reports a reordered enum and a constant that differs', () => {
    const broken = mutated((t) => {
      if (t.kind !== 'ENUM' || t.name !== 'xv_event') return undefined;
      const v = t.values!;
      [v[2]!.val, v[3]!.val] = [v[3]!.val, v[2]!.val];
      return t;
    });
    expect(checkAbi(ABI, broken, macros)).toEqual([
      'enum xv_event: XV_EV_LEARN_NEW = 3 in BTF, 2 in layout.ts',
      'enum xv_event: XV_EV_LEARN_MOVE = 2 in BTF, 3 in layout.ts',
    ]);
    const m2 = new Map(macros).set('XV_FDB_F_LOCAL', 4).set('XV_VNI_F_NEW', 16);
    expect(checkAbi(ABI, btf, m2)).toEqual([
      'XV_FDB_F_LOCAL = 4 in the header, 2 in layout.ts',
      'XV_VNI_F_NEW = 16 in the header, not in layout.ts',
    ]);
  });
});
