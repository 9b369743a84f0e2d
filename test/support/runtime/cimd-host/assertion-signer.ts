import { importJWK, SignJWT } from "jose";

/** The document client of the host's `/clients/private-key-jwt` (index.ts serves its public key). */
export const ASSERTING_CLIENT = "https://client.example.test/clients/private-key-jwt";

/** The private half of that client's key: a test key, nothing else. */
const ASSERTION_KEY = {
  kty: "EC",
  crv: "P-256",
  x: "k5f2JaWJQVqUCGVdtbKF-IeAVW30XzGqOhOG2GlSFZo",
  y: "8Cg3uIE567myZQ15VQHZgizy9lbuVrYNDJJzx9TFggA",
  d: "9qLnVlMgIHVPMrloyLdVJ09dCqelNCcqYP5ylBCS0KQ",
};

/**
 * What a test may make wrong in an assertion: its expiry (a jose time span
 * or epoch seconds; null for none), its `jti`, its signing key.
 */
export interface AssertionOptions {
  expiresAt?: string | number | null;
  jti?: string;
  key?: Parameters<SignJWT["sign"]>[0];
}

/**
 * That client's `private_key_jwt` assertion (RFC 7523 §3): iss = sub = the
 * client, aud = `audience`, a fresh jti; signed with its key unless the
 * test forges one with another.
 */
export async function clientAssertion(audience: string, options: AssertionOptions = {}): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "cimd-test-assertion" })
    .setIssuer(ASSERTING_CLIENT)
    .setSubject(ASSERTING_CLIENT)
    .setAudience(audience)
    .setJti(options.jti ?? crypto.randomUUID())
    .setIssuedAt();
  if (options.expiresAt !== null) jwt.setExpirationTime(options.expiresAt ?? "60s");
  return jwt.sign(options.key ?? (await importJWK(ASSERTION_KEY, "ES256")));
}
