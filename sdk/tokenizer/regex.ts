// Translate the Oniguruma (Ruby syntax) regexes found in Hugging Face tokenizer.json files into
// JavaScript `u`-flag regexes with the same matches.
//
// Differences handled:
//   (?i:...) and (?i)   Node 20 has no inline modifiers: letters inside are expanded to [xX] by hand.
//   \s \S               Oniguruma's Unicode White_Space (JS's \s differs on U+0085 and U+FEFF).
//   \d \w \h            Unicode decimal digits / word characters / hex digits, as Oniguruma means them.
//   ^ $ .               Ruby anchors are per line; `.` excludes only "\n".
//   \A \z \Z \e \a \x{..} {,n}   rewritten to their JS spellings.
//   \p{Han}             script names become \p{Script=Han}.
//   lone { } ]          literal in Oniguruma, escaped for JS.
// Constructs with no JS equivalent (possessive quantifiers, atomic groups, nested classes, \K, \G...)
// raise an error naming the construct.

const WHITE_SPACE = '\\p{White_Space}';
const NOT_WHITE_SPACE = '\\P{White_Space}';
const WORD_CHARS = '\\p{L}\\p{M}\\p{Nd}\\p{Pc}';
const HEX_CHARS = '0-9a-fA-F';
const JS_SYNTAX_CHARS = '^$\\.*+?()[]{}|/';

class RegexSyntaxError extends Error {}

function propertyEscape(negated: boolean, name: string): string {
  const p = negated ? 'P' : 'p';
  if (name.startsWith('^')) return propertyEscape(!negated, name.slice(1));
  for (const candidate of [name, `Script=${name}`]) {
    try {
      new RegExp(`\\${p}{${candidate}}`, 'u');
      return `\\${p}{${candidate}}`;
    } catch {
      // try the next spelling
    }
  }
  throw new RegexSyntaxError(`unknown Unicode property \\p{${name}}`);
}

/** Both cases of a single code point, when case folding maps it to one other code point. */
function caseVariants(ch: string): string[] {
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  const out = new Set([ch]);
  if ([...lower].length === 1) out.add(lower);
  if ([...upper].length === 1) out.add(upper);
  return [...out];
}

function escapeClassChar(ch: string): string {
  return '\\^-]['.includes(ch) ? `\\${ch}` : ch;
}

function literal(ch: string): string {
  return JS_SYNTAX_CHARS.includes(ch) ? `\\${ch}` : ch;
}

/**
 * Reads one escape sequence starting at pattern[i] === '\\'.
 * Returns the JS text, the index after it, and the character when the escape stands for one.
 * `inClass`: the result must fit inside [...].
 */
function translateEscape(pattern: string, i: number, inClass: boolean): { js: string; next: number; char?: string } {
  const c = pattern[i + 1];
  if (c === undefined) throw new RegexSyntaxError('pattern ends with a lone backslash');
  const simple = (js: string) => ({ js, next: i + 2 });
  switch (c) {
    case 's': return simple(WHITE_SPACE);
    case 'S': return simple(NOT_WHITE_SPACE);
    case 'd': return simple('\\p{Nd}');
    case 'D': return simple('\\P{Nd}');
    case 'w': return simple(inClass ? WORD_CHARS : `[${WORD_CHARS}]`);
    case 'W':
      if (inClass) throw new RegexSyntaxError('\\W inside a character class is not supported');
      return simple(`[^${WORD_CHARS}]`);
    case 'h': return simple(inClass ? HEX_CHARS : `[${HEX_CHARS}]`);
    case 'H':
      if (inClass) throw new RegexSyntaxError('\\H inside a character class is not supported');
      return simple(`[^${HEX_CHARS}]`);
    case 'p':
    case 'P': {
      if (pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        if (close < 0) throw new RegexSyntaxError('unterminated \\p{...}');
        return { js: propertyEscape(c === 'P', pattern.slice(i + 3, close)), next: close + 1 };
      }
      const name = pattern[i + 2];
      if (name === undefined) throw new RegexSyntaxError('pattern ends inside \\p');
      return { js: propertyEscape(c === 'P', name), next: i + 3 };
    }
    case 'x': {
      if (pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        if (close < 0) throw new RegexSyntaxError('unterminated \\x{...}');
        const hex = pattern.slice(i + 3, close);
        return { js: `\\u{${hex}}`, next: close + 1, char: String.fromCodePoint(parseInt(hex, 16)) };
      }
      const hex = pattern.slice(i + 2, i + 4);
      return { js: `\\x${hex}`, next: i + 4, char: String.fromCharCode(parseInt(hex, 16)) };
    }
    case 'u': {
      const hex = pattern.slice(i + 2, i + 6);
      return { js: `\\u${hex}`, next: i + 6, char: String.fromCharCode(parseInt(hex, 16)) };
    }
    case 'n': return { ...simple('\\n'), char: '\n' };
    case 'r': return { ...simple('\\r'), char: '\r' };
    case 't': return { ...simple('\\t'), char: '\t' };
    case 'f': return { ...simple('\\f'), char: '\f' };
    case 'v': return { ...simple('\\v'), char: '\v' };
    case 'e': return { ...simple('\\x1b'), char: '\x1b' };
    case 'a': return { ...simple('\\x07'), char: '\x07' };
    case 'A':
    case 'z':
    case 'Z':
    case 'b':
    case 'B':
      if (inClass) throw new RegexSyntaxError(`\\${c} inside a character class is not supported`);
      if (c === 'A') return simple('^');
      if (c === 'z') return simple('$');
      if (c === 'Z') return simple('(?=\\n?$)');
      return simple(`\\${c}`); // JS word boundaries are ASCII-based: an approximation for non-ASCII text
    case 'k': {
      const close = pattern.indexOf('>', i);
      if (pattern[i + 2] !== '<' || close < 0) throw new RegexSyntaxError('only \\k<name> back-references are supported');
      return { js: pattern.slice(i, close + 1), next: close + 1 };
    }
    default:
      break;
  }
  if (/[1-9]/.test(c) && !inClass) return simple(`\\${c}`); // back-reference
  if (/[0-9A-Za-z]/.test(c)) throw new RegexSyntaxError(`escape \\${c} has no JavaScript equivalent`);
  // Escaped punctuation or other character: a literal. JS `u` mode only accepts escapes of syntax chars.
  const ch = String.fromCodePoint(pattern.codePointAt(i + 1)!);
  const js = JS_SYNTAX_CHARS.includes(ch) || (inClass && ch === '-') ? `\\${ch}` : `\\u{${ch.codePointAt(0)!.toString(16)}}`;
  return { js, next: i + 1 + ch.length, char: ch };
}

/** Translates a bracket expression starting at pattern[i] === '['. */
function translateClass(pattern: string, i: number, ignoreCase: boolean): { js: string; next: number } {
  let j = i + 1;
  let out = '[';
  if (pattern[j] === '^') {
    out += '^';
    j++;
  }
  if (pattern[j] === ']') {
    out += '\\]'; // a leading ] is a literal in Oniguruma
    j++;
  }
  const extra: string[] = []; // other-case variants added under (?i)
  let prevChar: string | undefined; // last single character, a possible range start
  while (j < pattern.length && pattern[j] !== ']') {
    const c = pattern[j]!;
    if (c === '[') throw new RegexSyntaxError('nested character classes are not supported');
    if (c === '&' && pattern[j + 1] === '&') throw new RegexSyntaxError('class intersection && is not supported');
    if (c === '-' && prevChar !== undefined && pattern[j + 1] !== ']' && pattern[j + 1] !== undefined) {
      // a range prevChar-hi
      let hi: string;
      let hiJs: string;
      if (pattern[j + 1] === '\\') {
        const esc = translateEscape(pattern, j + 1, true);
        if (esc.char === undefined) throw new RegexSyntaxError(`bad range end ${pattern.slice(j + 1, esc.next)}`);
        hi = esc.char;
        hiJs = esc.js;
        j = esc.next;
      } else {
        hi = String.fromCodePoint(pattern.codePointAt(j + 1)!);
        hiJs = escapeClassChar(hi);
        j += 1 + hi.length;
      }
      out += `-${hiJs}`;
      if (ignoreCase) {
        const lo = prevChar;
        const loFlip = lo.toLowerCase() === lo ? lo.toUpperCase() : lo.toLowerCase();
        const hiFlip = hi.toLowerCase() === hi ? hi.toUpperCase() : hi.toLowerCase();
        if (/^[A-Za-z]$/.test(lo) && /^[A-Za-z]$/.test(hi) && loFlip !== lo) extra.push(`${loFlip}-${hiFlip}`);
      }
      prevChar = undefined;
      continue;
    }
    if (c === '\\') {
      const esc = translateEscape(pattern, j, true);
      out += esc.js;
      prevChar = esc.char;
      if (ignoreCase && esc.char !== undefined) extra.push(...caseVariants(esc.char).map(escapeClassChar));
      j = esc.next;
      continue;
    }
    const ch = String.fromCodePoint(pattern.codePointAt(j)!);
    out += escapeClassChar(ch);
    if (ignoreCase) extra.push(...caseVariants(ch).map(escapeClassChar));
    prevChar = ch;
    j += ch.length;
  }
  if (j >= pattern.length) throw new RegexSyntaxError('unterminated character class');
  return { js: out + extra.join('') + ']', next: j + 1 };
}

/** Oniguruma pattern text -> JavaScript pattern text (use with flags "gu"). */
export function translateOnigurumaPattern(pattern: string): string {
  const groups: boolean[] = [false]; // ignore-case state per open group; [0] is the top level
  let out = '';
  let i = 0;
  const ignoreCase = () => groups[groups.length - 1]!;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const esc = translateEscape(pattern, i, false);
      out += ignoreCase() && esc.char !== undefined && caseVariants(esc.char).length > 1
        ? `[${caseVariants(esc.char).map(escapeClassChar).join('')}]`
        : esc.js;
      i = esc.next;
    } else if (c === '[') {
      const cls = translateClass(pattern, i, ignoreCase());
      out += cls.js;
      i = cls.next;
    } else if (c === '(') {
      if (pattern[i + 1] !== '?') {
        groups.push(ignoreCase());
        out += '(';
        i++;
        continue;
      }
      const rest = pattern.slice(i + 2);
      const flags = /^(-?i)([:)])/.exec(rest);
      if (flags) {
        const on = flags[1] === 'i';
        if (flags[2] === ')') groups[groups.length - 1] = on; // (?i) applies to the rest of this group
        else {
          groups.push(on);
          out += '(?:';
        }
        i += 2 + flags[0].length;
      } else if (rest.startsWith('#')) {
        const close = pattern.indexOf(')', i);
        if (close < 0) throw new RegexSyntaxError('unterminated comment group');
        i = close + 1;
      } else if (/^(:|=|!|<=|<!|<[A-Za-z])/.test(rest)) {
        groups.push(ignoreCase());
        out += '(?';
        i += 2;
      } else {
        throw new RegexSyntaxError(`group (?${rest.slice(0, 2)}... is not supported`);
      }
    } else if (c === ')') {
      if (groups.length === 1) throw new RegexSyntaxError('unbalanced )');
      groups.pop();
      out += ')';
      i++;
    } else if (c === '{') {
      const quant = /^\{(\d*)(,?)(\d*)\}/.exec(pattern.slice(i));
      if (quant && (quant[1] !== '' || quant[3] !== '')) {
        out += `{${quant[1] || '0'}${quant[2]}${quant[3]}}`;
        i += quant[0].length;
        // Ruby reads a{2}+ as (a{2})+, which JS cannot spell without re-parsing the atom
        if (pattern[i] === '+') throw new RegexSyntaxError('a quantifier directly after {n,m} is not supported');
      } else {
        out += '\\{';
        i++;
      }
    } else if (c === '*' || c === '+' || c === '?') {
      out += c;
      i++;
      if (pattern[i] === '+') throw new RegexSyntaxError('possessive quantifiers are not supported');
    } else if (c === '}' || c === ']') {
      out += `\\${c}`;
      i++;
    } else if (c === '^') {
      out += '(?<![^\\n])';
      i++;
    } else if (c === '$') {
      out += '(?![^\\n])';
      i++;
    } else if (c === '.') {
      out += '[^\\n]';
      i++;
    } else if (c === '|') {
      out += '|';
      i++;
    } else {
      const ch = String.fromCodePoint(pattern.codePointAt(i)!);
      const variants = ignoreCase() ? caseVariants(ch) : [ch];
      out += variants.length > 1 ? `[${variants.map(escapeClassChar).join('')}]` : literal(ch);
      i += ch.length;
    }
  }
  if (groups.length !== 1) throw new RegexSyntaxError('unbalanced (');
  return out;
}

/** Compiles an Oniguruma pattern; `where` names the file/component for the error message. */
export function compileOniguruma(pattern: string, where: string): RegExp {
  try {
    return new RegExp(translateOnigurumaPattern(pattern), 'gu');
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`${where}: cannot use regex ${JSON.stringify(pattern)}: ${why}`);
  }
}

/** A regex matching `text` literally (Split with a String pattern). */
export function literalRegex(text: string): RegExp {
  return new RegExp(text.replace(/[\\^$.*+?()[\]{}|/]/g, (ch) => `\\${ch}`), 'gu');
}
