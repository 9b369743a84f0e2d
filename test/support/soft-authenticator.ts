// A software WebAuthn authenticator (Web Authentication Level 3 §6.1,
// §6.3.3): an ES256 credential, its public key as the COSE_Key Better Auth's
// passkey plugin stores (base64), and assertions signed with it for a
// challenge and an origin. WebCrypto only, so it runs in workerd (the
// in-runtime tests, test/authn/webauthn-assertion.ts) and in Node (a bench
// or a system test). The browser tests use Chromium's virtual authenticator.

export function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** RFC 9053 §7.1.1 / RFC 8949: the COSE_Key of an EC2 P-256 ES256 public key, CBOR-encoded. */
function coseKey(x: Uint8Array, y: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat(
    new Uint8Array([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]),
    x,
    new Uint8Array([0x22, 0x58, 0x20]),
    y,
  );
}

/** A raw r||s ECDSA signature as the ASN.1 DER SEQUENCE WebAuthn carries (§6.5.5). */
function derSignature(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.slice(start);
    const body = (trimmed[0] ?? 0) & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed;
    return concat(new Uint8Array([0x02, body.length]), body);
  };
  const r = integer(raw.slice(0, 32));
  const s = integer(raw.slice(32));
  return concat(new Uint8Array([0x30, r.length + s.length]), r, s);
}

export interface SoftKey {
  /** base64url, as the passkey row's `credential_id` holds it. */
  credentialId: string;
  /** The COSE_Key, base64, as the passkey row's `public_key` holds it. */
  publicKey: string;
  privateKey: CryptoKey;
}

export async function createSoftKey(): Promise<SoftKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const cose = coseKey(fromB64url(jwk.x ?? ""), fromB64url(jwk.y ?? ""));
  return {
    credentialId: b64url(crypto.getRandomValues(new Uint8Array(16))),
    publicKey: btoa(String.fromCharCode(...cose)),
    privateKey: pair.privateKey,
  };
}

/**
 * The AuthenticationResponseJSON an authenticator returns for `challenge`
 * (base64url) on `origin`; `userVerified` sets the UV flag (§6.1 bit 2);
 * `counter` must grow from one sign-in to the next (§6.1.1).
 */
export async function softAssertion(
  key: Pick<SoftKey, "credentialId" | "privateKey">,
  origin: string,
  challenge: string,
  userVerified: boolean,
  counter = 1,
) {
  const clientData = new TextEncoder().encode(JSON.stringify({ type: "webauthn.get", challenge, origin }));
  const rpIdHash = await sha256(new TextEncoder().encode(new URL(origin).hostname));
  const flags = 0x01 | (userVerified ? 0x04 : 0);
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, counter);
  const authenticatorData = concat(rpIdHash, new Uint8Array([flags]), count);
  const signed = concat(authenticatorData, await sha256(clientData));
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, signed));
  return {
    id: key.credentialId,
    rawId: key.credentialId,
    type: "public-key",
    clientExtensionResults: {},
    response: {
      clientDataJSON: b64url(clientData),
      authenticatorData: b64url(authenticatorData),
      signature: b64url(derSignature(raw)),
    },
  };
}
