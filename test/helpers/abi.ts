// The ABI check of test/datapath/abi.test.ts as plain functions: read an
// object's BTF with bpftool, read a header's macros with the C preprocessor,
// and list every disagreement with what src/datapath/layout.ts declares. Pure
// over its inputs, so the test can also feed it a deliberately broken BTF.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Codec } from '../../src/bpf/index.js';

export interface BtfMember { name: string; type_id: number; bits_offset: number }
export interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: BtfMember[];
  values?: Array<{ name: string; val: number }>;
}

interface StructLike {
  size: number;
  fields: ReadonlyArray<{ name: string; offset: number; codec: Codec<unknown> }>;
}
export interface AbiDecl {
  structs: Record<string, StructLike>;
  enums: Record<string, { prefix: string; names: readonly string[]; max: number }>;
  constants: Record<string, number>;
  families: readonly string[];
}

const bpftool = () => ['/usr/sbin/bpftool', '/usr/bin/bpftool', '/sbin/bpftool'].find(existsSync) ?? 'bpftool';

/** The object's BTF types, indexed by id (bpftool's JSON dump). */
export function readBtf(objectPath: string): Map<number, BtfType> {
  const out = execFileSync(bpftool(), ['btf', 'dump', 'file', objectPath, '-j'], { encoding: 'utf8' });
  const types = (JSON.parse(out) as { types: BtfType[] }).types;
  return new Map(types.map((t) => [t.id, t]));
}

/** Integer macros of a header as the preprocessor sees them (`clang -E -dM`). */
export function readMacros(header: string, includeDirs: string[]): Map<string, number> {
  const args = ['-target', 'bpf', '-E', '-dM', ...includeDirs.flatMap((d) => ['-I', d]), '-x', 'c', header];
  const out = execFileSync('clang', args, { encoding: 'utf8' });
  const macros = new Map<string, number>();
  for (const line of out.split('\n')) {
    const m = /^#define (XV\w*|XVTEP\w*) (.+)$/.exec(line);
    if (!m) continue;
    // literal integers and shifts only: (1U << 3), 0xffffffffU, 4096
    const expr = m[2]!.replace(/\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b/g, '$1');
    if (!/^[\d\sxa-fA-F()<|+]+$/.test(expr)) continue;
    macros.set(m[1]!, Number(Function(`return (${expr}) >>> 0`)()));
  }
  return macros;
}

/** Size of a BTF type and the name of the typedef it was reached through first. */
function resolve(btf: Map<number, BtfType>, id: number): { size: number; typedef?: string } {
  let typedef: string | undefined;
  for (let t = btf.get(id); t; t = btf.get(t.type_id!)) {
    if (t.kind === 'TYPEDEF') typedef ??= t.name;
    else if (t.kind === 'ARRAY') return { size: t.nr_elems! * resolve(btf, t.type_id!).size, typedef };
    else if (t.size !== undefined) return { size: t.size, typedef };
    else if (!['CONST', 'VOLATILE', 'RESTRICT'].includes(t.kind)) break;
  }
  throw new Error(`BTF type ${id}: no size`);
}

const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The byte order a codec reads in, if it is a primitive integer. */
function orderOf(codec: Codec<unknown>): 'BE' | 'LE' | undefined {
  const read = (codec as { method?: { read: string } }).method?.read;
  if (!read || read === 'readUInt8') return undefined;
  return read.endsWith('BE') ? 'BE' : 'LE';
}

/** Every disagreement between the declarations and the BTF/macros; [] = in sync. */
export function checkAbi(decl: AbiDecl, btf: Map<number, BtfType>, macros: Map<string, number>): string[] {
  const errors: string[] = [];
  const byName = (kind: string, name: string) => [...btf.values()].find((t) => t.kind === kind && t.name === name);

  for (const [cName, codec] of Object.entries(decl.structs)) {
    const t = byName('STRUCT', cName);
    if (!t) {
      errors.push(`struct ${cName}: not in the object's BTF`);
      continue;
    }
    if (t.size !== codec.size) errors.push(`struct ${cName}: size ${t.size} in BTF, codec ${codec.size}`);
    const members = t.members ?? [];
    const n = Math.max(members.length, codec.fields.length);
    for (let i = 0; i < n; i++) {
      const m = members[i], f = codec.fields[i];
      if (!m || !f) {
        errors.push(`struct ${cName}: member ${i} is ${m ? m.name : 'missing'} in BTF, ${f ? snake(f.name) : 'missing'} in the codec`);
        continue;
      }
      const where = `${cName}.${m.name}`;
      if (snake(f.name) !== m.name) errors.push(`${where}: member ${i} is ${m.name} in BTF, ${f.name} in the codec`);
      if (m.bits_offset !== f.offset * 8) errors.push(`${where}: offset ${m.bits_offset / 8} in BTF, ${f.offset} in the codec`);
      const { size, typedef } = resolve(btf, m.type_id);
      if (size !== f.codec.size) errors.push(`${where}: size ${size} in BTF, ${f.codec.size} in the codec`);
      const order = orderOf(f.codec);
      const want = typedef?.startsWith('__be') ? 'BE' : /^__u(16|32|64)$/.test(typedef ?? '') ? 'LE' : undefined;
      if (order && want && order !== want) errors.push(`${where}: ${typedef} in C, the codec reads ${order}`);
    }
  }

  for (const [cName, e] of Object.entries(decl.enums)) {
    const t = byName('ENUM', cName);
    if (!t) {
      errors.push(`enum ${cName}: not in the object's BTF`);
      continue;
    }
    const values = new Map((t.values ?? []).map((v) => [v.name, v.val]));
    const want = new Map(e.names.map((name, i) => [e.prefix + name.toUpperCase(), i]));
    want.set(`${e.prefix}_MAX`, e.max);
    for (const [name, val] of want) {
      if (!values.has(name)) errors.push(`enum ${cName}: ${name} (= ${val} in layout.ts) not in BTF`);
      else if (values.get(name) !== val) errors.push(`enum ${cName}: ${name} = ${values.get(name)} in BTF, ${val} in layout.ts`);
    }
    for (const [name, val] of values) if (!want.has(name)) errors.push(`enum ${cName}: ${name} = ${val} in BTF, not in layout.ts`);
  }

  for (const [name, val] of Object.entries(decl.constants)) {
    if (!macros.has(name)) errors.push(`${name}: not a macro of the header`);
    else if (macros.get(name) !== val) errors.push(`${name} = ${macros.get(name)} in the header, ${val} in layout.ts`);
  }
  for (const prefix of decl.families) {
    for (const [name, val] of macros) {
      if (name.startsWith(prefix) && !(name in decl.constants)) errors.push(`${name} = ${val} in the header, not in layout.ts`);
    }
  }
  return errors;
}
