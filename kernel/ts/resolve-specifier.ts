// Resolves an import specifier written in a notebook cell to the URL that `import()` should load, the way
// Node's ESM loader would from a module living in the notebook's directory: builtins, relative paths,
// package self-reference, "exports"/"imports" maps with the conditions of an ESM import in Node, and
// node_modules lookup upward. Cells are evaluated as scripts (no module referrer), so the kernel has to do
// this itself and hand absolute file:// URLs to import().
//
// Deliberately more lenient than Node where tsx would be too: extensionless relative paths and `.js`
// specifiers that name a `.ts` source are probed, since the kernel process runs with tsx registered.
import fs from 'node:fs';
import path from 'node:path';
import { isBuiltin } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Conditions of an ESM `import` in Node, in the order Node matches them (object key order decides). */
export const IMPORT_CONDITIONS: ReadonlySet<string> = new Set(['node', 'import', 'default']);

export class ModuleResolveError extends Error {
  readonly specifier: string;
  constructor(specifier: string, baseDir: string, reason: string) {
    super(`Cannot resolve module '${specifier}' from ${baseDir}: ${reason}`);
    this.name = 'ModuleResolveError';
    this.specifier = specifier;
  }
}

/** The URL (`node:...` or `file:///...`) that `specifier` names for code in `baseDir`. Throws ModuleResolveError. */
export function resolveSpecifier(specifier: string, baseDir: string): string {
  if (specifier.startsWith('node:')) return specifier;
  if (isBuiltin(specifier)) return `node:${specifier}`;
  const fail = (reason: string): never => { throw new ModuleResolveError(specifier, baseDir, reason); };
  let file: string | null;
  if (specifier.startsWith('file:')) {
    file = resolveFilePath(fileURLToPath(specifier));
    if (!file) fail('no such file');
  } else if (isPathSpecifier(specifier)) {
    file = resolveFilePath(path.resolve(baseDir, specifier));
    if (!file) fail('no such file (tried the extensions .ts, .tsx, .mts, .js, .mjs, .cjs, .json and index files)');
  } else if (specifier.startsWith('#')) {
    file = resolvePackageImports(specifier, baseDir, fail);
  } else if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) {
    return specifier; // data:, http: ... are left to the loader
  } else {
    file = resolvePackage(specifier, baseDir, fail);
  }
  return pathToFileURL(fs.realpathSync(file!)).href;
}

function isPathSpecifier(s: string): boolean {
  return s === '.' || s === '..' || s.startsWith('./') || s.startsWith('../') || s.startsWith('/');
}

const PROBE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json'];
const JS_TO_TS: Record<string, string[]> = { '.js': ['.ts', '.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'], '.jsx': ['.tsx'] };

function isFile(p: string): boolean {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}
function isDirectory(p: string): boolean {
  try { return fs.statSync(p).isDirectory(); } catch { return false; }
}
function readPackageJson(dir: string): Record<string, unknown> | null {
  const file = path.join(dir, 'package.json');
  if (!isFile(file)) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`Invalid JSON in ${file}: ${(e as Error).message}`);
  }
}

/** An existing file for `p`: itself, a TypeScript source behind a .js name, p + extension, or a directory's main/index. */
function resolveFilePath(p: string): string | null {
  if (isFile(p)) return p;
  const ext = path.extname(p);
  for (const tsExt of JS_TO_TS[ext] ?? []) {
    const candidate = p.slice(0, -ext.length) + tsExt;
    if (isFile(candidate)) return candidate;
  }
  for (const e of PROBE_EXTENSIONS) if (isFile(p + e)) return p + e;
  if (isDirectory(p)) {
    const pkg = readPackageJson(p);
    if (pkg && typeof pkg.main === 'string') {
      const main = resolveFilePath(path.resolve(p, pkg.main));
      if (main) return main;
    }
    for (const e of PROBE_EXTENSIONS) if (isFile(path.join(p, 'index' + e))) return path.join(p, 'index' + e);
  }
  return null;
}

function splitPackageSpecifier(specifier: string): { name: string; subpath: string } | null {
  const parts = specifier.split('/');
  const nameParts = specifier.startsWith('@') ? 2 : 1;
  if (parts.length < nameParts || parts.slice(0, nameParts).some((p) => p === '')) return null;
  const name = parts.slice(0, nameParts).join('/');
  const rest = parts.slice(nameParts).join('/');
  return { name, subpath: rest === '' ? '.' : './' + rest };
}

function resolvePackage(specifier: string, baseDir: string, fail: (r: string) => never): string {
  const parsed = splitPackageSpecifier(specifier);
  if (!parsed) fail('not a valid package name');
  const { name, subpath } = parsed!;
  // Self-reference: the nearest package.json names this package and has "exports" (e.g. 'orz' inside the repo).
  const own = nearestPackage(baseDir);
  if (own && own.pkg.name === name && own.pkg.exports !== undefined) {
    return resolveExports(own.dir, own.pkg.exports, subpath, fail);
  }
  for (let dir = path.resolve(baseDir); ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, 'node_modules', name);
    if (isDirectory(pkgDir)) {
      const pkg = readPackageJson(pkgDir) ?? {};
      if (pkg.exports !== undefined && pkg.exports !== null) return resolveExports(pkgDir, pkg.exports, subpath, fail);
      const target = subpath === '.' ? pkgDir : path.join(pkgDir, subpath);
      const file = resolveFilePath(target);
      if (!file) fail(`package ${pkgDir} has no file for '${subpath}'`);
      return file!;
    }
    if (path.dirname(dir) === dir) break;
  }
  return fail(`package '${name}' not found in any node_modules from ${baseDir} upward`);
}

function nearestPackage(fromDir: string): { dir: string; pkg: Record<string, unknown> } | null {
  for (let dir = path.resolve(fromDir); ; dir = path.dirname(dir)) {
    const pkg = readPackageJson(dir);
    if (pkg) return { dir, pkg };
    if (path.dirname(dir) === dir) return null;
  }
}

function resolvePackageImports(specifier: string, baseDir: string, fail: (r: string) => never): string {
  const own = nearestPackage(baseDir);
  const imports = own?.pkg.imports;
  if (!own || !imports || typeof imports !== 'object') fail('no package.json "imports" field applies');
  const file = resolveMapEntry(own!.dir, imports as Record<string, unknown>, specifier);
  if (!file) fail(`no "imports" entry of ${path.join(own!.dir, 'package.json')} matches`);
  return file!;
}

function resolveExports(pkgDir: string, exports: unknown, subpath: string, fail: (r: string) => never): string {
  const map = isSubpathMap(exports) ? (exports as Record<string, unknown>) : { '.': exports };
  const file = resolveMapEntry(pkgDir, map, subpath);
  if (!file) fail(`"exports" of ${path.join(pkgDir, 'package.json')} has no entry for '${subpath}' under the conditions node, import`);
  return file!;
}

function isSubpathMap(exports: unknown): boolean {
  return typeof exports === 'object' && exports !== null && !Array.isArray(exports) &&
    Object.keys(exports).some((k) => k.startsWith('.'));
}

/** Exact key first, else the `*` pattern with the longest prefix (Node's PACKAGE_IMPORTS_EXPORTS_RESOLVE). */
function resolveMapEntry(pkgDir: string, map: Record<string, unknown>, key: string): string | null {
  if (Object.hasOwn(map, key) && !key.includes('*')) return resolveTarget(pkgDir, map[key], null);
  let best: { key: string; match: string } | null = null;
  for (const k of Object.keys(map)) {
    const star = k.indexOf('*');
    if (star < 0) continue;
    const prefix = k.slice(0, star);
    const suffix = k.slice(star + 1);
    if (key.length >= k.length && key.startsWith(prefix) && key.endsWith(suffix) && (!best || prefix.length > best.key.indexOf('*'))) {
      best = { key: k, match: key.slice(prefix.length, key.length - suffix.length) };
    }
  }
  return best ? resolveTarget(pkgDir, map[best.key], best.match) : null;
}

function resolveTarget(pkgDir: string, target: unknown, patternMatch: string | null): string | null {
  if (typeof target === 'string') {
    if (!target.startsWith('./')) return null;
    const rel = patternMatch === null ? target : target.replaceAll('*', patternMatch);
    const file = path.join(pkgDir, rel);
    return isFile(file) ? file : null;
  }
  if (Array.isArray(target)) {
    for (const t of target) {
      const file = resolveTarget(pkgDir, t, patternMatch);
      if (file) return file;
    }
    return null;
  }
  if (typeof target === 'object' && target !== null) {
    for (const [condition, sub] of Object.entries(target)) {
      if (!IMPORT_CONDITIONS.has(condition)) continue;
      const file = resolveTarget(pkgDir, sub, patternMatch);
      if (file) return file;
    }
  }
  return null;
}
