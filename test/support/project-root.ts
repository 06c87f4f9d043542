import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The repository's root, the nearest folder above this file with a package.json: the same whether
 * this runs as source under Jest or compiled into dist/ for a benchmark.
 */
function findProjectRoot(start: string): string {
  for (let folder = start; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'package.json'))) return folder;
    if (dirname(folder) === folder) throw new Error(`no package.json above ${start}`);
  }
}

export const PROJECT_ROOT = findProjectRoot(import.meta.dirname);
