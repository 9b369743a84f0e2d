import { env } from "cloudflare:workers";
import { base64url, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";
import { JWT_TYP } from "../../shared/contracts/tokens.ts";
import { tokenConfig } from "../../workers/token/src/config.ts";
import { hostBootstrapAudience, type InviteClaims } from "../../workers/token/src/invites/invite-token.ts";
import { inviteHash } from "../../workers/token/src/invites/possession-proof.ts";
import { keyStore } from "../../workers/token/src/keys/signing-keys.ts";
import { signWithOurKey } from "./fixtures.ts";

export const issuer = tokenConfig(env).issuer;
export const bootstrapEndpoint = hostBootstrapAudience(issuer);
export const issuerKeys = () => keyStore(env, tokenConfig(env));

/** A valid invite claim set, issued now for an hour, to override per case. */
export function inviteClaims(overrides: Partial<InviteClaims> = {}): InviteClaims {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer,
    aud: bootstrapEndpoint,
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 3600,
    org_id: `org-${crypto.randomUUID()}`,
    scope: "documents:read",
    audiences: [`${issuer}/api`],
    labels: { role: "web" },
    ...overrides,
  };
}

/** Signs anything with the issuer's own current key, as an invite unless `typ` says otherwise: for invites that are wrong in one way only. */
export function signWithIssuerKey(payload: JWTPayload, header: { typ?: string } = {}): Promise<string> {
  return signWithOurKey(header.typ ?? JWT_TYP.hostInvite, payload);
}

export type HostAlg = "ES256" | "EdDSA" | "RS256";

export interface TestHostKey {
  alg: HostAlg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function hostKey(alg: HostAlg = "ES256", modulusLength = 2048): Promise<TestHostKey> {
  // jose will not make an RSA key under 2048 bits; WebCrypto will, for the weak-key case.
  const pair =
    alg === "RS256" && modulusLength < 2048
      ? ((await crypto.subtle.generateKey(
          { name: "RSASSA-PKCS1-v1_5", modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
          true,
          ["sign", "verify"],
        )) as CryptoKeyPair)
      : await generateKeyPair(alg, { extractable: true, ...(alg === "RS256" ? { modulusLength } : {}) });
  const { kty, crv, x, y, n, e } = await exportJWK(pair.publicKey);
  const publicJwk = Object.fromEntries(
    Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined),
  ) as JWK;
  return { alg, privateKey: pair.privateKey, publicJwk };
}

export interface ProofOptions {
  claims?: JWTPayload;
  header?: Record<string, unknown>;
  /** Sign with this key instead of the one in the header. */
  signer?: CryptoKey;
  /** Leave a claim out. */
  omit?: string[];
}

/** A proof of possession as the host makes it (cli/host/possession-proof.ts), to break per case. */
export async function possessionProof(key: TestHostKey, invite: string, options: ProofOptions = {}): Promise<string> {
  const claims: JWTPayload = {
    aud: bootstrapEndpoint,
    iat: Math.floor(Date.now() / 1000),
    jti: crypto.randomUUID(),
    ith: await inviteHash(invite),
    ...options.claims,
  };
  for (const name of options.omit ?? []) delete claims[name];
  const header = { alg: key.alg, typ: JWT_TYP.hostBootstrapProof, jwk: key.publicJwk, ...options.header };
  if (key.alg === "RS256" && options.signer === undefined && rsaBits(key.publicJwk) < 2048) {
    return signWithWebCrypto(header, claims, key.privateKey);
  }
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: JWT_TYP.hostBootstrapProof, jwk: key.publicJwk, ...options.header })
    .sign(options.signer ?? key.privateKey);
}

function rsaBits(jwk: JWK): number {
  return jwk.n ? base64url.decode(jwk.n).length * 8 : 0;
}

/** jose refuses RSA under 2048 bits even to sign; WebCrypto signs the weak-key case. */
async function signWithWebCrypto(header: object, claims: JWTPayload, key: CryptoKey): Promise<string> {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}`;
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}
