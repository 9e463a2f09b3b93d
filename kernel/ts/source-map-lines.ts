// Line-level reading of a source map (version 3, one source): for every generated line, the original line
// of its first mapped segment. That is all a traceback needs, so no general source-map library is pulled in.

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

/** The VLQ-encoded numbers of one mapping segment. */
function decodeSegment(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of segment) {
    const digit = DIGIT.get(c);
    if (digit === undefined) throw new Error(`Invalid base64 character '${c}' in source map mappings`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** Element i = 1-based original line of generated line i + 1, or null when that line has no mapping. */
export function generatedToOriginalLines(mappings: string): (number | null)[] {
  const lines: (number | null)[] = [];
  let originalLine = 0; // cumulative across the whole map, as the format specifies
  for (const line of mappings.split(';')) {
    let first: number | null = null;
    for (const segment of line.split(',')) {
      if (segment === '') continue;
      const fields = decodeSegment(segment);
      if (fields.length < 4) continue;
      originalLine += fields[2]!;
      if (first === null) first = originalLine + 1;
    }
    lines.push(first);
  }
  return lines;
}
