// Watches the config file through its directory: editors that save by
// writing a new file and renaming it over the old one replace the inode, and
// a watch on the file itself would go deaf after the first save.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export function watchFile(path: string, debounceMs: number, onChange: () => void): { close(): void } {
  const abs = resolve(path);
  const name = basename(abs);
  let timer: NodeJS.Timeout | undefined;
  const w: FSWatcher = watch(dirname(abs), { persistent: false }, (_event, file) => {
    if (file !== null && file.toString() !== name) return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  return {
    close() {
      clearTimeout(timer);
      w.close();
    },
  };
}
