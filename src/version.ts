// The package version, read once from package.json above dist/ (dist/ for
// the tsc output, dist/bundle/ for the fast-start bundle: the first one up).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let dir = join(dirname(fileURLToPath(import.meta.url)), '..');
while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
export const VERSION: string = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
