// GPT-2's reversible byte <-> unicode table used by byte-level BPE.
// Printable Latin-1 bytes stand for themselves; the other 68 bytes (controls, space, soft hyphen...)
// are shifted to code points 256+ so every byte has a visible, non-whitespace character.

function buildByteToChar(): string[] {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable(b) ? b : 256 + shifted++);
  }
  return table;
}

/** BYTE_TO_CHAR[b] is the character that byte b becomes in byte-level tokens. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

const utf8Encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF as text; invalid or partial sequences become U+FFFD (never throws).
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

export function utf8Text(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** The byte-level spelling of a string: its UTF-8 bytes, each written as its table character. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const b of utf8Bytes(text)) out += BYTE_TO_CHAR[b]!;
  return out;
}

/** Bytes of a byte-level token, or undefined if some character is not in the table. */
export function fromByteLevel(token: string): number[] | undefined {
  const bytes: number[] = [];
  for (const c of token) {
    const b = CHAR_TO_BYTE.get(c);
    if (b === undefined) return undefined;
    bytes.push(b);
  }
  return bytes;
}
