import { SignJWT } from "jose";
import {
  type ActorClaim,
  type DerivedFrom,
  ID_JAG_DERIVED_FROM_CLAIM,
  ID_JAG_GRANT_CLIENTS_CLAIM,
  ID_JAG_GRANTS_CLAIM,
  ID_JAG_NOT_AFTER_CLAIM,
  type IdJagClaims,
  JWT_TYP,
  MAX_ID_JAG_LIFETIME_SECONDS,
  SIGNING_ALG,
} from "../../../../shared/contracts/tokens.ts";
import { currentSigningKey, type KeyStore } from "../keys/signing-keys.ts";

export interface IdJagRequest {
  subject: string;
  /** The resource authorization server's issuer identifier. */
  audience: string;
  /** The client that will act for the subject there. */
  clientId: string;
  /** The subject's org, as the draft's `tenant` (§6.1: a multi-tenant issuer names it). */
  orgId: string;
  resource?: string;
  scope: string;
  sessionId?: string;
  act?: ActorClaim;
  /**
   * Seconds since the epoch: the grant never outlives what it was issued
   * from, and for our own issuer neither does what it is redeemed for.
   */
  notAfter: number;
  /** The DPoP key the request proved (the draft's §9.8.1.1: then the grant MUST carry it). */
  confirmation?: { jkt: string };
  /** The delegation grants the exchange rested on: for our own issuer, what a redeemed token rests on. */
  grants?: readonly string[];
  /** The client of each browser grant among `grants`: for our own issuer, the redeemed token's `grant_chain_clients`. */
  grantClients?: Readonly<Record<string, string>>;
  /** The tokens the exchange's subject token was derived from, then it: for our own issuer, the redeemed token's `derived_from`. */
  derivedFrom?: readonly DerivedFrom[];
}

export interface MintedIdJag {
  token: string;
  claims: IdJagClaims;
  expiresIn: number;
}

/**
 * Signs an Identity Assertion JWT Authorization Grant
 * (draft-ietf-oauth-identity-assertion-authz-grant §3): typed
 * `oauth-id-jag+jwt` (RFC 8725 §3.11) so it can never pass as an access
 * token, with our one key and algorithm, living at most
 * MAX_ID_JAG_LIFETIME_SECONDS from `authorizedAtMs`, the moment before the
 * exchange read what allows it.
 */
export async function signIdJag(
  keys: KeyStore,
  issuer: string,
  request: IdJagRequest,
  authorizedAtMs: number,
): Promise<MintedIdJag> {
  // Stamped as an access token is (mint/mint-access-token.ts): a cut-off
  // recorded after what allowed the grant was read also covers the grant,
  // and so its redemption (grants/jwt-bearer.ts asks the org's object).
  const iat = Math.floor(authorizedAtMs / 1000);
  const exp = Math.min(iat + MAX_ID_JAG_LIFETIME_SECONDS, request.notAfter);
  const claims: IdJagClaims = {
    iss: issuer,
    sub: request.subject,
    aud: request.audience,
    client_id: request.clientId,
    jti: crypto.randomUUID(),
    exp,
    iat,
    ...(request.resource ? { resource: request.resource } : {}),
    scope: request.scope,
    tenant: request.orgId,
    ...(request.sessionId ? { sid: request.sessionId } : {}),
    ...(request.act ? { act: request.act } : {}),
    ...(request.confirmation ? { cnf: { jkt: request.confirmation.jkt } } : {}),
    // Our own redemption needs the limit past the grant's five minutes
    // (grants/jwt-bearer.ts); another server has its own lifetimes to set.
    ...(request.audience === issuer ? { [ID_JAG_NOT_AFTER_CLAIM]: request.notAfter } : {}),
    // Likewise the grants (ours alone to read): revoking one cuts off what the grant is redeemed for.
    ...(request.audience === issuer && request.grants?.length ? { [ID_JAG_GRANTS_CLAIM]: [...request.grants] } : {}),
    // …and whose browser grants those are, so a cut-off of the person at one client ends exactly what rests on it there.
    ...(request.audience === issuer && request.grants?.length && request.grantClients
      ? { [ID_JAG_GRANT_CLIENTS_CLAIM]: { ...request.grantClients } }
      : {}),
    // …and the tokens it was derived from (RFC 7009 §2.1): revoking one refuses the grant and its redemption.
    ...(request.audience === issuer && request.derivedFrom?.length
      ? { [ID_JAG_DERIVED_FROM_CLAIM]: request.derivedFrom.map((ancestor) => ({ ...ancestor })) }
      : {}),
  };
  const key = await currentSigningKey(keys);
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: SIGNING_ALG, typ: JWT_TYP.idJag, kid: key.kid })
    .sign(key.privateKey);
  return { token, claims, expiresIn: exp - iat };
}
