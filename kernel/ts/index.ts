// The TypeScript side of the kernel, as the executor uses it: the cell compiler, the language service
// behind complete/inspect and type warnings, is_complete, and cursor conversions.
export { compileCell, CellSyntaxError, CellImportError, type CompiledCell } from './compile.ts';
export { CellLanguageService, type CellDiagnostic } from './language-service.ts';
export type { CellCompletions } from './completions.ts';
export type { CellInspection } from './inspect.ts';
export { isComplete, type CompletenessReply } from './is-complete.ts';
export { codePointToUtf16, utf16ToCodePoint, lineAndColumn } from './code-points.ts';
export { resolveSpecifier, ModuleResolveError } from './resolve-specifier.ts';
export { installCellRuntime } from './cell-runtime.ts';
