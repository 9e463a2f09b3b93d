// The cell compiler: TypeScript cell source -> JavaScript for V8's REPL mode (Runtime.evaluate replMode),
// with a line map back to the cell for tracebacks. Types are erased by TypeScript's own transpiler
// (enums and namespaces included); cell-specific rewrites live in cell-transform.ts.
import ts from 'typescript';
import { cellTransformer, dropEmptyExport, type ImportProblem } from './cell-transform.ts';
import { installCellRuntime } from './cell-runtime.ts';
import { lineAndColumn } from './code-points.ts';
import { generatedToOriginalLines } from './source-map-lines.ts';

export interface CompiledCell {
  /** JavaScript for Runtime.evaluate replMode: types erased; static imports rewritten to awaited dynamic imports
   *  resolved from opts.baseDir (ESM and CommonJS packages of the notebook's project, and relative paths);
   *  `export` keywords dropped; a call to opts.interruptCheck inserted at the top of every loop body, and with
   *  opts.liveCheck, calls of it at every function entry, catch/finally block and await resumption. */
  js: string;
  /** 1-based line in js -> 1-based line in the cell source, or null for generated lines. */
  sourceLine(jsLine: number): number | null;
}

/** A cell that cannot run: syntax error (or unresolvable import) at a 1-based line and column of the cell. */
export class CellSyntaxError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number) {
    super(`${message} (cell line ${line}, column ${column})`);
    this.name = 'SyntaxError';
    this.line = line;
    this.column = column;
  }
}

/** An import whose specifier does not resolve from the notebook directory. */
export class CellImportError extends CellSyntaxError {
  readonly specifier: string;
  constructor(problem: ImportProblem, line: number, column: number) {
    super(problem.message, line, column);
    this.name = 'ImportError';
    this.specifier = problem.specifier;
  }
}

const CELL_FILE = 'cell.ts';

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  // Parse every cell as a module so top-level await and import/export syntax are accepted.
  moduleDetection: ts.ModuleDetectionKind.Force,
  useDefineForClassFields: true,
  sourceMap: true,
  newLine: ts.NewLineKind.LineFeed,
};

/** `{ a: 1 }` alone in a cell means the object, as in Node's REPL, not a block with a label. */
function asObjectLiteral(source: string): string | null {
  const trimmed = source.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return null;
  const wrapped = source.replace('{', '({').replace(/\}(\s*)$/, '})$1');
  const sf = ts.createSourceFile(CELL_FILE, wrapped, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const only = sf.statements.length === 1 ? sf.statements[0] : undefined;
  const parsed = only && ts.isExpressionStatement(only) && ts.isParenthesizedExpression(only.expression) && ts.isObjectLiteralExpression(only.expression.expression);
  return parsed && ts.transpileModule(wrapped, { fileName: CELL_FILE, reportDiagnostics: true }).diagnostics?.length === 0 ? wrapped : null;
}

export function compileCell(cellSource: string, opts: { baseDir: string; interruptCheck: string; liveCheck?: string }): CompiledCell {
  installCellRuntime();
  const source = asObjectLiteral(cellSource) ?? cellSource;
  const importProblems: ImportProblem[] = [];
  const out = ts.transpileModule(source, {
    fileName: CELL_FILE,
    reportDiagnostics: true,
    compilerOptions: COMPILER_OPTIONS,
    transformers: {
      before: [cellTransformer({ ...opts, onImportProblem: (p) => importProblems.push(p) })],
      after: [dropEmptyExport],
    },
  });
  const position = (pos: number): { line: number; column: number } => lineAndColumn(source, pos);
  const error = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (error) {
    const { line, column } = position(error.start ?? 0);
    throw new CellSyntaxError(ts.flattenDiagnosticMessageText(error.messageText, '\n'), line, column);
  }
  const problem = importProblems[0];
  if (problem) {
    const { line, column } = position(problem.pos);
    throw new CellImportError(problem, line, column);
  }
  const js = out.outputText.replace(/\n?\/\/# sourceMappingURL=\S*\s*$/, '\n');
  const lines = generatedToOriginalLines((JSON.parse(out.sourceMapText!) as { mappings: string }).mappings);
  // Lines inside a multi-line token (template literal, block comment) have no mapping of their own; the
  // printer copies such tokens verbatim, so they continue the line before them.
  const lastMapped = lines.findLastIndex((l) => l !== null);
  for (let i = 1; i < lastMapped; i++) {
    const previous = lines[i - 1];
    if (lines[i] === null && previous !== null && previous !== undefined) lines[i] = previous + 1;
  }
  return { js, sourceLine: (jsLine) => lines[jsLine - 1] ?? null };
}
