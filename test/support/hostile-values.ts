// The hostile values the sweep sends (test/support/hostile-input.ts builds
// the requests): strings, encodings, credentials and JWSs shaped to break a
// parser, and bodies past every cap.

export const KIB = 1024;
/** Past every body cap of ours (16 KiB to 64 KiB). */
export const OVER_CAP_BYTES = 256 * KIB + 1;
export const DEEP = 10_000;
/** Deep enough to overflow a recursive walk, small enough (about 14 KiB) to pass every body cap. */
export const DEEP_FIELD = 2_000;

/** Percent-encoded values no endpoint may choke on: NUL, a byte that is never UTF-8, a lone surrogate (CESU), a bare `%`. */
export const HOSTILE_ENCODED = ["%00", "%ff", "%ED%A0%80", "%", "%C0%AF"];
/** The same, as the strings a JSON body can carry (a lone surrogate is valid JSON, not valid UTF-16). */
export const HOSTILE_STRINGS = ["a\u0000b", "\ud800", "\udfff\ud800", "x".repeat(8 * KIB)];
export const HOSTILE_VALUES: readonly unknown[] = [1, true, null, [], { $ne: null }];
export const GARBAGE_AUTHORIZATION = [
  "Bearer",
  "Bearer e30.e30.",
  `Bearer ${"a".repeat(20 * KIB)}`,
  "Basic !!!",
  `Basic ${btoa("\u00ff\u00fe:x")}`,
  // RFC 6749 §2.3.1 form-encodes the id and secret inside Basic: escapes that are not UTF-8.
  `Basic ${btoa("%ff:%ED%A0%80")}`,
  `Basic ${"A".repeat(20 * KIB)}`,
  "DPoP",
  "DPoP abc",
];
export const GARBAGE_DPOP = ["e30.e30.e30", "x".repeat(20 * KIB)];

export const b64url = (value: unknown): string =>
  btoa(typeof value === "string" ? value : JSON.stringify(value))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
export const now = Math.floor(Date.now() / 1000);
export const jws = (header: unknown, payload: unknown): string =>
  `${b64url(header)}.${b64url(payload)}.${b64url("sig")}`;
/** A key that is no point on P-256: importing it must be a refusal, not a fault. */
export const OFF_CURVE = { kty: "EC", crv: "P-256", x: b64url("\u0000".repeat(32)), y: b64url("\u0001".repeat(32)) };
export const PROOF_CLAIMS = { htm: "POST", htu: "http://localhost/", iat: now, jti: "sweep" };
/**
 * Compact JWSs shaped to break a parser rather than a signature: headers
 * and payloads that are JSON but not objects, claims of the wrong types, a
 * DPoP proof (RFC 9449 §4.2) whose `jwk` is off the curve, symmetric, of an
 * unknown type, or an array. Tokens go as bearer tokens and field values,
 * proofs in the DPoP header.
 */
export const HOSTILE_TOKENS = [
  jws(null, {}),
  jws([], []),
  jws({ alg: "none" }, { exp: "soon", iat: [], aud: {}, iss: 1, sub: null, act: { act: { act: 1 } } }),
  jws({ alg: "ES256", kid: { $ne: "" }, typ: 1 }, { exp: now + 60, nbf: "x", cnf: [] }),
  jws({ alg: "ES256", crit: ["b64"], b64: false, kid: "k".repeat(4096) }, { exp: now + 60 }),
];
export const HOSTILE_PROOFS = [
  jws(null, PROOF_CLAIMS),
  jws({ alg: "ES256", typ: "dpop+jwt", jwk: OFF_CURVE }, PROOF_CLAIMS),
  jws({ alg: "HS256", typ: "dpop+jwt", jwk: { kty: "oct", k: b64url("secret") } }, PROOF_CLAIMS),
  jws(
    { alg: "RS256", typ: "dpop+jwt", jwk: { kty: "RSA", n: b64url("\u00ff".repeat(1024)), e: "AQAB" } },
    PROOF_CLAIMS,
  ),
  jws({ alg: "ES256", typ: "dpop+jwt", jwk: [] }, { ...PROOF_CLAIMS, iat: "now" }),
];

export const bytes = (...parts: (string | number[])[]): Uint8Array<ArrayBuffer> => {
  const out: number[] = [];
  for (const part of parts) out.push(...(typeof part === "string" ? new TextEncoder().encode(part) : part));
  return new Uint8Array(out);
};

export function streamOf(total: number): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode("a".repeat(16 * KIB));
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(chunk.byteLength, total - sent);
      controller.enqueue(n === chunk.byteLength ? chunk : chunk.slice(0, n));
      sent += n;
    },
  });
}
