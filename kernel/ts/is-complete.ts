// is_complete_request: is this text a whole cell, or should the console wait for more lines? A cell whose
// only syntax errors sit at its very end (an open bracket, template or comment, a trailing operator or
// `=>`) can still be completed; an error before the end cannot be fixed by typing more.
import ts from 'typescript';

export interface CompletenessReply { status: 'complete' | 'incomplete' | 'invalid'; indent: string }

const UNTERMINATED_STRING = 1002;
const UNTERMINATED_COMMENT = 1010;
const UNTERMINATED_TEMPLATE = 1160;
const INDENT_UNIT = '  ';
/** A line that is a control statement's header waiting for its body: `for (...)`, `else`, `do`. */
const STATEMENT_HEADER = /^\s*(?:\}\s*)?(?:(?:if|for|while|else\s+if)\b.*\)|else|do)\s*$/;

const OPENERS = new Set([ts.SyntaxKind.OpenBraceToken, ts.SyntaxKind.OpenParenToken, ts.SyntaxKind.OpenBracketToken]);
const CLOSERS = new Set([ts.SyntaxKind.CloseBraceToken, ts.SyntaxKind.CloseParenToken, ts.SyntaxKind.CloseBracketToken]);

function syntaxErrors(source: string): readonly ts.Diagnostic[] {
  const out = ts.transpileModule(source, {
    fileName: 'cell.ts',
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleDetection: ts.ModuleDetectionKind.Force, noEmit: false },
  });
  return (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
}

/** Open-bracket depth at the end and at the start of the last non-blank line, and the last token's kind
 *  (by scanning; templates are tracked through their `${ ... }` parts). */
function scanBrackets(source: string, lastLineStart: number): { depth: number; depthAtLastLine: number; last: ts.SyntaxKind } {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, source);
  const stack: ('bracket' | 'template')[] = [];
  const brackets = (): number => stack.filter((s) => s === 'bracket').length;
  let last = ts.SyntaxKind.Unknown;
  let depthAtLastLine = -1;
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (depthAtLastLine < 0 && scanner.getTokenEnd() > lastLineStart) depthAtLastLine = brackets();
    if (kind === ts.SyntaxKind.CloseBraceToken && stack.at(-1) === 'template') {
      kind = scanner.reScanTemplateToken(false);
      if (kind === ts.SyntaxKind.TemplateTail) stack.pop();
    } else if (kind === ts.SyntaxKind.TemplateHead) {
      stack.push('template');
    } else if (OPENERS.has(kind)) {
      stack.push('bracket');
    } else if (CLOSERS.has(kind) && stack.at(-1) === 'bracket') {
      stack.pop();
    } else if (kind === ts.SyntaxKind.SlashToken || kind === ts.SyntaxKind.SlashEqualsToken) {
      // A slash after an operator starts a regular expression; the scanner cannot know without the parser.
      if (last === ts.SyntaxKind.Unknown || isOperatorLike(last)) kind = scanner.reScanSlashToken();
    }
    last = kind;
  }
  const depth = brackets();
  return { depth, depthAtLastLine: depthAtLastLine < 0 ? depth : depthAtLastLine, last };
}

/** Indentation for the next line: the last line's, one unit deeper when that line opened a bracket or
 *  ends in an operator, `=>` or a statement header's `)` that still needs its continuation. */
function nextIndent(source: string): string {
  const lines = source.split('\n');
  let lastIndex = lines.length - 1;
  while (lastIndex > 0 && lines[lastIndex]!.trim() === '') lastIndex--;
  const lastLine = lines[lastIndex]!;
  const lastLineStart = lines.slice(0, lastIndex).reduce((n, l) => n + l.length + 1, 0);
  const { depth, depthAtLastLine, last } = scanBrackets(source, lastLineStart);
  const base = /^[ \t]*/.exec(lastLine)![0];
  const continues = depth > depthAtLastLine ||
    (!OPENERS.has(last) && last !== ts.SyntaxKind.CommaToken && last !== ts.SyntaxKind.SemicolonToken && isOperatorLike(last)) ||
    STATEMENT_HEADER.test(lastLine);
  return continues ? base + INDENT_UNIT : base;
}

function isOperatorLike(kind: ts.SyntaxKind): boolean {
  return (kind >= ts.SyntaxKind.FirstPunctuation && kind <= ts.SyntaxKind.LastPunctuation && !CLOSERS.has(kind)) ||
    kind === ts.SyntaxKind.ReturnKeyword || kind === ts.SyntaxKind.TypeOfKeyword;
}

/** A trailing `function f()` parses as an overload signature; at the end of a cell it is a body still to come. */
function endsWithBodilessFunction(source: string): boolean {
  const sf = ts.createSourceFile('cell.ts', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const last = sf.statements.at(-1);
  if (!last || !ts.isFunctionDeclaration(last) || last.body) return false;
  return !(ts.getModifiers(last)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword) ?? false);
}

export function isComplete(source: string): CompletenessReply {
  if (source.trim() === '') return { status: 'complete', indent: '' };
  const errors = syntaxErrors(source);
  const incomplete = (): CompletenessReply => ({ status: 'incomplete', indent: nextIndent(source) });
  if (errors.length === 0) return endsWithBodilessFunction(source) ? incomplete() : { status: 'complete', indent: '' };
  const end = source.trimEnd().length;
  for (const e of errors) {
    if (e.code === UNTERMINATED_TEMPLATE || e.code === UNTERMINATED_COMMENT) continue;
    // A string may only go on past the line end after a backslash.
    if (e.code === UNTERMINATED_STRING) {
      if (/\\\r?\n?$/.test(source)) continue;
      return { status: 'invalid', indent: '' };
    }
    if ((e.start ?? 0) < end) return { status: 'invalid', indent: '' };
  }
  return incomplete();
}
