// inspect_request answers: TypeScript's quick info (the signature or type of the symbol at or just before
// the cursor) with its JSDoc, or inside a call's parentheses the called function's signature. Detail level 1
// adds where the symbol is declared and the declaration's source.
import ts from 'typescript';
import type { CellFile } from './cell-file.ts';

export interface CellInspection { found: boolean; plain: string; markdown: string }

/** Where a position of a program file is, for people: "sdk/ppo/trainer.ts:280" or "cell 3, line 2". */
export type DescribeLocation = (fileName: string, position: number) => { label: string; source: string | null };

interface Described { signature: string; documentation: string; tags: ts.JSDocTagInfo[] }

const MAX_SOURCE_LINES = 40;

function tagText(tag: ts.JSDocTagInfo): string {
  const text = ts.displayPartsToString(tag.text);
  return text === '' ? `@${tag.name}` : `@${tag.name} ${text}`;
}

function fromQuickInfo(info: ts.QuickInfo): Described {
  return { signature: ts.displayPartsToString(info.displayParts), documentation: ts.displayPartsToString(info.documentation), tags: info.tags ?? [] };
}

function fromSignatureHelp(help: ts.SignatureHelpItems): Described {
  const item = help.items[help.selectedItemIndex] ?? help.items[0]!;
  const params = item.parameters.map((p) => ts.displayPartsToString(p.displayParts)).join(ts.displayPartsToString(item.separatorDisplayParts));
  return {
    signature: ts.displayPartsToString(item.prefixDisplayParts) + params + ts.displayPartsToString(item.suffixDisplayParts),
    documentation: ts.displayPartsToString(item.documentation),
    tags: item.tags,
  };
}

/** A name from an earlier cell reaches this one through a generated import; TypeScript would describe that
 *  alias ("(alias) const x: T" + "import x"), while the user wrote a plain declaration. */
function withoutGeneratedAlias(described: Described, name: string, file: CellFile): Described {
  if (!file.imported.has(name)) return described;
  const lines = described.signature.split('\n');
  if (lines.at(-1)?.startsWith('import ')) lines.pop();
  return { ...described, signature: lines.join('\n').replace(/^\(alias\) /, '') };
}

/** The symbol's description at the cursor, just before it (end of a name), or of the enclosing call. */
function describe(ls: ts.LanguageService, file: CellFile, cursor: number): { described: Described; position: number } | null {
  for (const c of cursor > 0 ? [cursor, cursor - 1] : [cursor]) {
    const info = ls.getQuickInfoAtPosition(file.fileName, file.offset + c);
    if (info && info.textSpan.start >= file.offset && info.displayParts?.length) {
      const start = info.textSpan.start - file.offset;
      const name = file.source.slice(start, start + info.textSpan.length);
      return { described: withoutGeneratedAlias(fromQuickInfo(info), name, file), position: file.offset + c };
    }
  }
  const help = ls.getSignatureHelpItems(file.fileName, file.offset + cursor, undefined);
  if (help && help.items.length > 0 && help.applicableSpan.start >= file.offset) {
    return { described: fromSignatureHelp(help), position: help.applicableSpan.start - 1 };
  }
  return null;
}

export function inspectAt(ls: ts.LanguageService, file: CellFile, cursor: number, detailLevel: 0 | 1, where: DescribeLocation): CellInspection {
  const found = describe(ls, file, cursor);
  if (!found) return { found: false, plain: '', markdown: '' };
  const { signature, documentation, tags } = found.described;
  const plain = [signature];
  const markdown = ['```typescript\n' + signature + '\n```'];
  if (documentation) {
    plain.push(documentation);
    markdown.push(documentation);
  }
  if (tags.length > 0) {
    plain.push(tags.map(tagText).join('\n'));
    markdown.push(tags.map((t) => `*@${t.name}* ${ts.displayPartsToString(t.text)}`.trimEnd()).join('  \n'));
  }
  if (detailLevel === 1) {
    const def = ls.getDefinitionAtPosition(file.fileName, found.position)?.[0];
    if (def) {
      const { label, source } = where(def.fileName, def.textSpan.start);
      plain.push(`Defined in ${label}`);
      markdown.push(`Defined in \`${label}\``);
      const span = def.contextSpan ?? def.textSpan;
      const text = source?.slice(span.start, span.start + span.length);
      if (text) {
        const lines = text.split('\n');
        const shown = lines.length > MAX_SOURCE_LINES ? [...lines.slice(0, MAX_SOURCE_LINES), '...'] : lines;
        plain.push(shown.join('\n'));
        markdown.push('```typescript\n' + shown.join('\n') + '\n```');
      }
    }
  }
  return { found: true, plain: plain.join('\n\n'), markdown: markdown.join('\n\n') };
}
