// The kernel's logo (logo-32x32.png, logo-64x64.png next to kernel.json), drawn and PNG-encoded here so
// installing needs neither Python nor image files: "orz" in white on a TypeScript-blue rounded square.

import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG (8-bit RGBA, no interlace) of `rgba` (width * height * 4 bytes, rows top to bottom). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  if (rgba.length !== width * height * 4) throw new Error(`encodePng: expected ${width * height * 4} bytes of RGBA, got ${rgba.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // bit depth 8, colour type RGBA, deflate, no filter method, no interlace
  const raw = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    raw[y * (1 + width * 4)] = 0; // filter: none
    raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (1 + width * 4) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)),
  ]);
}

// Lower-case glyphs on a 5x5 grid ('#' = ink).
const GLYPHS: Record<string, string[]> = {
  o: ['.###.', '#...#', '#...#', '#...#', '.###.'],
  r: ['#.##.', '##..#', '#....', '#....', '#....'],
  z: ['#####', '...#.', '..#..', '.#...', '#####'],
};
const TEXT = 'orz';
const BLUE = [0x31, 0x78, 0xc6];

function inkAt(u: number, v: number): boolean {
  // (u, v) in glyph units; glyphs are 5 wide with 1 unit between them.
  if (v < 0 || v >= 5 || u < 0) return false;
  const index = Math.floor(u / 6);
  const x = Math.floor(u - index * 6);
  const ch = TEXT[index];
  if (ch === undefined || x >= 5) return false;
  return GLYPHS[ch]![Math.floor(v)]![x] === '#';
}

/** RGBA pixels of the logo at `size` x `size`, anti-aliased by 4x4 supersampling. */
export function logoPixels(size: number): Uint8Array {
  const px = new Uint8Array(size * size * 4);
  const radius = size * 0.2;
  const textUnits = TEXT.length * 6 - 1;
  const unit = (size * 0.8) / textUnits;
  const left = (size - textUnits * unit) / 2;
  const top = (size - 5 * unit) / 2;
  const S = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let cover = 0;
      let ink = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const fx = x + (sx + 0.5) / S;
          const fy = y + (sy + 0.5) / S;
          // Rounded square: distance to the inner rectangle must stay within the corner radius.
          const dx = Math.max(radius - fx, 0, fx - (size - radius));
          const dy = Math.max(radius - fy, 0, fy - (size - radius));
          if (dx * dx + dy * dy > radius * radius) continue;
          cover++;
          if (inkAt((fx - left) / unit, (fy - top) / unit)) ink++;
        }
      }
      const a = cover / (S * S);
      const white = cover ? ink / cover : 0;
      const o = (y * size + x) * 4;
      for (let c = 0; c < 3; c++) px[o + c] = Math.round(BLUE[c]! * (1 - white) + 255 * white);
      px[o + 3] = Math.round(a * 255);
    }
  }
  return px;
}

export function logoPng(size: number): Buffer {
  return encodePng(size, size, logoPixels(size));
}
