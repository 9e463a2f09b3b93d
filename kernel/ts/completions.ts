// complete_request answers from TypeScript's completion list: entries filtered by what is typed, sorted
// by TypeScript's relevance then name, and expressed as Jupyter wants them: one span [cursorStart,
// cursorEnd) of the cell that every match replaces.
import ts from 'typescript';
import type { CellFile } from './cell-file.ts';
import type { NameKind } from './cell-names.ts';

export interface CellCompletions {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
  types: { text: string; type: string; start: number; end: number }[];
}

const PREFERENCES: ts.GetCompletionsAtPositionOptions = {
  includeCompletionsWithInsertText: true,
  includeAutomaticOptionalChainCompletions: true,
  // Auto-imports would need an edit elsewhere in the cell, which a Jupyter completion cannot carry.
  includeCompletionsForModuleExports: false,
  includeCompletionsForImportStatements: false,
  includeCompletionsWithSnippetText: false,
  includeCompletionsWithClassMemberSnippets: false,
  includeCompletionsWithObjectLiteralMethodSnippets: false,
};

const IDENTIFIER_TAIL = /[\p{ID_Continue}$\u200c\u200d]*$/u;

/** Jupyter's completion types (what JupyterLab shows an icon for) from TypeScript's element kinds. */
function jupyterType(kind: string): string {
  switch (kind) {
    case 'function': case 'local function': case 'method': case 'construct': case 'call': return 'function';
    case 'class': case 'local class': return 'class';
    case 'module': case 'external module name': return 'module';
    case 'keyword': return 'keyword';
    case 'property': case 'getter': case 'setter': case 'accessor': return 'property';
    case 'parameter': return 'param';
    case 'directory': case 'script': return 'path';
    case 'var': case 'let': case 'const': case 'local var': case 'using': case 'await using': case 'alias': return 'instance';
    default: return kind || 'text';
  }
}

const KIND_OF_DECLARATION: Record<NameKind, string> = {
  const: 'const', let: 'let', var: 'var', function: 'function', class: 'class', enum: 'enum',
  namespace: 'module', type: 'type', import: 'alias',
};

interface Candidate { name: string; insert: string; start: number; end: number; sortText: string; kind: string }

export function completionsAt(ls: ts.LanguageService, file: CellFile, cursor: number): CellCompletions {
  const none: CellCompletions = { matches: [], cursorStart: cursor, cursorEnd: cursor, types: [] };
  const info = ls.getCompletionsAtPosition(file.fileName, file.offset + cursor, PREFERENCES);
  if (!info) return none;
  const { source, offset } = file;
  const word = IDENTIFIER_TAIL.exec(source.slice(0, cursor))![0];
  const defaultStart = info.optionalReplacementSpan && info.optionalReplacementSpan.start - offset <= cursor
    ? info.optionalReplacementSpan.start - offset
    : cursor - word.length;
  const candidates: Candidate[] = [];
  for (const e of info.entries) {
    const span = e.replacementSpan;
    const start = span ? span.start - offset : defaultStart;
    const end = span ? span.start - offset + span.length : cursor;
    if (start < 0 || start > cursor || end < cursor) continue;
    const insert = e.insertText ?? e.name;
    const typed = source.slice(start, cursor).toLowerCase();
    const matches = insert.toLowerCase().startsWith(typed) || (span !== undefined && e.name.toLowerCase().startsWith(word.toLowerCase()));
    // Earlier cells' names are aliases (generated imports) to TypeScript; their declaration kind is known here.
    const kind = e.kind === ts.ScriptElementKind.alias ? KIND_OF_DECLARATION[file.imported.get(e.name) ?? 'import'] : e.kind;
    if (matches) candidates.push({ name: e.name, insert, start, end, sortText: e.sortText, kind });
  }
  if (candidates.length === 0) return none;
  // One span for all matches: the union of their spans, each match padded with the cell text it keeps.
  const cursorStart = Math.min(...candidates.map((c) => c.start));
  const cursorEnd = Math.max(...candidates.map((c) => c.end));
  const exact = (c: Candidate): number => (c.name.startsWith(word) ? 0 : 1);
  candidates.sort((a, b) => (a.sortText < b.sortText ? -1 : a.sortText > b.sortText ? 1 : exact(a) - exact(b) || a.name.localeCompare(b.name)));
  const seen = new Set<string>();
  const matches: string[] = [];
  const types: CellCompletions['types'] = [];
  for (const c of candidates) {
    const text = source.slice(cursorStart, c.start) + c.insert + source.slice(c.end, cursorEnd);
    if (seen.has(text)) continue;
    seen.add(text);
    matches.push(text);
    types.push({ text, type: jupyterType(c.kind), start: cursorStart, end: cursorEnd });
  }
  return { matches, cursorStart, cursorEnd, types };
}
