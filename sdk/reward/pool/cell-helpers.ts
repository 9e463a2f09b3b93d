// What code compiled from a notebook cell expects on globalThis, for reward functions written in a cell and
// shipped to a worker as source. The kernel's compiler puts an interrupt check at the top of every loop body
// and turns `import()` / `require` / `import.meta` into calls of helpers it installs on its own thread; the
// names are the kernel's (kernel/exec/interrupt.ts, kernel/ts/cell-runtime.ts), registered symbols, so
// agreeing on them needs no import of the kernel. Without these a cell's `await import('orz')` inside the
// reward — the way to use a helper in a worker — would fail there.

import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A specifier as a cell in `baseDir` means it: URLs as they are, paths from baseDir, packages by Node's resolution from there. */
function resolveFrom(specifier: string, baseDir: string): string {
  if (/^(file|node|data):/.test(specifier)) return specifier;
  if (specifier.startsWith('.') || isAbsolute(specifier)) return pathToFileURL(resolve(baseDir, specifier)).href;
  return pathToFileURL(createRequire(join(baseDir, '__orz_cell__.js')).resolve(specifier)).href;
}

export function installCellHelpers(): void {
  const g = globalThis as Record<string | symbol, unknown>;
  // Nothing interrupts a reward worker but the pool's terminate(), so the check does nothing.
  g[Symbol.for('orz.kernel.check')] ??= () => {};
  g[Symbol.for('orz.kernel.import')] ??= (specifier: unknown, baseDir: string, options?: ImportCallOptions) =>
    options === undefined ? import(resolveFrom(String(specifier), baseDir)) : import(resolveFrom(String(specifier), baseDir), options);
  g[Symbol.for('orz.kernel.require')] ??= (specifier: string, baseDir: string) => createRequire(join(baseDir, '__orz_cell__.js'))(specifier);
  g[Symbol.for('orz.kernel.importMeta')] ??= (baseDir: string) => {
    const filename = join(baseDir, '__orz_cell__.ts');
    return { url: pathToFileURL(filename).href, dirname: baseDir, filename, resolve: (s: string) => resolveFrom(s, baseDir) };
  };
  // tsx compiles with keepNames, which wraps nested functions in `__name(fn, "name")`, a helper of the defining
  // module; source shipped from a .ts file needs it to exist here too.
  g['__name'] ??= (target: object, value: string) => Object.defineProperty(target, 'name', { value, configurable: true });
}
