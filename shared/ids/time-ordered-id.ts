/**
 * A UUID version 7 (RFC 9562 §5.7): 48 bits of Unix time in milliseconds,
 * then 74 random bits, in the usual 8-4-4-4-12 hex form.
 *
 * For ids that become keys of an append-mostly index, such as audit events
 * (docs/audit.md): ids made in time order land at the index's right edge, so
 * a write of hundreds of rows dirties a few index pages instead of one page
 * per row, which a random (version 4) id does once the index outgrows the
 * cache. Not for anything that must be unguessable or hide when it was made:
 * the first 48 bits are the time.
 */
export function timeOrderedId(nowMs: number = Date.now()): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const ms = Math.max(0, Math.floor(nowMs));
  bytes[0] = Math.floor(ms / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(ms / 2 ** 32) & 0xff;
  // `>>>` reads the low 32 bits, which is what bytes 2–5 hold.
  bytes[2] = (ms >>> 24) & 0xff;
  bytes[3] = (ms >>> 16) & 0xff;
  bytes[4] = (ms >>> 8) & 0xff;
  bytes[5] = ms & 0xff;
  // §4.2 version 7 in the high nibble of byte 6; §4.1 variant 10 in the top bits of byte 8.
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  let hex = "";
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) hex += "-";
    hex += HEX[bytes[i] as number];
  }
  return hex;
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
