import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ObjectSpec, type Collection } from '../../src/bpf/index.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function fixturePath(name: string): string {
  const p = join(root, 'build', 'fixtures', `${name}.bpf.o`);
  if (!existsSync(p)) throw new Error(`fixture ${p} is not built: run make`);
  return p;
}

export async function loadFixture(name: string, adjust?: (spec: ObjectSpec) => void): Promise<Collection> {
  const spec = ObjectSpec.open(fixturePath(name));
  adjust?.(spec);
  return spec.load();
}
