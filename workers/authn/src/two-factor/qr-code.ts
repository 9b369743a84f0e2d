/**
 * A QR code (ISO/IEC 18004:2015) of a short text, as SVG: byte mode, error
 * correction level M, versions 1–15 (up to 412 bytes, far more than an
 * otpauth URI needs), the mask chosen by the standard's penalty rules. Small
 * enough to keep the authn Worker free of a QR dependency; the TOTP setup
 * page shows it inline (an <svg> element, so the pages' CSP needs no `data:`
 * images).
 */

/** ISO/IEC 18004 Table 9, level M: error-correction codewords per block, and the data codewords of each block. */
const BLOCKS_M: readonly (readonly [number, readonly number[]])[] = [
  [10, [16]],
  [16, [28]],
  [26, [44]],
  [18, [32, 32]],
  [24, [43, 43]],
  [16, [27, 27, 27, 27]],
  [18, [31, 31, 31, 31]],
  [22, [38, 38, 39, 39]],
  [22, [36, 36, 36, 37, 37]],
  [26, [43, 43, 43, 43, 44]],
  [30, [50, 51, 51, 51, 51]],
  [22, [36, 36, 36, 36, 36, 36, 37, 37]],
  [22, [37, 37, 37, 37, 37, 37, 37, 37, 38]],
  [24, [40, 40, 40, 40, 41, 41, 41, 41, 41]],
  [24, [41, 41, 41, 41, 41, 42, 42, 42, 42, 42]],
];

/** Annex E: the centres of the alignment patterns, per version. */
const ALIGNMENT: readonly (readonly number[])[] = [
  [],
  [6, 18],
  [6, 22],
  [6, 26],
  [6, 30],
  [6, 34],
  [6, 22, 38],
  [6, 24, 42],
  [6, 26, 46],
  [6, 28, 50],
  [6, 30, 54],
  [6, 32, 58],
  [6, 34, 62],
  [6, 26, 46, 66],
  [6, 26, 48, 70],
];

// GF(2^8) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d).
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x = (x << 1) ^ (x & 0x80 ? 0x11d : 0);
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255] ?? 0;
}
const mul = (a: number, b: number) => (a === 0 || b === 0 ? 0 : (EXP[(LOG[a] ?? 0) + (LOG[b] ?? 0)] ?? 0));

/** §7.5.2: the Reed–Solomon remainder of `data` for `count` error-correction codewords. */
function reedSolomon(data: readonly number[], count: number): number[] {
  let generator = [1];
  for (let i = 0; i < count; i++) {
    const next = new Array<number>(generator.length + 1).fill(0);
    for (let j = 0; j < generator.length; j++) {
      next[j] = (next[j] ?? 0) ^ (generator[j] ?? 0);
      next[j + 1] = (next[j + 1] ?? 0) ^ mul(generator[j] ?? 0, EXP[i] ?? 0);
    }
    generator = next;
  }
  const remainder = new Array<number>(count).fill(0);
  for (const byte of data) {
    const factor = byte ^ (remainder.shift() ?? 0);
    remainder.push(0);
    for (let j = 0; j < count; j++) remainder[j] = (remainder[j] ?? 0) ^ mul(generator[j + 1] ?? 0, factor);
  }
  return remainder;
}

/** §7.4: mode indicator, character count, the bytes, terminator and padding; then the blocks interleaved with their ECC. */
function codewords(bytes: Uint8Array, version: number): number[] {
  const [ecPerBlock, blocks] = BLOCKS_M[version - 1] ?? [0, []];
  const capacity = blocks.reduce((n, b) => n + b, 0);
  const bits: number[] = [];
  const put = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(0b0100, 4);
  put(bytes.length, version < 10 ? 8 : 16);
  for (const byte of bytes) put(byte, 8);
  put(0, Math.min(4, capacity * 8 - bits.length));
  while (bits.length % 8) bits.push(0);
  const data: number[] = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((n, b) => (n << 1) | b, 0));
  for (let pad = 0xec; data.length < capacity; pad ^= 0xec ^ 0x11) data.push(pad);

  const split: number[][] = [];
  let at = 0;
  for (const size of blocks) {
    split.push(data.slice(at, at + size));
    at += size;
  }
  const ecc = split.map((block) => reedSolomon(block, ecPerBlock));
  const out: number[] = [];
  for (let i = 0; i < Math.max(...blocks); i++)
    for (const block of split) if (i < block.length) out.push(block[i] ?? 0);
  for (let i = 0; i < ecPerBlock; i++) for (const block of ecc) out.push(block[i] ?? 0);
  return out;
}

type Grid = boolean[][];

const MASKS: readonly ((x: number, y: number) => boolean)[] = [
  (x, y) => (x + y) % 2 === 0,
  (_x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

/** §7.8.3: the penalty of a masked symbol; the lowest wins. */
function penalty(grid: Grid): number {
  const size = grid.length;
  let score = 0;
  const lines: boolean[][] = [];
  for (let i = 0; i < size; i++) {
    lines.push(grid[i] ?? []);
    lines.push(grid.map((row) => row[i] ?? false));
  }
  const finderLike = /10111010000|00001011101/g;
  for (const line of lines) {
    let run = 1;
    for (let i = 1; i <= line.length; i++) {
      if (i < line.length && line[i] === line[i - 1]) run++;
      else {
        if (run >= 5) score += run - 2;
        run = 1;
      }
    }
    score +=
      40 *
      (line
        .map((m) => (m ? "1" : "0"))
        .join("")
        .match(finderLike)?.length ?? 0);
  }
  let dark = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const m = grid[y]?.[x];
      if (m) dark++;
      if (
        x + 1 < size &&
        y + 1 < size &&
        m === grid[y]?.[x + 1] &&
        m === grid[y + 1]?.[x] &&
        m === grid[y + 1]?.[x + 1]
      ) {
        score += 3;
      }
    }
  }
  return score + 10 * Math.floor(Math.abs((dark * 100) / (size * size) - 50) / 5);
}

/** The symbol's modules (true = dark), without the quiet zone. */
export function qrModules(text: string): Grid {
  const bytes = new TextEncoder().encode(text);
  const version =
    BLOCKS_M.findIndex(([, blocks], i) => {
      const capacityBits = blocks.reduce((n, b) => n + b, 0) * 8;
      return 4 + (i + 1 < 10 ? 8 : 16) + bytes.length * 8 <= capacityBits;
    }) + 1;
  if (version === 0) throw new Error("text too long for a QR code of version 15");
  const size = version * 4 + 17;
  const modules: Grid = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const fixed: Grid = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const set = (x: number, y: number, dark: boolean) => {
    const row = modules[y];
    const frow = fixed[y];
    if (!row || !frow || x < 0 || x >= size) return;
    row[x] = dark;
    frow[x] = true;
  };

  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [
    [3, 3],
    [size - 4, 3],
    [3, size - 4],
  ] as const) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const dist = Math.max(Math.abs(dx), Math.abs(dy));
        if (cy + dy >= 0 && cy + dy < size) set(cx + dx, cy + dy, dist !== 2 && dist !== 4);
      }
    }
  }
  const centres = ALIGNMENT[version - 1] ?? [];
  const last = centres.length - 1;
  centres.forEach((cy, i) => {
    centres.forEach((cx, j) => {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }
    });
  });
  // Format and version areas are reserved now and written once the mask is known.
  const drawFormat = (mask: number) => {
    const data = mask; // level M: error-correction bits 00
    let rem = data;
    for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    const bits = ((data << 10) | rem) ^ 0x5412;
    const bit = (i: number) => ((bits >>> i) & 1) === 1;
    for (let i = 0; i <= 5; i++) set(8, i, bit(i));
    set(8, 7, bit(6));
    set(8, 8, bit(7));
    set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i));
    set(8, size - 8, true);
  };
  drawFormat(0);
  if (version >= 7) {
    let rem = version;
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    const bits = (version << 12) | rem;
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      set(a, b, dark);
      set(b, a, dark);
    }
  }

  const data = codewords(bytes, version);
  let bitIndex = 0;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const y = ((right + 1) & 2) === 0 ? size - 1 - vert : vert;
        const row = modules[y];
        if (!row || fixed[y]?.[x]) continue;
        if (bitIndex < data.length * 8) {
          row[x] = (((data[bitIndex >>> 3] ?? 0) >>> (7 - (bitIndex & 7))) & 1) === 1;
          bitIndex++;
        }
      }
    }
  }

  let best: Grid = modules;
  let bestScore = Number.POSITIVE_INFINITY;
  MASKS.forEach((mask, index) => {
    const masked = modules.map((row, y) => row.map((dark, x) => (fixed[y]?.[x] ? dark : dark !== mask(x, y))));
    const keep = [...modules];
    // drawFormat writes into `modules`; point it at the candidate for this mask.
    for (let y = 0; y < size; y++) modules[y] = masked[y] ?? [];
    drawFormat(index);
    const candidate = modules.map((row) => [...row]);
    for (let y = 0; y < size; y++) modules[y] = keep[y] ?? [];
    const score = penalty(candidate);
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  });
  return best;
}

/** The QR code of `text` as an SVG document: black modules on white, a four-module quiet zone, scalable. */
export function qrSvg(text: string, label: string): string {
  const grid = qrModules(text);
  const size = grid.length + 8;
  let path = "";
  grid.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) path += `M${x + 4} ${y + 4}h1v1h-1z`;
    });
  });
  const title = label.replace(/[<>&"']/g, "");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" width="${size * 4}" height="${size * 4}" shape-rendering="crispEdges" role="img" aria-label="${title}"><rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${path}"/></svg>`;
}
