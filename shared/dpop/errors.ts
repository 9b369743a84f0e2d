/**
 * Why a DPoP proof (RFC 9449) was refused. Each code is stable (tests, audit
 * records and the `error_description` a client sees use it) and names the
 * step of RFC 9449 §4.3's checklist it fails, or the section that asks for it
 * (RFC 7519's, for the JWT claims RFC 9449 does not require but a JWT that
 * carries them must honour).
 */
export type DpopErrorCode =
  | "ERR_DPOP_MISSING"
  | "ERR_DPOP_MULTIPLE"
  | "ERR_DPOP_MALFORMED"
  | "ERR_DPOP_CLAIM_MISSING"
  | "ERR_DPOP_TYP"
  | "ERR_DPOP_ALG"
  | "ERR_DPOP_SIGNATURE"
  | "ERR_DPOP_JWK"
  | "ERR_DPOP_HTM"
  | "ERR_DPOP_HTU"
  | "ERR_DPOP_NONCE"
  | "ERR_DPOP_IAT"
  | "ERR_DPOP_EXP"
  | "ERR_DPOP_NBF"
  | "ERR_DPOP_ATH"
  | "ERR_DPOP_KEY_BINDING"
  | "ERR_DPOP_REPLAY"
  | "ERR_DPOP_SCHEME"
  | "ERR_DPOP_NOT_BOUND";

interface CodeInfo {
  /** The RFC 9449 clause the check comes from (or the other RFC's, named). */
  clause: string;
  /** What a client may be told: enough to fix its proof, nothing more. */
  description: string;
}

const INFO: Record<DpopErrorCode, CodeInfo> = {
  ERR_DPOP_MISSING: { clause: "§5, §7.1", description: "a DPoP proof is required" },
  ERR_DPOP_MULTIPLE: { clause: "§4.3 step 1", description: "more than one DPoP header" },
  ERR_DPOP_MALFORMED: { clause: "§4.3 step 2", description: "the DPoP proof is not a well-formed JWT" },
  ERR_DPOP_CLAIM_MISSING: { clause: "§4.3 step 3", description: "the DPoP proof lacks a required claim" },
  ERR_DPOP_TYP: { clause: "§4.3 step 4", description: "the DPoP proof's typ is not dpop+jwt" },
  ERR_DPOP_ALG: { clause: "§4.3 step 5", description: "the DPoP proof's algorithm is not accepted" },
  ERR_DPOP_SIGNATURE: { clause: "§4.3 step 6", description: "the DPoP proof's signature does not verify" },
  ERR_DPOP_JWK: { clause: "§4.3 steps 6-7", description: "the DPoP proof's jwk is not a usable public key" },
  ERR_DPOP_HTM: { clause: "§4.3 step 8", description: "the DPoP proof's htm does not match the request method" },
  ERR_DPOP_HTU: { clause: "§4.3 step 9", description: "the DPoP proof's htu does not match the request URI" },
  ERR_DPOP_NONCE: { clause: "§4.3 step 10, §8", description: "the DPoP proof must carry the server's current nonce" },
  ERR_DPOP_IAT: { clause: "§4.3 step 11, §11.1", description: "the DPoP proof's iat is outside the accepted window" },
  ERR_DPOP_EXP: { clause: "RFC 7519 §4.1.4", description: "the DPoP proof's exp has passed" },
  ERR_DPOP_NBF: { clause: "RFC 7519 §4.1.5", description: "the DPoP proof's nbf has not come yet" },
  ERR_DPOP_ATH: { clause: "§4.3 step 12", description: "the DPoP proof's ath does not match the access token" },
  ERR_DPOP_KEY_BINDING: { clause: "§4.3 step 12, §7.1", description: "the DPoP proof's key is not the token's key" },
  ERR_DPOP_REPLAY: { clause: "§11.1", description: "the DPoP proof was already used" },
  ERR_DPOP_SCHEME: { clause: "§7.1, §7.2", description: "a DPoP-bound token must be sent with the DPoP scheme" },
  ERR_DPOP_NOT_BOUND: { clause: "§7.1", description: "the token is not DPoP-bound; send it with the Bearer scheme" },
};

/**
 * The RFC 9449 §12.2 error code a refusal is answered with: `use_dpop_nonce`
 * for a missing or stale nonce (§8, §9), `invalid_token` when the token
 * does not go with the proof or the scheme (bound to another key, §7.1's
 * example; bound but sent as Bearer; sent as DPoP but not bound), and
 * `invalid_dpop_proof` for everything about the proof itself.
 */
export type DpopProtocolError = "invalid_dpop_proof" | "use_dpop_nonce" | "invalid_token";

export class DpopProofError extends Error {
  override readonly name = "DpopProofError";
  constructor(
    readonly code: DpopErrorCode,
    /** Internal detail for logs; never sent to the client. */
    readonly detail?: string,
  ) {
    super(INFO[code].description);
  }

  /** The RFC 9449 clause this check implements. */
  get clause(): string {
    return INFO[this.code].clause;
  }

  get protocolError(): DpopProtocolError {
    if (this.code === "ERR_DPOP_NONCE") return "use_dpop_nonce";
    if (this.code === "ERR_DPOP_KEY_BINDING" || this.code === "ERR_DPOP_SCHEME" || this.code === "ERR_DPOP_NOT_BOUND") {
      return "invalid_token";
    }
    return "invalid_dpop_proof";
  }

  /** The text for `error_description`: code first, so it can be matched. */
  get publicDescription(): string {
    return `${this.code}: ${INFO[this.code].description}`;
  }
}
