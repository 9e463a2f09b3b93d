// Jupyter (protocol 5.2+) counts cursor positions in Unicode code points; JavaScript strings and the
// TypeScript language service count UTF-16 code units. Characters outside the Basic Multilingual Plane
// (emoji, many math symbols) are one code point but two code units.

/** UTF-16 offset in `source` of code point index `cp` (clamped to the string's end). */
export function codePointToUtf16(source: string, cp: number): number {
  let offset = 0;
  for (let i = 0; i < cp && offset < source.length; i++) {
    offset += source.codePointAt(offset)! > 0xffff ? 2 : 1;
  }
  return offset;
}

/** Code point index of UTF-16 offset `offset` in `source` (an offset inside a surrogate pair counts the whole character). */
export function utf16ToCodePoint(source: string, offset: number): number {
  let cp = 0;
  for (let i = 0; i < offset && i < source.length; cp++) {
    i += source.codePointAt(i)! > 0xffff ? 2 : 1;
  }
  return cp;
}

/** 1-based line and column (in UTF-16 units, as TypeScript counts) of `offset` in `source`. */
export function lineAndColumn(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = source.indexOf('\n'); i !== -1 && i < offset; i = source.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}
