// The executor's view of the cell compiler and language service (kernel/ts) and of the formatters
// (kernel/display): one seam, so the executor does not care where they come from.
export { compileCell, CellSyntaxError, CellImportError, type CompiledCell } from '../ts/compile.ts';
export { CellLanguageService, type CellDiagnostic } from '../ts/language-service.ts';
export { isComplete } from '../ts/is-complete.ts';
export { codePointToUtf16, utf16ToCodePoint } from '../ts/code-points.ts';
export { displayContent, type DisplayContent } from '../display/index.ts';
