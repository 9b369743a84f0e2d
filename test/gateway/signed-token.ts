import { env, exports } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { KV_KEY } from "../../shared/contracts/storage-keys.ts";
import { accessTokenClaims } from "../support/runtime/access-token-claims.ts";

/**
 * Tokens for requests through the gateway under test. The key is this test
 * file's own, published in the KV copy of the JWKS exactly where the token
 * Worker puts its keys, so the gateway verifies it like any other. Its `kid`
 * is its own too: the files of a project share one runtime, and a `kid` the
 * gateway has cached with an earlier file's key would not verify this one's.
 */
export interface TestSigner {
  kid: string;
  publicJwk: Record<string, unknown>;
  /** Puts the test key, and only it, in the KV JWKS. */
  publish(): Promise<void>;
  sign(payload: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

export async function testSigner(): Promise<TestSigner> {
  const pair = await generateKeyPair("ES256", { extractable: true });
  const kid = `gateway-test-key-${crypto.randomUUID()}`;
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" };
  return {
    kid,
    publicJwk,
    publish: () => env.KV.put(KV_KEY.jwks, JSON.stringify({ keys: [publicJwk] })),
    sign: (payload, header = {}) =>
      new SignJWT(payload).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid, ...header }).sign(pair.privateKey),
  };
}

/** A member of org-1 with documents:read, valid now, for the gateway's own issuer and audience. */
export function memberClaims(overrides: Record<string, unknown> = {}) {
  return accessTokenClaims(env.ISSUER, env.API_AUDIENCE, { roles: ["member"], sid: "session-1", ...overrides });
}

/** One request to the gateway Worker under test. */
export function gatewayFetch(url: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(url, init));
}
