/**
 * The key a client's address is limited under. Only `cf-connecting-ip` is
 * trusted (Cloudflare's edge sets it; `X-Forwarded-For` is the caller's to
 * write). IPv6 addresses are grouped by their /64: one subscriber usually
 * holds a whole /64, so limiting single addresses would let it rotate
 * through 2^64 of them.
 */
export function clientAddressKey(headers: Headers): string {
  const raw = headers.get("cf-connecting-ip")?.trim();
  if (!raw) return "ip:unknown";
  if (!raw.includes(":")) return `ip:${raw}`;
  // An IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2) is that IPv4 client.
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(raw);
  if (mapped) return `ip:${mapped[1]}`;
  const prefix = ipv6Prefix64(raw);
  return prefix ? `ip6:${prefix}::/64` : "ip:unknown";
}

/** The first four hextets of an IPv6 address, expanded, lower case; undefined if it is not one. */
export function ipv6Prefix64(address: string): string | undefined {
  const text = address.toLowerCase().replace(/%.*$/, "");
  if (!/^[0-9a-f:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const part = (s: string | undefined) => (s ? s.split(":") : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two hextets.
  const width = (groups: string[]) => groups.reduce((n, g) => n + (g.includes(".") ? 2 : 1), 0);
  const missing = 8 - width(head) - width(tail);
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  const first = groups.slice(0, 4);
  if (first.length < 4 || !first.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return first.map((g) => g.replace(/^0+(?=.)/, "")).join(":");
}
