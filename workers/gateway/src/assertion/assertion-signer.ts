import { base64url } from "jose";
import type { ActorClaim } from "../../../../shared/contracts/tokens.ts";
import { JWT_TYP, SIGNING_ALG } from "../../../../shared/contracts/tokens.ts";
import {
  filterHash,
  GATEWAY_ASSERTION_LIFETIME_SECONDS,
  type GatewayAssertionClaims,
  querySha256,
} from "../../../../shared/gateway-assertion/claims.ts";
import { deriveGatewayAssertionKey, type GatewayPublicJwk } from "../../../../shared/gateway-assertion/signing-key.ts";

export interface AssertionInput {
  audience: string;
  sub: string;
  orgId: string;
  act: ActorClaim | undefined;
  clientId: string;
  decisionId: string;
  /** The exact X-ABAC-Filter value sent with the assertion. */
  abacFilter: string;
  method: string;
  path: string;
  /** The `search` of the URL the request is sent to (`""` or `?…`), as the upstream receives it. */
  search: string;
}

const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;
const encoder = new TextEncoder();

const BASE64URL = { alphabet: "base64url", omitPadding: true } as const;
/** The runtime's own base64 (TC39 "Uint8Array to/from base64"), where it has one: workerd does, Node 22 does not. */
type NativeBase64 = Uint8Array & { toBase64?: (options: typeof BASE64URL) => string };

/**
 * RFC 7515 §2 base64url without padding. Natively where the runtime can:
 * jose's encoder (a binary string through `btoa`, then three regex passes)
 * was a few per cent of the gateway's CPU in a workerd profile, for the
 * claims and the signature of every assertion.
 */
function base64urlOf(bytes: Uint8Array): string {
  const native = (bytes as NativeBase64).toBase64;
  return native ? native.call(bytes, BASE64URL) : base64url.encode(bytes);
}

/** How many distinct X-ABAC-Filter values an isolate keeps the hash of (a filter is per org and role, not per request). */
export const FILTER_HASH_ENTRIES = 1_000;

/**
 * Signs the gateway assertion (shared/gateway-assertion/claims.ts) for each
 * request the gateway lets through. The key is derived and imported once per
 * isolate and the protected header encoded once; a request costs one ES256
 * signature (native), one SHA-256 of its query when it has one, and, for a
 * filter value this isolate has not sent before, one SHA-256 of it.
 *
 * The signature itself is made afresh for every request and never reused:
 * each assertion names its own decision (`decision_id`, the id the audit
 * record and the client see) and its own `jti`, so two requests with the
 * same headers still get two different assertions.
 */
export class AssertionSigner {
  /** `abac_filter_sha256` by filter value: the same bytes always hash the same. */
  private readonly filterHashes = new Map<string, string>();

  private constructor(
    private readonly issuer: string,
    private readonly privateKey: CryptoKey,
    private readonly encodedHeader: string,
    readonly publicJwk: GatewayPublicJwk,
  ) {}

  static async create(secret: string, issuer: string): Promise<AssertionSigner> {
    const { privateKey, publicJwk } = await deriveGatewayAssertionKey(secret);
    const header = { alg: SIGNING_ALG, typ: JWT_TYP.gatewayAssertion, kid: publicJwk.kid };
    return new AssertionSigner(issuer, privateKey, base64url.encode(JSON.stringify(header)), publicJwk);
  }

  async sign(input: AssertionInput): Promise<string> {
    const iat = Math.floor(Date.now() / 1000);
    // Awaited only when there is a query to hash: most requests have none.
    const query = querySha256(input.search);
    const claims: GatewayAssertionClaims = {
      iss: this.issuer,
      aud: input.audience,
      sub: input.sub,
      org_id: input.orgId,
      ...(input.act ? { act: input.act } : {}),
      client_id: input.clientId,
      decision_id: input.decisionId,
      abac_filter_sha256: await this.filterHashOf(input.abacFilter),
      method: input.method,
      path: input.path,
      query_sha256: typeof query === "string" ? query : await query,
      iat,
      exp: iat + GATEWAY_ASSERTION_LIFETIME_SECONDS,
      jti: crypto.randomUUID(),
    };
    const signingInput = `${this.encodedHeader}.${base64urlOf(encoder.encode(JSON.stringify(claims)))}`;
    // WebCrypto's ECDSA signature is r || s, which is exactly JWS's (RFC 7518 §3.4).
    const signature = await crypto.subtle.sign(ECDSA_SHA256, this.privateKey, encoder.encode(signingInput));
    return `${signingInput}.${base64urlOf(new Uint8Array(signature))}`;
  }

  private async filterHashOf(abacFilter: string): Promise<string> {
    const known = this.filterHashes.get(abacFilter);
    if (known !== undefined) return known;
    const hash = await filterHash(abacFilter);
    // Bounded: past the limit the oldest value goes first (a miss costs one hash, never a wrong one).
    if (this.filterHashes.size >= FILTER_HASH_ENTRIES) {
      const oldest = this.filterHashes.keys().next();
      if (!oldest.done) this.filterHashes.delete(oldest.value);
    }
    this.filterHashes.set(abacFilter, hash);
    return hash;
  }
}
