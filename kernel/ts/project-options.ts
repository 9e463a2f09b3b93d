// Compiler options for type-checking notebook cells: the project's tsconfig.json (nearest upward from the
// notebook directory) where its options make sense for cells, with the ones the kernel depends on forced.
import ts from 'typescript';
import path from 'node:path';
import { createRequire } from 'node:module';

export interface CellProjectOptions {
  options: ts.CompilerOptions;
  /** The tsconfig.json the options came from, or null when none was found (defaults used). */
  configFile: string | null;
}

const DEFAULTS: ts.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  esModuleInterop: true,
  skipLibCheck: true,
  resolveJsonModule: true,
};

/** Options a cell needs whatever the project says: cells are modules with top-level await, resolved like the kernel resolves them. */
const FORCED: ts.CompilerOptions = {
  noEmit: true,
  allowImportingTsExtensions: true,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  moduleDetection: ts.ModuleDetectionKind.Force,
  // Cells import earlier cells' names (types included) through generated imports and re-exports.
  isolatedModules: false,
  verbatimModuleSyntax: false,
  // Node's interop is what runs: the default import of a CommonJS package is module.exports.
  esModuleInterop: true,
  allowSyntheticDefaultImports: true,
  // A notebook declares names for later cells; "declared but never used" would be noise in every cell.
  noUnusedLocals: false,
  // The kernel evaluates JavaScript itself; emit-related and build-mode options do not apply.
  composite: false,
  incremental: false,
  declaration: false,
  emitDeclarationOnly: false,
  sourceMap: false,
  skipLibCheck: true,
};

/** A notebook outside any project still runs in Node: give it Node's types (console, process...) from the
 *  kernel's own installation when none are reachable from the notebook directory. */
function nodeTypesFallback(baseDir: string): ts.CompilerOptions {
  // TypeScript's automatic type roots: node_modules/@types of the directory and every parent.
  for (let dir = path.resolve(baseDir); ; dir = path.dirname(dir)) {
    if (ts.sys.fileExists(path.join(dir, 'node_modules/@types/node/package.json'))) return {};
    if (path.dirname(dir) === dir) break;
  }
  try {
    const kernelTypes = path.dirname(createRequire(import.meta.url).resolve('@types/node/package.json'));
    return { typeRoots: [path.dirname(kernelTypes)], types: ['node'] };
  } catch {
    return {};
  }
}

/** Options for a notebook in baseDir; a broken tsconfig.json is an error naming the file. */
export function cellProjectOptions(baseDir: string): CellProjectOptions {
  const configFile = ts.findConfigFile(baseDir, ts.sys.fileExists, 'tsconfig.json') ?? null;
  let options: ts.CompilerOptions = { ...DEFAULTS };
  if (configFile) {
    const read = ts.readConfigFile(configFile, ts.sys.readFile);
    if (read.error) throw new Error(`Cannot read ${configFile}: ${ts.flattenDiagnosticMessageText(read.error.messageText, '\n')}`);
    // Only compilerOptions matter; the project's include/files lists are not the notebook's files.
    const parsed = ts.parseJsonConfigFileContent({ ...read.config, files: [], include: [] }, ts.sys, path.dirname(configFile), undefined, configFile);
    const fatal = parsed.errors.filter((e) => e.category === ts.DiagnosticCategory.Error && e.code !== 18002 && e.code !== 18003);
    if (fatal.length > 0) {
      throw new Error(`Invalid ${configFile}: ${fatal.map((e) => ts.flattenDiagnosticMessageText(e.messageText, '\n')).join('; ')}`);
    }
    options = { ...DEFAULTS, ...parsed.options };
  } else {
    Object.assign(options, nodeTypesFallback(baseDir));
  }
  options = { ...options, ...FORCED };
  // Top-level await needs ES2017 or later.
  if ((options.target ?? ts.ScriptTarget.ES5) < ts.ScriptTarget.ES2017) options.target = ts.ScriptTarget.ES2022;
  delete options.outDir;
  delete options.outFile;
  delete options.tsBuildInfoFile;
  delete options.rootDir;
  delete options.rootDirs;
  delete options.declarationDir;
  return { options, configFile };
}
