// A software authenticator for in-runtime tests: an ES256 credential whose
// public key is stored as Better Auth's passkey plugin stores one, and
// WebAuthn assertions (Web Authentication Level 3 §6.1, §6.3.3) signed with
// it for a given challenge. The browser tests use Chromium's own virtual
// authenticator instead (test/browser/passkey.test.ts).
import { env } from "cloudflare:workers";
import { ORIGIN } from "./helpers.ts";

function b64url(bytes: Uint8Array): string {
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

export interface SoftCredential {
  passkeyId: string;
  credentialId: string;
  privateKey: CryptoKey;
}

/** Creates a credential for the user and stores it as a registered passkey (what verify-registration would store). */
export async function registerSoftPasskey(userId: string, name = "Soft key"): Promise<SoftCredential> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const publicKey = coseKey(fromB64url(jwk.x ?? ""), fromB64url(jwk.y ?? ""));
  const credentialId = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const passkeyId = crypto.randomUUID();
  await env.DB.prepare(
    `INSERT INTO passkey (id, name, public_key, user_id, credential_id, counter, device_type, backed_up, transports, created_at)
     VALUES (?, ?, ?, ?, ?, 0, 'singleDevice', 0, 'internal', ?)`,
  )
    .bind(passkeyId, name, btoa(String.fromCharCode(...publicKey)), userId, credentialId, Date.now())
    .run();
  return { passkeyId, credentialId, privateKey: pair.privateKey };
}

/**
 * The AuthenticationResponseJSON an authenticator returns for `challenge`
 * (base64url) on this origin; `userVerified` sets the UV flag (§6.1 bit 2).
 */
export async function assertion(credential: SoftCredential, challenge: string, userVerified: boolean, counter = 1) {
  const clientData = new TextEncoder().encode(JSON.stringify({ type: "webauthn.get", challenge, origin: ORIGIN }));
  const rpIdHash = await sha256(new TextEncoder().encode(new URL(ORIGIN).hostname));
  const flags = 0x01 | (userVerified ? 0x04 : 0);
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, counter);
  const authenticatorData = concat(rpIdHash, new Uint8Array([flags]), count);
  const signed = concat(authenticatorData, await sha256(clientData));
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, credential.privateKey, signed),
  );
  return {
    id: credential.credentialId,
    rawId: credential.credentialId,
    type: "public-key",
    clientExtensionResults: {},
    response: {
      clientDataJSON: b64url(clientData),
      authenticatorData: b64url(authenticatorData),
      signature: b64url(derSignature(raw)),
    },
  };
}
