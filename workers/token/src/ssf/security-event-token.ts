import { base64url, SignJWT } from "jose";
import { SET_TYP } from "../../../../shared/contracts/ssf.ts";
import { SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import { currentSigningKey, type KeyStore } from "../keys/signing-keys.ts";
import type { SecurityEvent } from "./revocation-events.ts";

export interface SignedSet {
  jti: string;
  jwt: string;
}

/**
 * Signs one Security Event Token (RFC 8417) for one stream with the issuer's
 * current signing key, so a receiver verifies it against our JWKS like any
 * token of ours. RFC 8417 §2.3: `typ` is `secevent+jwt`, so a SET can never
 * be mistaken for an access or ID token (RFC 8725 §3.11). Claims: `iss`,
 * `aud` (the stream's), `iat`, a fresh `jti` (§2.2: unique per SET, what
 * poll acknowledgements name), SSF 1.0 §4's top-level `sub_id`, `txn`, and
 * `events` with exactly one event (SSF 1.0 §4.1.8). No `exp` and no `sub`
 * (§2.2, SSF 1.0 §4.1.9): a SET is a statement of fact, not a credential.
 */
export async function signSecurityEvent(
  keys: KeyStore,
  issuer: string,
  audience: readonly string[],
  event: SecurityEvent,
  now: number = Math.floor(Date.now() / 1000),
): Promise<SignedSet> {
  const jti = base64url.encode(crypto.getRandomValues(new Uint8Array(16)));
  const key = await currentSigningKey(keys);
  const jwt = await new SignJWT({
    sub_id: event.subId,
    ...(event.txn ? { txn: event.txn } : {}),
    events: { [event.type]: event.body },
  })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: SET_TYP, kid: key.kid })
    .setIssuer(issuer)
    .setAudience(audience.length === 1 ? (audience[0] as string) : [...audience])
    .setIssuedAt(now)
    .setJti(jti)
    .sign(key.privateKey);
  return { jti, jwt };
}
