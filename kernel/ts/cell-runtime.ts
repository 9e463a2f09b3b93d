// Runtime helpers that compiled cells call. Code evaluated through the inspector (Runtime.evaluate) has no
// module referrer, so a bare `import()` in it fails with ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING; the compiled
// cell calls these functions instead, which live in this real module where import() and createRequire work.
// They are installed on globalThis under registered symbols so the compiled text can reach them by name.
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { resolveSpecifier } from './resolve-specifier.ts';

const IMPORT_KEY = 'orz.kernel.import';
const REQUIRE_KEY = 'orz.kernel.require';
const IMPORT_META_KEY = 'orz.kernel.importMeta';

/** Expressions the compiler writes into cells to reach the helpers. */
export const IMPORT_HELPER = `globalThis[Symbol.for(${JSON.stringify(IMPORT_KEY)})]`;
export const REQUIRE_HELPER = `globalThis[Symbol.for(${JSON.stringify(REQUIRE_KEY)})]`;
export const IMPORT_META_HELPER = `globalThis[Symbol.for(${JSON.stringify(IMPORT_META_KEY)})]`;

/** import(specifier) for a cell of a notebook in baseDir: URLs load as they are, anything else is resolved from baseDir first. */
async function cellImport(specifier: unknown, baseDir: string, options?: ImportCallOptions): Promise<unknown> {
  const spec = String(specifier);
  const url = /^(file|node|data):/.test(spec) ? spec : resolveSpecifier(spec, baseDir);
  return options === undefined ? import(url) : import(url, options);
}

/** require(specifier) with CommonJS resolution from baseDir (for `import x = require('p')`). */
function cellRequire(specifier: string, baseDir: string): unknown {
  return createRequire(path.join(baseDir, '__orz_cell__.js'))(specifier);
}

/** What `import.meta` means in a cell: the notebook's directory is the module's directory. */
function cellImportMeta(baseDir: string): { url: string; dirname: string; filename: string; resolve(s: string): string } {
  const filename = path.join(baseDir, '__orz_cell__.ts');
  return { url: pathToFileURL(filename).href, dirname: baseDir, filename, resolve: (s: string) => resolveSpecifier(s, baseDir) };
}

/** Idempotent; compileCell calls it so that whoever compiles a cell can also run it. */
export function installCellRuntime(): void {
  const g = globalThis as Record<symbol, unknown>;
  g[Symbol.for(IMPORT_KEY)] ??= cellImport;
  g[Symbol.for(REQUIRE_KEY)] ??= cellRequire;
  g[Symbol.for(IMPORT_META_KEY)] ??= cellImportMeta;
}
