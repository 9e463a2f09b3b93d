// A JSON syntax scanner for data files: where each element of a top-level array starts, and where the
// first syntax error is, as a record index and line:column. JSON.parse says neither in a stable form
// (its messages differ by Node version, and some only quote the text around the error).

/** Where a JSON text breaks: a 0-based offset, its 1-based line and column, and what was expected. */
export interface JsonSyntaxProblem {
  offset: number;
  line: number;
  column: number;
  reason: string;
  /** The top-level array element the error falls in, or comes right after (undefined: outside any element). */
  element?: number;
  /** The error comes after element `element` ended, where a ',' or ']' was due. */
  betweenElements?: boolean;
}

export interface JsonScan {
  /** Offsets where each top-level array element starts (empty when the text is not an array). */
  elementStarts: number[];
  problem?: JsonSyntaxProblem;
}

/** 1-based line and column of `offset` (columns count UTF-16 units, as editors that say "column" mostly do). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1, lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

class Stop {
  constructor(readonly offset: number, readonly reason: string) {}
}

const WS = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

class Scanner {
  pos = 0;
  readonly elementStarts: number[] = [];
  /** While inside the top-level array: the element being read, and whether it has been read in full. */
  element: number | undefined;
  elementDone = false;

  constructor(readonly text: string) {}

  fail(reason: string, at = this.pos): never {
    throw new Stop(at, reason);
  }

  found(): string {
    return this.pos >= this.text.length ? 'the end of the text' : JSON.stringify(this.text[this.pos]);
  }

  skipWs(): void {
    while (this.pos < this.text.length && WS.has(this.text[this.pos]!)) this.pos++;
  }

  value(depth: number): void {
    this.skipWs();
    const c = this.text[this.pos];
    if (c === '{') this.object(depth);
    else if (c === '[') this.array(depth);
    else if (c === '"') this.string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number();
    else if (c === 't' || c === 'f' || c === 'n') this.literal();
    else this.fail(`expected a value, found ${this.found()}`);
  }

  object(depth: number): void {
    this.pos++;
    this.skipWs();
    if (this.text[this.pos] === '}') { this.pos++; return; }
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] !== '"') this.fail(`expected a property name in double quotes, found ${this.found()}`);
      this.string();
      this.skipWs();
      if (this.text[this.pos] !== ':') this.fail(`expected ':' after the property name, found ${this.found()}`);
      this.pos++;
      this.value(depth + 1);
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ',') { this.pos++; continue; }
      if (c === '}') { this.pos++; return; }
      this.fail(`expected ',' or '}' in an object, found ${this.found()}`);
    }
  }

  array(depth: number): void {
    this.pos++;
    this.skipWs();
    const top = depth === 0;
    if (this.text[this.pos] === ']') { this.pos++; return; }
    for (let first = true; ; first = false) {
      this.skipWs();
      // attributed to the element before the comma (still this.element)
      if (!first && this.text[this.pos] === ']') this.fail(`expected a value after ',', found "]" (a trailing comma)`);
      if (top) {
        this.element = this.elementStarts.length;
        this.elementStarts.push(this.pos);
        this.elementDone = false;
      }
      this.value(depth + 1);
      if (top) this.elementDone = true;
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ',') { this.pos++; continue; }
      if (c === ']') { this.pos++; if (top) this.element = undefined; return; }
      this.fail(`expected ',' or ']' after ${top ? 'the record' : 'an array element'}, found ${this.found()}`);
    }
  }

  string(): void {
    const start = this.pos++;
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string (no closing ")', start);
      const c = this.text[this.pos]!;
      if (c === '"') { this.pos++; return; }
      if (c === '\\') {
        const e = this.text[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) this.fail('bad \\u escape (expected 4 hex digits)');
          this.pos += 6;
        } else if (e !== undefined && ESCAPES.has(e)) {
          this.pos += 2;
        } else {
          this.fail(`bad escape \\${e ?? ''} in a string`);
        }
        continue;
      }
      if (c < ' ') this.fail(`raw control character ${JSON.stringify(c)} in a string (write it escaped)`);
      this.pos++;
    }
  }

  number(): void {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m) this.fail(`bad number starting with ${this.found()}`);
    this.pos += m[0].length;
  }

  literal(): void {
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) { this.pos += word.length; return; }
    }
    this.fail(`expected a value, found ${this.found()}`);
  }
}

/**
 * Scans `text` as JSON: the starts of the top-level array's elements and, if the text is not valid
 * JSON, the first problem, placed in the element it falls in.
 */
export function scanJson(text: string): JsonScan {
  const s = new Scanner(text);
  try {
    s.value(0);
    s.skipWs();
    if (s.pos < text.length) s.fail(`unexpected ${s.found()} after the end of the JSON value`);
    return { elementStarts: s.elementStarts };
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const problem: JsonSyntaxProblem = { offset: e.offset, ...lineColumn(text, e.offset), reason: e.reason };
    if (s.element !== undefined) {
      problem.element = s.element;
      if (s.elementDone) problem.betweenElements = true;
    }
    return { elementStarts: s.elementStarts, problem };
  }
}
