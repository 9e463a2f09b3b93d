// Decoders of HF tokenizer.json. As in HF, a decoder maps the list of token strings to a new list
// (its "decode chain"), steps of a Sequence run in order, and the result is the concatenation.

import { CHAR_TO_BYTE, utf8Bytes, utf8Text } from './bytes.ts';
import { asArray, asObject, fail, typeOf, type JsonObject } from './fields.ts';
import { METASPACE, prependScheme } from './pretokenize.ts';
import { literalRegex, compileOniguruma } from './regex.ts';

export type DecodeStep = (tokens: string[]) => string[];

/** The whole decoder: token strings to text. Without a decoder HF joins the tokens with spaces. */
export function buildDecoder(spec: unknown, where: string): (tokens: string[]) => string {
  if (spec === null || spec === undefined) return (tokens) => tokens.join(' ');
  const step = buildDecodeStep(spec, where);
  return (tokens) => step(tokens).join('');
}

function buildDecodeStep(spec: unknown, where: string): DecodeStep {
  const o = asObject(spec, where);
  const type = typeOf(o, where);
  switch (type) {
    case 'ByteLevel':
      return byteLevel;
    case 'Replace':
      return replace(o, where);
    case 'ByteFallback':
      return byteFallback;
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Strip':
      return strip(o, where);
    case 'Metaspace':
      return metaspace(o, where);
    case 'Sequence': {
      const steps = asArray(o.decoders, `${where}: decoders`).map((d, i) => buildDecodeStep(d, `${where}[${i}]`));
      return (tokens) => steps.reduce((acc, step) => step(acc), tokens);
    }
    default:
      return fail(where, `decoder type "${type}" is not supported (ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence)`);
  }
}

/**
 * Byte-level characters back to bytes, all tokens into one UTF-8 string (invalid bytes become U+FFFD).
 * A token with a character outside the byte alphabet (an added token such as "<think>" can be) is taken as its own text.
 */
const byteLevel: DecodeStep = (tokens) => {
  const bytes: number[] = [];
  for (const token of tokens) {
    const tokenBytes: number[] = [];
    let inAlphabet = true;
    for (const c of token) {
      const b = CHAR_TO_BYTE.get(c);
      if (b === undefined) {
        inAlphabet = false;
        break;
      }
      tokenBytes.push(b);
    }
    for (const b of inAlphabet ? tokenBytes : utf8Bytes(token)) bytes.push(b);
  }
  return [utf8Text(Uint8Array.from(bytes))];
};

function replace(o: JsonObject, where: string): DecodeStep {
  const pattern = asObject(o.pattern, `${where}: pattern`);
  const content = typeof o.content === 'string' ? o.content : fail(where, 'Replace needs a string "content"');
  if (typeof pattern.String === 'string' && pattern.String !== '') {
    const text = pattern.String;
    return (tokens) => tokens.map((t) => (t.includes(text) ? t.split(text).join(content) : t));
  }
  const regex =
    typeof pattern.String === 'string' ? literalRegex(pattern.String)
    : typeof pattern.Regex === 'string' ? compileOniguruma(pattern.Regex, where)
    : fail(where, 'Replace pattern must be {"String": ...} or {"Regex": ...}');
  return (tokens) => tokens.map((t) => t.replace(regex, () => content));
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/**
 * Runs of <0xXX> tokens become the text of their bytes. A run that is not valid UTF-8 becomes one
 * U+FFFD per byte token (HF's rule, unlike a lossy decode, which may merge them).
 */
const byteFallback: DecodeStep = (tokens) => {
  const out: string[] = [];
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const text = strictUtf8(run);
    if (text === undefined) for (let i = 0; i < run.length; i++) out.push('\uFFFD');
    else out.push(text);
    run = [];
  };
  for (const token of tokens) {
    const m = token.length === 6 ? BYTE_TOKEN.exec(token) : null;
    if (m) {
      run.push(parseInt(m[1]!, 16));
      continue;
    }
    flush();
    out.push(token);
  }
  flush();
  return out;
};

const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function strictUtf8(bytes: number[]): string | undefined {
  try {
    return strictDecoder.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** Removes up to `start` leading and `stop` trailing `content` characters from each token. */
function strip(o: JsonObject, where: string): DecodeStep {
  const content = typeof o.content === 'string' && [...o.content].length === 1 ? o.content : fail(where, 'Strip needs a one-character "content"');
  const count = (key: string) => {
    const v = o[key] ?? 0;
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fail(where, `Strip "${key}" must be a non-negative integer`);
  };
  const start = count('start');
  const stop = count('stop');
  const w = content.length; // UTF-16 units of the one character
  return (tokens) =>
    tokens.map((token) => {
      let from = 0;
      for (let n = 0; n < start && token.startsWith(content, from); n++) from += w;
      let to = token.length;
      for (let n = 0; n < stop && to - w >= from && token.startsWith(content, to - w); n++) to -= w;
      return token.slice(from, to);
    });
}

/** The replacement mark back to spaces; the space the pre-tokenizer prepended is dropped from the first token. */
function metaspace(o: JsonObject, where: string): DecodeStep {
  const replacement = typeof o.replacement === 'string' ? o.replacement : METASPACE;
  const scheme = prependScheme(o, where);
  return (tokens) =>
    tokens.map((token, i) => {
      const text = token.replaceAll(replacement, ' ');
      return i === 0 && scheme !== 'never' && text.startsWith(' ') ? text.slice(1) : text;
    });
}
