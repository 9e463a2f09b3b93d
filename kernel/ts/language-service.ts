// Type checking, completion and inspection of notebook cells with one long-lived TypeScript
// LanguageService. Committed cells (those that ran) are module files whose top-level names the next cell
// imports through a generated prefix (see cell-file.ts); the cell being edited is one more such file.
import ts from 'typescript';
import path from 'node:path';
import { cellNames } from './cell-names.ts';
import { cellFileName, cellIndexOf, exportSuffix, importPrefix, type CellFile, type Declaration } from './cell-file.ts';
import { createCellHost, sharedDocumentRegistry, VirtualFiles } from './cell-host.ts';
import { cellProjectOptions } from './project-options.ts';
import { KERNEL_GLOBALS_DTS, KERNEL_GLOBALS_FILE_NAME } from './kernel-globals.ts';
import { lineAndColumn } from './code-points.ts';
import { completionsAt, type CellCompletions } from './completions.ts';
import { inspectAt, type CellInspection } from './inspect.ts';

/** A type error in a cell, 1-based line and column of the cell. */
export interface CellDiagnostic { line: number; column: number; message: string; code: number }

/** Errors that REPL semantics make wrong: cells do run top-level await and for-await. */
const NOT_ERRORS_IN_CELLS = new Set([1375, 1378, 1431, 1432]);
/** "Cannot assign to 'x' because it is an import." */
const ASSIGN_TO_IMPORT = 2632;
/** What TypeScript would say about assigning to an earlier cell's declaration of this kind (let/var: nothing). */
const ASSIGNMENT_ERRORS: Partial<Record<Declaration['kind'], { code: number; message: (n: string) => string }>> = {
  const: { code: 2588, message: (n) => `Cannot assign to '${n}' because it is a constant.` },
  import: { code: ASSIGN_TO_IMPORT, message: (n) => `Cannot assign to '${n}' because it is an import.` },
  class: { code: 2629, message: (n) => `Cannot assign to '${n}' because it is a class.` },
  enum: { code: 2628, message: (n) => `Cannot assign to '${n}' because it is an enum.` },
  function: { code: 2630, message: (n) => `Cannot assign to '${n}' because it is a function.` },
  namespace: { code: 2631, message: (n) => `Cannot assign to '${n}' because it is a namespace.` },
};

let servicesCreated = 0;

const parse = (source: string): ts.SourceFile => ts.createSourceFile('cell.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);

export class CellLanguageService {
  readonly baseDir: string;
  /** The tsconfig.json whose options apply, or null. */
  readonly configFile: string | null;
  readonly #files = new VirtualFiles();
  readonly #committed: string[] = [];
  /** Each name any committed cell declared -> the newest cell declaring it. */
  readonly #latest = new Map<string, Declaration>();
  readonly #globalsFile: string;
  readonly #service: ts.LanguageService;
  readonly #id = ++servicesCreated;
  #draft: CellFile | null = null;

  constructor(opts: { baseDir: string }) {
    this.baseDir = path.resolve(opts.baseDir);
    const { options, configFile } = cellProjectOptions(this.baseDir);
    this.configFile = configFile;
    this.#globalsFile = path.join(this.baseDir, KERNEL_GLOBALS_FILE_NAME);
    this.#files.set(this.#globalsFile, KERNEL_GLOBALS_DTS);
    const host = createCellHost({
      baseDir: this.baseDir,
      options,
      files: this.#files,
      rootFileNames: () => [this.#globalsFile, ...this.#committed, ...(this.#draft ? [this.#draft.fileName] : [])],
    });
    this.#service = ts.createLanguageService(host, sharedDocumentRegistry);
  }

  /** The cell being edited, as the file after the committed ones. */
  #fileFor(source: string): CellFile {
    if (this.#draft?.source === source) return this.#draft;
    const fileName = cellFileName(this.baseDir, this.#id, this.#committed.length + 1);
    const own = new Set(cellNames(parse(source)).map((n) => n.name));
    const prefix = importPrefix(this.#latest, own);
    this.#files.set(fileName, prefix.text + source);
    this.#draft = { fileName, source, offset: prefix.text.length, imported: prefix.imported };
    return this.#draft;
  }

  /** Type errors of `source` as the next cell, positions in the cell. */
  diagnostics(source: string): CellDiagnostic[] {
    const file = this.#fileFor(source);
    const all = [...this.#service.getSyntacticDiagnostics(file.fileName), ...this.#service.getSemanticDiagnostics(file.fileName)];
    const out: CellDiagnostic[] = [];
    for (const d of all) {
      if (d.start === undefined || d.start < file.offset || NOT_ERRORS_IN_CELLS.has(d.code)) continue;
      if (d.category !== ts.DiagnosticCategory.Error && d.category !== ts.DiagnosticCategory.Warning) continue;
      const start = d.start - file.offset;
      let { code } = d;
      let message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (code === ASSIGN_TO_IMPORT) {
        // The generated import makes every earlier name read-only; say what the REPL would mean instead.
        const name = source.slice(start, start + (d.length ?? 0));
        const decl = file.imported.has(name) ? this.#latest.get(name) : undefined;
        if (decl) {
          const replacement = ASSIGNMENT_ERRORS[decl.kind];
          if (!replacement) continue;
          code = replacement.code;
          message = replacement.message(name);
        }
      }
      out.push({ ...lineAndColumn(source, start), message, code });
    }
    return out.sort((a, b) => a.line - b.line || a.column - b.column);
  }

  /** Records a cell that ran: later cells see its declarations, and its redeclarations replace earlier ones. */
  commit(source: string): void {
    const index = this.#committed.length + 1;
    const fileName = cellFileName(this.baseDir, this.#id, index);
    const names = cellNames(parse(source));
    const prefix = importPrefix(this.#latest, new Set(names.map((n) => n.name)));
    this.#files.set(fileName, prefix.text + source + exportSuffix(names));
    this.#committed.push(fileName);
    this.#draft = null;
    for (const n of names) this.#latest.set(n.name, { fileName, kind: n.kind });
  }

  /** Completions at `cursor` (UTF-16 offset in source). */
  complete(source: string, cursor: number): CellCompletions {
    return completionsAt(this.#service, this.#fileFor(source), clamp(cursor, source.length));
  }

  /** Signature and documentation of the symbol at `cursor` (UTF-16 offset in source). */
  inspect(source: string, cursor: number, detailLevel: 0 | 1): CellInspection {
    return inspectAt(this.#service, this.#fileFor(source), clamp(cursor, source.length), detailLevel, (fileName, position) => this.#describe(fileName, position));
  }

  /** Loads the standard library, @types and kernel globals now (and whatever `source` imports, e.g.
   *  `import type * as _ from 'orz'`), so that the first real request is fast. Takes seconds when cold. */
  warmUp(source = ''): void {
    this.diagnostics(source);
    this.complete(source, source.length);
  }

  /** Generated prefixes sit on the cell's first line, so file lines are cell lines. Cells are numbered in commit order. */
  #describe(fileName: string, position: number): { label: string; source: string | null } {
    const sf = this.#service.getProgram()?.getSourceFile(fileName);
    if (!sf) return { label: fileName, source: null };
    const line = sf.getLineAndCharacterOfPosition(position).line + 1;
    const index = cellIndexOf(fileName);
    if (fileName === this.#draft?.fileName) return { label: `this cell, line ${line}`, source: sf.text };
    if (index !== null) return { label: `cell ${index} (in the order cells ran), line ${line}`, source: sf.text };
    if (fileName === this.#globalsFile) return { label: 'the kernel globals', source: sf.text };
    const rel = path.relative(this.baseDir, fileName);
    return { label: `${rel.startsWith('..') ? fileName : rel}:${line}`, source: sf.text };
  }
}

const clamp = (n: number, max: number): number => Math.max(0, Math.min(Math.trunc(n), max));
