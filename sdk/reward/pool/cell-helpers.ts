// What code compiled from a notebook cell expects on globalThis, for reward functions written in a cell and
// shipped to a worker as source. The kernel's compiler puts an interrupt check at the top of every loop body, a
// live check at the top of every function body and around every `await`, and turns `import()` / `require` /
// `import.meta` into calls of helpers it installs on its own thread. The names are the kernel's
// (kernel/exec/interrupt.ts, kernel/exec/cell-context.ts, kernel/ts/cell-runtime.ts), written out here because
// the SDK does not import the kernel; test/reward-pool.test.ts checks them against the kernel's. Without these
// a cell's `await import('orz')` inside the reward — the way to use a helper in a worker — would fail there.

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
  // Nothing interrupts a reward worker but the pool's terminate(), so the checks do nothing (the live check
  // hands back the awaited value it wraps). The Symbol.for name is what older kernels wrote.
  const noCheck = <T>(value?: T): T | undefined => value;
  g[Symbol.for('orz.kernel.check')] ??= noCheck;
  for (const name of ['__orz_interrupt_check', '__orz_live_check']) {
    if (!(name in g)) Object.defineProperty(globalThis, name, { value: noCheck, enumerable: false, writable: false, configurable: true });
  }
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
