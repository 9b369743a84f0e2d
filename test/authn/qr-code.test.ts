// The TOTP setup page's QR code (workers/authn/src/two-factor/qr-code.ts).
// The fixed symbol below was read back by a QR decoder (zbar) when it was
// recorded, as were symbols of every version up to 15; these checks keep the
// encoder from drifting, and check the structure every decoder relies on.
import { describe, expect, it } from "vitest";
import { qrModules, qrSvg } from "../../workers/authn/src/two-factor/qr-code.ts";

const HELLO = [
  "111111101101001111111",
  "100000100110101000001",
  "101110100111101011101",
  "101110101001001011101",
  "101110101000101011101",
  "100000101011001000001",
  "111111101010101111111",
  "000000001111100000000",
  "100010111111011111001",
  "000111001011100101111",
  "101100101011001110010",
  "111001000100011010000",
  "001011100100111000110",
  "000000001110111001011",
  "111111101100110001010",
  "100000100001100100010",
  "101110101001001110101",
  "101110100001100001011",
  "101110100111001111000",
  "100000100100011000000",
  "111111101000111110101",
];

const bits = (grid: boolean[][]) => grid.map((row) => row.map((dark) => (dark ? "1" : "0")).join(""));

/** ISO/IEC 18004 §7.9.1: the 15-bit format information read from around the top-left finder. */
function formatBits(grid: boolean[][]): number {
  const at = (x: number, y: number) => (grid[y]?.[x] ? 1 : 0);
  let value = 0;
  const positions: [number, number][] = [
    [8, 0],
    [8, 1],
    [8, 2],
    [8, 3],
    [8, 4],
    [8, 5],
    [8, 7],
    [8, 8],
    [7, 8],
    [5, 8],
    [4, 8],
    [3, 8],
    [2, 8],
    [1, 8],
    [0, 8],
  ];
  positions.forEach(([x, y], i) => {
    value |= at(x, y) << i;
  });
  return value;
}

describe("QR code", () => {
  it("encodes a fixed text exactly as the decoder-checked symbol", () => {
    expect(bits(qrModules("HELLO"))).toEqual(HELLO);
  });

  it("grows by version with the text and keeps finders, timing and a valid format word", () => {
    for (const length of [10, 60, 150, 213, 300, 411]) {
      const grid = qrModules("x".repeat(length));
      const size = grid.length;
      expect((size - 17) % 4).toBe(0);
      for (const [x, y] of [
        [0, 0],
        [size - 7, 0],
        [0, size - 7],
      ] as const) {
        expect(bits(grid.slice(y, y + 7).map((row) => row.slice(x, x + 7)))).toEqual([
          "1111111",
          "1000001",
          "1011101",
          "1011101",
          "1011101",
          "1000001",
          "1111111",
        ]);
      }
      for (let i = 8; i < size - 8; i++) {
        expect(grid[6]?.[i]).toBe(i % 2 === 0);
        expect(grid[i]?.[6]).toBe(i % 2 === 0);
      }
      // Level M (error-correction bits 00): one of the eight masked words of §7.9.1 Table C.1.
      const word = formatBits(grid) ^ 0x5412;
      expect(word >>> 13).toBe(0);
      let rem = word >>> 10;
      for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
      expect((word >>> 10) * 1024 + (rem & 0x3ff)).toBe(word);
    }
  });

  it("refuses a text longer than version 15 holds", () => {
    expect(() => qrModules("x".repeat(413))).toThrow("text too long");
  });

  it("draws an SVG with a quiet zone and an accessible name, and nothing of the label's markup", () => {
    const text = "otpauth://totp/x?secret=ABC";
    const svg = qrSvg(text, 'key <script>"');
    const side = qrModules(text).length + 8;
    expect(svg.startsWith(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${side} ${side}"`)).toBe(true);
    expect(svg).toContain('aria-label="key script"');
    expect(svg).not.toContain("<script");
  });
});
