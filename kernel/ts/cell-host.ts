// The LanguageServiceHost behind CellLanguageService: in-memory cell files over the real file system.
// Speed matters (completion on every Tab): versions let the service reuse every unchanged source file, disk
// files under node_modules (and TypeScript's lib files) are assumed not to change while the kernel runs,
// and one document registry is shared by all services of the process so a kernel restart re-parses nothing.
import ts from 'typescript';
import fs from 'node:fs';

export const sharedDocumentRegistry: ts.DocumentRegistry = ts.createDocumentRegistry(ts.sys.useCaseSensitiveFileNames);

interface VirtualFile { text: string; version: number }

/** In-memory files, each with a version bumped on every change. */
export class VirtualFiles {
  readonly #files = new Map<string, VirtualFile>();

  set(fileName: string, text: string): void {
    const old = this.#files.get(fileName);
    if (old?.text === text) return;
    this.#files.set(fileName, { text, version: (old?.version ?? 0) + 1 });
  }
  get(fileName: string): VirtualFile | undefined {
    return this.#files.get(fileName);
  }
  has(fileName: string): boolean {
    return this.#files.has(fileName);
  }
}

const STABLE_PATH = /[\\/]node_modules[\\/]/;

/** Version of a disk file: its mtime, except for installed packages which are taken as fixed. */
function diskVersion(fileName: string): string {
  if (STABLE_PATH.test(fileName)) return '0';
  try {
    return String(fs.statSync(fileName).mtimeMs);
  } catch {
    return 'missing';
  }
}

export function createCellHost(opts: {
  baseDir: string;
  options: ts.CompilerOptions;
  files: VirtualFiles;
  rootFileNames(): string[];
}): ts.LanguageServiceHost {
  const { files } = opts;
  const diskSnapshots = new Map<string, { version: string; snapshot: ts.IScriptSnapshot }>();
  return {
    getCompilationSettings: () => opts.options,
    getScriptFileNames: () => opts.rootFileNames(),
    getScriptVersion: (fileName) => {
      const v = files.get(fileName);
      return v ? String(v.version) : diskVersion(fileName);
    },
    getScriptSnapshot: (fileName) => {
      const v = files.get(fileName);
      if (v) return ts.ScriptSnapshot.fromString(v.text);
      const version = diskVersion(fileName);
      const cached = diskSnapshots.get(fileName);
      if (cached?.version === version) return cached.snapshot;
      const text = ts.sys.readFile(fileName);
      if (text === undefined) return undefined;
      const snapshot = ts.ScriptSnapshot.fromString(text);
      diskSnapshots.set(fileName, { version, snapshot });
      return snapshot;
    },
    getCurrentDirectory: () => opts.baseDir,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (fileName) => files.has(fileName) || ts.sys.fileExists(fileName),
    readFile: (fileName, encoding) => files.get(fileName)?.text ?? ts.sys.readFile(fileName, encoding),
    readDirectory: (...args) => ts.sys.readDirectory(...args),
    directoryExists: (dir) => ts.sys.directoryExists(dir),
    getDirectories: (dir) => ts.sys.getDirectories(dir),
    realpath: (p) => (files.has(p) ? p : ts.sys.realpath?.(p) ?? p),
    useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
  };
}
