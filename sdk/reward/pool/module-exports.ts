// A module namespace's exports, seen through CommonJS interop: a .ts file outside any "type": "module" package
// is compiled by tsx to CommonJS when a worker thread imports it (tsx's ESM hooks on a worker do not do what
// `--import tsx` does on the main thread), so its exports arrive as `default`, flagged __esModule.

export function moduleExports(ns: Record<string, unknown>): Record<string, unknown> {
  const wrapped = ns['default'] as { __esModule?: unknown } | null | undefined;
  const interop = Object.keys(ns).length === 1 && typeof wrapped === 'object' && wrapped !== null && wrapped.__esModule === true;
  return interop ? (wrapped as Record<string, unknown>) : ns;
}
