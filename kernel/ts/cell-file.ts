// How a cell is presented to the TypeScript language service. Each cell is a module file in the notebook's
// directory (so imports resolve from there). Names declared by earlier cells reach it through a generated
// import, written on the cell's first line before its text, from the newest cell declaring each name, minus
// the names the cell declares itself: redeclaring a name is then no conflict, and the newest declaration
// wins, as in the REPL. A committed cell also exports its own top-level names for the cells after it.
import path from 'node:path';
import type { CellName, NameKind } from './cell-names.ts';

export interface CellFile {
  fileName: string;
  /** The cell's own source. */
  source: string;
  /** Length of the generated prefix: offset in the file of the cell's first character. */
  offset: number;
  /** Names imported by the prefix, with the kind of their newest declaration. */
  imported: ReadonlyMap<string, NameKind>;
}

export interface Declaration { fileName: string; kind: NameKind }

/** The file of the index-th cell (1-based) of a service. `service` keeps the names of two services apart:
 *  the document registry they share takes equal names for equal files. */
export const cellFileName = (baseDir: string, service: number, index: number): string =>
  path.join(baseDir, `__orz_cell_${service}_${index}__.ts`);

const CELL_FILE_PATTERN = /__orz_cell_\d+_(\d+)__\.ts$/;

/** The 1-based number of the cell a generated file holds, or null for other files. */
export function cellIndexOf(fileName: string): number | null {
  const m = CELL_FILE_PATTERN.exec(fileName);
  return m ? Number(m[1]) : null;
}

/** `import { a, b } from "./__orz_cell_1__.ts";...` for every earlier name the cell does not declare itself. */
export function importPrefix(latest: ReadonlyMap<string, Declaration>, own: ReadonlySet<string>): { text: string; imported: Map<string, NameKind> } {
  const byFile = new Map<string, string[]>();
  const imported = new Map<string, NameKind>();
  for (const [name, decl] of latest) {
    if (own.has(name)) continue;
    imported.set(name, decl.kind);
    const names = byFile.get(decl.fileName) ?? [];
    names.push(name);
    byFile.set(decl.fileName, names);
  }
  const text = [...byFile].map(([file, names]) => `import { ${names.join(', ')} } from ${JSON.stringify('./' + path.basename(file))};`).join(' ');
  return { text: text === '' ? '' : text + ' ', imported };
}

/** `export { ... }` for the names a committed cell declares but does not export itself. */
export function exportSuffix(names: readonly CellName[]): string {
  const missing = names.filter((n) => !n.exported).map((n) => n.name);
  return missing.length === 0 ? '' : `\nexport { ${missing.join(', ')} };\n`;
}
