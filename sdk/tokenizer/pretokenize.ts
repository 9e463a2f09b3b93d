// Normalizers and pre-tokenizers of HF tokenizer.json, as plain functions over strings.
// A pre-tokenizer maps a list of pieces to a finer list of pieces; BPE then runs on each piece.

import { toByteLevel } from './bytes.ts';
import { asArray, asObject, boolField, fail, typeOf, type JsonObject } from './fields.ts';
import { compileOniguruma, literalRegex } from './regex.ts';

export type Normalizer = (text: string) => string;
/** `atTextStart`: the first piece begins the input text (not the text after an added token). */
export type PreTokenizer = (pieces: string[], atTextStart?: boolean) => string[];

/** SentencePiece's word-boundary mark, which stands for a space. */
export const METASPACE = '\u2581';

/** GPT-2's pre-tokenizer regex (what HF's ByteLevel uses when use_regex is true). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: readonly Behavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** Cuts text into matched and unmatched runs, then joins or drops the matches as HF's behaviors say. */
export function splitText(text: string, regex: RegExp, behavior: Behavior, invert = false): string[] {
  const runs: { text: string; match: boolean }[] = [];
  let prev = 0;
  for (const m of text.matchAll(regex)) {
    if (m[0].length === 0) continue;
    const start = m.index!;
    if (start > prev) runs.push({ text: text.slice(prev, start), match: invert });
    runs.push({ text: m[0], match: !invert });
    prev = start + m[0].length;
  }
  if (prev < text.length) runs.push({ text: text.slice(prev), match: invert });

  switch (behavior) {
    case 'Removed':
      return runs.filter((r) => !r.match).map((r) => r.text);
    case 'Isolated':
      return runs.map((r) => r.text);
    case 'MergedWithPrevious':
    case 'MergedWithNext': {
      // a match joins its neighbour (previous or next) unless that neighbour is itself a match
      const ordered = behavior === 'MergedWithNext' ? [...runs].reverse() : runs;
      const out: string[] = [];
      let previousWasMatch = false;
      for (const r of ordered) {
        if (r.match && !previousWasMatch && out.length > 0) {
          out[out.length - 1] = behavior === 'MergedWithNext' ? r.text + out[out.length - 1] : out[out.length - 1] + r.text;
        } else {
          out.push(r.text);
        }
        previousWasMatch = r.match;
      }
      return behavior === 'MergedWithNext' ? out.reverse() : out;
    }
    case 'Contiguous': {
      // consecutive runs of the same kind become one piece
      const out: string[] = [];
      let previousWasMatch: boolean | undefined;
      for (const r of runs) {
        if (r.match === previousWasMatch) out[out.length - 1] += r.text;
        else out.push(r.text);
        previousWasMatch = r.match;
      }
      return out;
    }
  }
}

function patternRegex(o: JsonObject, where: string): RegExp {
  const pattern = asObject(o.pattern, `${where}: pattern`);
  if (typeof pattern.Regex === 'string') return compileOniguruma(pattern.Regex, where);
  if (typeof pattern.String === 'string') return literalRegex(pattern.String);
  return fail(where, 'pattern must be {"Regex": ...} or {"String": ...}');
}

export function buildNormalizer(spec: unknown, where: string): Normalizer {
  if (spec === null || spec === undefined) return (s) => s;
  const o = asObject(spec, where);
  const type = typeOf(o, where);
  switch (type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (s) => s.normalize(type);
    case 'Lowercase':
      return (s) => s.toLowerCase();
    case 'Replace': {
      const regex = patternRegex(o, `${where} (Replace)`);
      const content = typeof o.content === 'string' ? o.content : fail(where, 'Replace needs a string "content"');
      return (s) => s.replace(regex, () => content);
    }
    case 'Prepend': {
      // HF prepends only to non-empty text
      const prefix = typeof o.prepend === 'string' ? o.prepend : fail(where, 'Prepend needs a string "prepend"');
      return (s) => (s === '' ? s : prefix + s);
    }
    case 'Strip': {
      const left = boolField(o, 'strip_left', where, true);
      const right = boolField(o, 'strip_right', where, true);
      return (s) => {
        const afterLeft = left ? s.replace(/^\p{White_Space}+/u, '') : s;
        return right ? afterLeft.replace(/\p{White_Space}+$/u, '') : afterLeft;
      };
    }
    case 'Sequence': {
      const parts = asArray(o.normalizers, `${where}: normalizers`).map((n, i) => buildNormalizer(n, `${where}[${i}]`));
      return (s) => parts.reduce((acc, f) => f(acc), s);
    }
    default:
      return fail(where, `normalizer type "${type}" is not supported`);
  }
}

/** Whether a pre-tokenizer spec contains a ByteLevel step (then BPE symbols are byte characters). */
export function hasByteLevel(spec: unknown): boolean {
  if (spec === null || typeof spec !== 'object') return false;
  const o = spec as JsonObject;
  if (o.type === 'ByteLevel') return true;
  return o.type === 'Sequence' && Array.isArray(o.pretokenizers) && o.pretokenizers.some(hasByteLevel);
}

export function buildPreTokenizer(spec: unknown, where: string): PreTokenizer {
  if (spec === null || spec === undefined) return (pieces) => pieces;
  const o = asObject(spec, where);
  const type = typeOf(o, where);
  switch (type) {
    case 'ByteLevel': {
      const addPrefixSpace = boolField(o, 'add_prefix_space', where, true);
      const regex = boolField(o, 'use_regex', where, true) ? compileOniguruma(GPT2_PATTERN, where) : undefined;
      return (pieces) =>
        pieces.flatMap((piece) => {
          const text = addPrefixSpace && !piece.startsWith(' ') ? ' ' + piece : piece;
          const parts = regex ? splitText(text, regex, 'Isolated') : [text];
          return parts.map(toByteLevel);
        });
    }
    case 'Split': {
      const regex = patternRegex(o, `${where} (Split)`);
      const behavior = o.behavior as Behavior;
      if (!BEHAVIORS.includes(behavior)) fail(where, `Split behavior ${JSON.stringify(o.behavior)} is not one of ${BEHAVIORS.join(', ')}`);
      const invert = boolField(o, 'invert', where, false);
      return (pieces) => pieces.flatMap((p) => splitText(p, regex, behavior, invert));
    }
    case 'Digits': {
      const behavior: Behavior = boolField(o, 'individual_digits', where, false) ? 'Isolated' : 'Contiguous';
      const digits = /\p{N}/gu;
      return (pieces) => pieces.flatMap((p) => splitText(p, digits, behavior));
    }
    case 'Metaspace':
      return metaspacePreTokenizer(o, where);
    case 'Sequence': {
      const steps = asArray(o.pretokenizers, `${where}: pretokenizers`).map((p, i) => buildPreTokenizer(p, `${where}[${i}]`));
      return (pieces, atTextStart) => steps.reduce((acc, step) => step(acc, atTextStart), pieces);
    }
    default:
      return fail(where, `pre_tokenizer type "${type}" is not supported`);
  }
}

export type PrependScheme = 'always' | 'first' | 'never';

/** Metaspace's prepend_scheme; files written before it existed say add_prefix_space instead. */
export function prependScheme(o: JsonObject, where: string): PrependScheme {
  const scheme = o.prepend_scheme ?? (boolField(o, 'add_prefix_space', where, true) ? 'always' : 'never');
  if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') fail(where, `Metaspace prepend_scheme ${JSON.stringify(scheme)} is not always, first or never`);
  return scheme;
}

/** Spaces become the replacement mark, one is prepended (per prepend_scheme), and pieces split before each mark. */
function metaspacePreTokenizer(o: JsonObject, where: string): PreTokenizer {
  const replacement = typeof o.replacement === 'string' ? o.replacement : METASPACE;
  const scheme = prependScheme(o, where);
  const split = boolField(o, 'split', where, true);
  const mark = literalRegex(replacement);
  return (pieces, atTextStart = true) =>
    pieces.flatMap((piece, i) => {
      let text = piece.replaceAll(' ', replacement);
      const prepend = scheme === 'always' || (scheme === 'first' && i === 0 && atTextStart);
      if (prepend && !text.startsWith(replacement)) text = replacement + text;
      return split ? splitText(text, mark, 'MergedWithNext') : [text];
    });
}
